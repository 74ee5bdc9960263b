import { describe, expect, it } from 'vitest';
import { exposes, parseExposition, series, total } from './exposition.js';

const TEXT = `# HELP a_total A counter.
# TYPE a_total counter
a_total{database="x",user="u"} 3
a_total{user="v",database="x"} 4
# HELP empty_total A labeled counter with no series yet.
# TYPE empty_total counter
# HELP lat_seconds A histogram.
# TYPE lat_seconds histogram
lat_seconds_bucket{le="0.1",database="x"} 1
lat_seconds_bucket{le="+Inf",database="x"} 2
lat_seconds_sum{database="x"} 0.35
lat_seconds_count{database="x"} 2
# TYPE g gauge
g 1.5e-3
odd{msg="a \\"quoted\\" \\\\ value, with {braces}"} 1 1700000000000
`;

describe('parseExposition', () => {
  const e = parseExposition(TEXT);

  it('reads samples with their labels in any order', () => {
    expect(series(e, 'a_total', { database: 'x' }).map((s) => s.value)).toEqual([3, 4]);
    expect(total(e, 'a_total', { user: 'v' })).toBe(4);
    expect(total(e, 'a_total')).toBe(7);
    expect(total(e, 'g')).toBe(0.0015);
    expect(total(e, 'missing')).toBe(0);
    expect(series(e, 'lat_seconds_bucket', { le: '+Inf' })[0]!.value).toBe(2);
  });

  it('unescapes label values and ignores a timestamp', () => {
    expect(series(e, 'odd')[0]).toEqual({ name: 'odd', labels: { msg: 'a "quoted" \\ value, with {braces}' }, value: 1 });
  });

  it.each([
    ['a_total', true],
    ['empty_total', true],
    ['lat_seconds_bucket', true],
    ['lat_seconds_count', true],
    ['lat_seconds', true],
    ['g', true],
    ['g_bucket', false],
    ['a_total_bucket', false],
    ['nope', false],
  ])('exposes(%s) is %s', (name, want) => {
    expect(exposes(e, name)).toBe(want);
  });

  it('refuses a line that is not a sample', () => {
    expect(() => parseExposition('this is not { a sample')).toThrow(/not a sample line/);
  });
});
