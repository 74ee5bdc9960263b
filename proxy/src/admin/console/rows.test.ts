// The encoders are checked with node-postgres' own protocol parser: what it reads is what drivers read.
import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { describe, expect, it } from 'vitest';
import { dataRow, encodeResultSet, int, rowDescription, secondsAndMicros, text, timestamp, type ResultSet } from './rows.js';

function parse(bytes: Buffer): (BackendMessage & Record<string, unknown>)[] {
  const out: (BackendMessage & Record<string, unknown>)[] = [];
  new Parser().parse(bytes, (m) => out.push(m as BackendMessage & Record<string, unknown>));
  return out;
}

describe('result sets', () => {
  const result: ResultSet = {
    columns: [text('database'), text('user'), int('cl_active'), text('note')],
    rows: [
      ['app', 'alice', 3, null],
      ['ünïcode db', 'bob', 0, 'x'],
    ],
    tag: 'SHOW',
  };

  it('encodes RowDescription, DataRows and CommandComplete as a driver reads them', () => {
    const msgs = parse(encodeResultSet(result));
    expect(msgs.map((m) => m.name)).toEqual(['rowDescription', 'dataRow', 'dataRow', 'commandComplete']);
    const fields = msgs[0]!['fields'] as { name: string; dataTypeID: number; format: string; dataTypeSize: number }[];
    expect(fields.map((f) => [f.name, f.dataTypeID, f.dataTypeSize, f.format])).toEqual([
      ['database', 25, -1, 'text'],
      ['user', 25, -1, 'text'],
      ['cl_active', 20, 8, 'text'],
      ['note', 25, -1, 'text'],
    ]);
    expect(msgs[1]!['fields']).toEqual(['app', 'alice', '3', null]);
    expect(msgs[2]!['fields']).toEqual(['ünïcode db', 'bob', '0', 'x']);
    expect(msgs[3]!['text']).toBe('SHOW');
  });

  it('encodes a result with no rows', () => {
    const msgs = parse(encodeResultSet({ columns: [text('key')], rows: [], tag: 'SHOW' }));
    expect(msgs.map((m) => m.name)).toEqual(['rowDescription', 'commandComplete']);
  });

  it('refuses a row that does not fit its columns', () => {
    const columns = [text('a'), int('n')];
    expect(() => dataRow(columns, ['x'])).toThrow(/1 values for 2 columns/);
    expect(() => dataRow(columns, ['x', 1.5])).toThrow(/column n: 1.5 is not an integer/);
    expect(() => dataRow(columns, ['x', 'seven'])).toThrow(/column n: "seven" is not an integer/);
  });

  it('gives RowDescription the length its body has', () => {
    const b = rowDescription([text('a'), int('bb')]);
    expect(b.readInt32BE(1)).toBe(b.length - 1);
  });
});

describe('value formats', () => {
  it.each([
    [Date.UTC(2024, 4, 1, 12, 0, 5, 678), '2024-05-01 12:00:05 UTC'],
    [0, '1970-01-01 00:00:00 UTC'],
  ])('timestamp(%d) = %s', (ms, want) => expect(timestamp(ms)).toBe(want));

  it.each([
    [0, [0, 0]],
    [1.5, [0, 1500]],
    [2_345.678, [2, 345_678]],
    [-5, [0, 0]],
  ] as const)('secondsAndMicros(%d) = %j', (ms, want) => expect(secondsAndMicros(ms)).toEqual(want));
});
