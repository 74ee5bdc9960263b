/**
 * The chart's monitoring assets as data: the Grafana dashboard (charts/dbproxy-operator/files/
 * dashboards/) and the alert rules (files/prometheus-rules.yaml), each PromQL expression they run,
 * and the metric names those select — split into the operator's (dbproxy_operator_*) and the proxy's.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { metricNames, variableExpr } from './promql.js';

export const CHART = path.resolve(import.meta.dirname, '../../charts/dbproxy-operator');
export const DASHBOARD_FILE = path.join(CHART, 'files/dashboards/dbproxy.json');
export const RULES_FILE = path.join(CHART, 'files/prometheus-rules.yaml');

export interface Query {
  /** Where it is: a panel's title and refId, a variable's name, or an alert's name. */
  where: string;
  expr: string;
}

interface Panel {
  title?: string;
  panels?: Panel[];
  targets?: { refId?: string; expr?: string }[];
}

/** Every PromQL expression of a dashboard: panel targets (rows' nested panels too) and variables. */
export function dashboardQueries(dashboard: unknown): Query[] {
  const d = dashboard as { panels?: Panel[]; templating?: { list?: { name?: string; type?: string; query?: unknown }[] } };
  const out: Query[] = [];
  const walk = (panels: Panel[] | undefined) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}" ${t.refId ?? ''}`.trim(), expr: t.expr });
      walk(p.panels);
    }
  };
  walk(d.panels);
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    const expr = q === undefined ? undefined : variableExpr(q);
    if (expr) out.push({ where: `variable ${v.name}`, expr });
  }
  return out;
}

/** Every expression of a Prometheus rule file (alerts and recording rules). */
export function ruleQueries(rules: unknown): Query[] {
  const groups = (rules as { groups?: { rules?: { alert?: string; record?: string; expr?: unknown }[] }[] }).groups ?? [];
  return groups.flatMap((g) => (g.rules ?? []).map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: String(r.expr ?? '') })));
}

export function loadDashboard(): unknown {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8'));
}

export function loadRules(): unknown {
  return parse(readFileSync(RULES_FILE, 'utf8'));
}

/** The chart's queries, each with the metric names it selects. */
export function chartQueries(): (Query & { names: string[] })[] {
  return [...dashboardQueries(loadDashboard()), ...ruleQueries(loadRules())].map((q) => ({ ...q, names: metricNames(q.expr) }));
}

export const isOperatorMetric = (name: string) => name.startsWith('dbproxy_operator_');
