/**
 * The chart's dashboard and alerts: the rule file's structure (always), `promtool check rules` on it
 * and on what `helm template` renders (where those tools are built), and that every metric the
 * operator's share of them queries is in the operator's registry. The proxy's share is checked
 * against a real proxy in assets.int.test.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { OperatorMetrics } from '../../operator/src/metrics.js';
import { exposes, parseExposition } from '../../proxy/src/testing/exposition.js';
import { CHART, RULES_FILE, chartQueries, dashboardQueries, isOperatorMetric, loadDashboard, loadRules } from './assets.js';
import { metricNames } from './promql.js';
import { ruleFileProblems } from './rules.js';
import { HELM, PROMTOOL, runTool } from './tools.js';

const ALERTS_ASKED_FOR = [
  'DBProxyNoWriter',
  'DBProxyTargetUnavailable',
  'DBProxyBorrowTimeouts',
  'DBProxyPinnedConnectionsHigh',
  'DBProxyPoolSaturated',
  'DBProxyOperatorReconcileErrors',
];

describe('the alert rules (files/prometheus-rules.yaml)', () => {
  it('are a well-formed Prometheus rule file', () => {
    expect(ruleFileProblems(loadRules(), metricNames)).toEqual([]);
  });

  it('cover no writer, unavailable targets, borrow timeouts, pins, saturated pools and operator errors', () => {
    const names = (loadRules() as { groups: { rules: { alert?: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(names).toEqual(expect.arrayContaining(ALERTS_ASKED_FOR));
  });

  it.skipIf(!PROMTOOL)(`pass promtool check rules${PROMTOOL ? '' : ' (skipped: no promtool; bin/install-promtool builds it)'}`, () => {
    expect(runTool(PROMTOOL!, ['check', 'rules', RULES_FILE])).toMatch(/SUCCESS: \d+ rules found/);
  });
});

describe('the dashboard (files/dashboards/dbproxy.json)', () => {
  it('queries only through its data source variable, and every query selects DBProxy metrics', () => {
    const d = loadDashboard() as { uid: string; panels: { datasource?: { uid: string }; type: string }[] };
    expect(d.uid).toBe('dbproxy-overview');
    for (const p of d.panels.filter((p) => p.type !== 'row')) expect(p.datasource?.uid).toBe('${datasource}');
    expect(dashboardQueries(d).length).toBeGreaterThan(20);
  });
});

describe('every metric the dashboard and the alerts query', () => {
  const queries = chartQueries();

  it('is a DBProxy metric, and each query selects one', () => {
    for (const q of queries) {
      expect(q.names, q.where).not.toEqual([]);
      for (const n of q.names) expect(n, `${q.where}: ${q.expr}`).toMatch(/^dbproxy_/);
    }
  });

  it("exists in the operator's /metrics (its registry) where it is the operator's", async () => {
    const exposition = parseExposition(await new OperatorMetrics().registry.metrics());
    const wanted = [...new Set(queries.flatMap((q) => q.names).filter(isOperatorMetric))];
    expect(wanted.length).toBeGreaterThan(0);
    expect(wanted.filter((n) => !exposes(exposition, n))).toEqual([]);
  });
});

describe.skipIf(!HELM)(`the chart renders them${HELM ? '' : ' (skipped: no helm; make kube-binaries builds it)'}`, () => {
  const render = (...sets: string[]) =>
    parseAllDocuments(runTool(HELM!, ['template', 'x', CHART, '--kube-version', '1.36.3', ...sets.flatMap((s) => ['--set', s])]))
      .map(
        (d) =>
          d.toJS() as {
            kind: string;
            metadata: { name: string; namespace: string; labels: Record<string, string> };
            data?: Record<string, string>;
            spec?: unknown;
          } | null,
      )
      .filter((d) => d !== null);

  it('as a dashboard ConfigMap with the sidecar label and a PrometheusRule, only when asked', () => {
    expect(render().filter((d) => d.kind === 'PrometheusRule' || d.metadata.name.endsWith('-dashboard'))).toEqual([]);
    const docs = render(
      'grafanaDashboard.enabled=true',
      'prometheusRule.enabled=true',
      'prometheusRule.labels.release=kps',
      'grafanaDashboard.namespace=monitoring',
    );
    const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.labels['grafana_dashboard'] === '1');
    expect(cm?.metadata.namespace).toBe('monitoring');
    expect(JSON.parse(cm!.data!['dbproxy.json']!)).toEqual(loadDashboard());
    const rule = docs.find((d) => d.kind === 'PrometheusRule');
    expect(rule?.metadata.labels['release']).toBe('kps');
    expect(rule?.spec).toEqual(loadRules());
  });

  it.skipIf(!PROMTOOL)(`with a rendered rule that passes promtool check rules${PROMTOOL ? '' : ' (skipped: no promtool)'}`, () => {
    const rule = render('prometheusRule.enabled=true').find((d) => d.kind === 'PrometheusRule')!;
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'dbproxy-rules-')), 'rules.yaml');
    writeFileSync(file, stringify(rule.spec));
    expect(runTool(PROMTOOL!, ['check', 'rules', file])).toMatch(/SUCCESS: \d+ rules found/);
  });
});
