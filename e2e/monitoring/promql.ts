/**
 * The metric names a PromQL expression selects, without a PromQL parser: strings, label matchers,
 * ranges, grouping clauses and Grafana variables are blanked out, then every identifier that is not
 * a function call or a keyword is a metric name. Enough for the expressions the chart's dashboard
 * and alerts use; a `{__name__=...}` selector is not understood (they have none).
 */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/#[^\n]*/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(\s*\()?/g)) {
    if (m[2] !== undefined || KEYWORDS.has(m[1]!.toLowerCase())) continue;
    names.add(m[1]!);
  }
  return [...names].sort();
}

/**
 * The PromQL inside a Grafana template variable's query: label_values(EXPR, label) and
 * query_result(EXPR) hold one; label_values(label) and metrics(regex) query none.
 */
export function variableExpr(query: string): string | undefined {
  const q = query.trim();
  const lv = /^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)$/s.exec(q);
  if (lv) return lv[1]!;
  const qr = /^query_result\((.*)\)$/s.exec(q);
  if (qr) return qr[1]!;
  if (/^(label_values|metrics|label_names)\(/.test(q)) return undefined;
  return q;
}
