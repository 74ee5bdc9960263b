/**
 * The structure of a Prometheus rule file, checked without promtool (which also runs where it
 * could be built: bin/install-promtool): groups with unique names, each rule an alert or a record
 * with an expression whose brackets balance and that selects a metric, durations Prometheus reads,
 * a known severity, a summary and a description, and no keys Prometheus would refuse.
 */
const RULE_KEYS = new Set(['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);
const GROUP_KEYS = new Set(['name', 'interval', 'limit', 'rules', 'query_offset', 'labels']);
const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;
const SEVERITIES = new Set(['critical', 'warning', 'info']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Brackets outside strings balance, in order. */
export function bracketsBalance(expr: string): boolean {
  const s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  const open: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const c of s) {
    if (c === '(' || c === '[' || c === '{') open.push(c);
    else if (c in pairs && open.pop() !== pairs[c]) return false;
  }
  return open.length === 0;
}

export function ruleFileProblems(doc: unknown, selects: (expr: string) => string[]): string[] {
  const problems: string[] = [];
  if (!isObj(doc) || !Array.isArray(doc['groups']) || doc['groups'].length === 0) return ['no groups'];
  const groupNames = new Set<string>();
  const alertNames = new Set<string>();
  doc['groups'].forEach((g: unknown, gi) => {
    const at = `groups[${gi}]`;
    if (!isObj(g)) return problems.push(`${at}: not a mapping`);
    for (const k of Object.keys(g)) if (!GROUP_KEYS.has(k)) problems.push(`${at}: unknown key ${k}`);
    const name = g['name'];
    if (typeof name !== 'string' || name === '') problems.push(`${at}: no name`);
    else if (groupNames.has(name)) problems.push(`${at}: group name ${name} used twice`);
    else groupNames.add(name);
    if (!Array.isArray(g['rules']) || g['rules'].length === 0) return problems.push(`${at}: no rules`);
    g['rules'].forEach((r: unknown, ri) => problems.push(...ruleProblems(r, `${at}.rules[${ri}]`, alertNames, selects)));
    return undefined;
  });
  return problems;
}

function ruleProblems(r: unknown, at: string, alertNames: Set<string>, selects: (expr: string) => string[]): string[] {
  if (!isObj(r)) return [`${at}: not a mapping`];
  const p: string[] = [];
  for (const k of Object.keys(r)) if (!RULE_KEYS.has(k)) p.push(`${at}: unknown key ${k}`);
  const alert = r['alert'];
  const record = r['record'];
  if ((alert === undefined) === (record === undefined)) p.push(`${at}: needs exactly one of alert and record`);
  if (alert !== undefined) {
    if (typeof alert !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(alert)) p.push(`${at}: alert name ${String(alert)} is not a valid name`);
    else if (alertNames.has(alert)) p.push(`${at}: alert ${alert} defined twice`);
    else alertNames.add(alert);
  }
  if (record !== undefined && (typeof record !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(record)))
    p.push(`${at}: record name ${String(record)} is not a metric name`);
  const expr = r['expr'];
  if (typeof expr !== 'string' || expr.trim() === '') p.push(`${at}: no expr`);
  else if (!bracketsBalance(expr)) p.push(`${at}: unbalanced brackets in expr`);
  else if (selects(expr).length === 0) p.push(`${at}: expr selects no metric`);
  for (const k of ['for', 'keep_firing_for']) {
    if (r[k] !== undefined && (typeof r[k] !== 'string' || !DURATION.test(r[k]))) p.push(`${at}: ${k} ${String(r[k])} is not a duration`);
  }
  if (alert !== undefined) {
    const labels = isObj(r['labels']) ? r['labels'] : {};
    if (!SEVERITIES.has(String(labels['severity']))) p.push(`${at}: severity must be one of ${[...SEVERITIES].join(', ')}`);
    const annotations = isObj(r['annotations']) ? r['annotations'] : {};
    for (const k of ['summary', 'description']) if (typeof annotations[k] !== 'string' || annotations[k] === '') p.push(`${at}: no ${k} annotation`);
  } else if (r['for'] !== undefined || r['annotations'] !== undefined) {
    p.push(`${at}: a recording rule has no for or annotations`);
  }
  return p;
}
