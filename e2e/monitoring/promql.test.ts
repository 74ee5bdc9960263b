import { describe, expect, it } from 'vitest';
import { metricNames, variableExpr } from './promql.js';

describe('metricNames', () => {
  it.each([
    ['up', ['up']],
    ['dbproxy_client_connections{namespace=~"$namespace", dbproxy=~"$dbproxy"}', ['dbproxy_client_connections']],
    ['sum by (database, user) (rate(dbproxy_borrow_timeouts_total[5m]))', ['dbproxy_borrow_timeouts_total']],
    ['sum(rate(a_total[$__rate_interval])) by (le)', ['a_total']],
    ['histogram_quantile(0.99, sum by (le) (rate(x_seconds_bucket{a="b"}[5m])))', ['x_seconds_bucket']],
    ['min by (namespace, dbproxy) (dbproxy_target_available{role="writer"}) == 0', ['dbproxy_target_available']],
    ['(sum without (state) (a) >= b) and on (namespace, pod) (c > 0)', ['a', 'b', 'c']],
    ['a / on (x) group_left (y, z) b', ['a', 'b']],
    ['a / on (x) group_left b unless c', ['a', 'b', 'c']],
    ['a > bool 1e3 or b offset 5m', ['a', 'b']],
    ['label_replace(m, "dst", "$1", "src", "(.*)")', ['m']],
    ['count_values("version", build_info)', ['build_info']],
    ['rate(a_total[5m:30s])', ['a_total']],
    ['ns:metric:rate5m > 0.5', ['ns:metric:rate5m']],
    ['a{msg="has } brace and, by (x) words"} + ${var} + b', ['a', 'b']],
    ['# a comment naming not_a_metric\nreal_metric', ['real_metric']],
    ['vector(1)', []],
  ])('%s → %j', (expr, names) => {
    expect(metricNames(expr)).toEqual(names);
  });
});

describe('variableExpr', () => {
  it.each([
    ['label_values(dbproxy_target_generation, namespace)', 'dbproxy_target_generation'],
    ['label_values(m{namespace=~"$namespace"}, dbproxy)', 'm{namespace=~"$namespace"}'],
    ['label_values(namespace)', undefined],
    ['metrics(dbproxy_.*)', undefined],
    ['query_result(sum by (pod) (m))', 'sum by (pod) (m)'],
    ['up', 'up'],
  ])('%s → %s', (q, want) => {
    expect(variableExpr(q)).toBe(want);
  });
});
