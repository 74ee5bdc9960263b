/**
 * Validation of a DBProxy beyond what the CRD's schema enforces: the same zod schema (for objects that
 * reached the operator without the apiserver's checks, e.g. an older CRD) plus cross-field rules the
 * structural schema cannot say. The reconciler reports problems as Ready=False, reason InvalidSpec.
 */
import { DBProxySpecSchema, DEFAULT_PG_PORT, type DBProxySpec } from './schema.js';

export type ValidateResult = { ok: true; spec: DBProxySpec } | { ok: false; problems: string[] };

/** Labels the operator sets on the pods and selects them by: overriding them would orphan the pods. */
const RESERVED_LABELS = ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'app.kubernetes.io/managed-by'];

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** "500ms" | "30s" | "5m" | "1h" → milliseconds (the schema's regex guarantees the shape). */
export function durationMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d);
  if (!m) throw new Error(`invalid duration "${d}"`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
}

export function validateSpec(obj: unknown, name?: string): ValidateResult {
  const r = DBProxySpecSchema.safeParse(obj ?? {});
  if (!r.success) return { ok: false, problems: r.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`) };
  const problems = [...nameProblems(name), ...crossFieldProblems(r.data)];
  return problems.length ? { ok: false, problems } : { ok: true, spec: r.data };
}

/** The DBProxy's name becomes a Service name (a DNS-1035 label) and the prefix of `<name>-proxy-config`. */
function nameProblems(name: string | undefined): string[] {
  if (name === undefined) return [];
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 63 - '-proxy'.length) {
    return [`metadata.name: "${name}" must be a DNS-1035 label of at most 57 characters (it names the Service and the <name>-proxy children)`];
  }
  return [];
}

function crossFieldProblems(s: DBProxySpec): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  s.targets.forEach((t, i) => {
    const key = t.host !== undefined ? `host ${t.host}:${t.port ?? DEFAULT_PG_PORT}` : `serviceRef ${t.serviceRef?.name}:${t.serviceRef?.port}`;
    if (seen.has(key)) problems.push(`spec.targets.${i}: duplicate target ${key}`);
    seen.add(key);
  });
  const secrets = s.auth.map((a) => a.secretRef.name);
  secrets.forEach((n, i) => {
    if (secrets.indexOf(n) !== i) problems.push(`spec.auth.${i}: Secret ${n} is listed twice`);
  });
  if (durationMs(s.healthCheck.interval) < 100) problems.push('spec.healthCheck.interval: must be at least 100ms');
  if (durationMs(s.idleClientTimeout) < 1_000) problems.push('spec.idleClientTimeout: must be at least 1s');
  if (durationMs(s.connectionPool.connectionBorrowTimeout) < 1) problems.push('spec.connectionPool.connectionBorrowTimeout: must be more than 0');
  for (const l of Object.keys(s.template?.labels ?? {})) {
    if (RESERVED_LABELS.includes(l)) problems.push(`spec.template.labels.${l}: reserved; the operator selects its pods by it`);
  }
  return problems;
}
