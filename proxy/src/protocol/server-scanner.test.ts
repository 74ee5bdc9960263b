import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ServerScanner, type ServerMessageVisitor } from './server-scanner.js';
import { splitAt } from '../testing/split.js';

function msg(type: string, body: Buffer | string): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const out = Buffer.alloc(5 + b.length);
  out[0] = type.charCodeAt(0);
  out.writeInt32BE(4 + b.length, 1);
  b.copy(out, 5);
  return out;
}

const rowDescription = msg('T', Buffer.alloc(27, 1));
const dataRow = msg('D', Buffer.alloc(200, 2));
const complete = msg('C', 'SELECT 1\0');
const ready = (s: string) => msg('Z', s);
const parseComplete = msg('1', '');
const stream = Buffer.concat([parseComplete, rowDescription, dataRow, complete, ready('T'), parseComplete, ready('I')]);

interface Run {
  forwarded: string;
  bodies: [string, string][];
}

/**
 * Scans chunks; drops messages whose type is in `drop`, inserts `insert` after each message whose
 * type is in `after`; returns forwarded bytes and wanted bodies.
 */
function run(chunks: Buffer[], drop = '', after = '', insert: Buffer = Buffer.alloc(0)): Run {
  const bodies: [string, string][] = [];
  const visitor: ServerMessageVisitor = {
    begin: (t) => !drop.includes(String.fromCharCode(t)),
    end: (t, buf, start, end) => {
      const type = String.fromCharCode(t);
      if (type === 'Z' || type === 'C') bodies.push([type, buf.toString('latin1', start, end)]);
      if (after.includes(type)) s.insert(insert);
    },
  };
  const s = new ServerScanner(visitor);
  s.wantBody['Z'.charCodeAt(0)] = 1;
  s.wantBody['C'.charCodeAt(0)] = 1;
  const out: Buffer[] = [];
  for (const c of chunks) {
    if (s.scan(c)) out.push(c);
    else out.push(...s.out);
  }
  expect(s.atBoundary()).toBe(true);
  return { forwarded: Buffer.concat(out).toString('hex'), bodies };
}

describe('ServerScanner', () => {
  const whole = run([stream]);

  it('forwards everything and reports wanted bodies', () => {
    expect(whole.forwarded).toEqual(stream.toString('hex'));
    expect(whole.bodies).toEqual([
      ['C', 'SELECT 1\0'],
      ['Z', 'T'],
      ['Z', 'I'],
    ]);
  });

  it('gives the same result split at every byte boundary', () => {
    for (let i = 1; i < stream.length; i++) {
      expect(run([stream.subarray(0, i), stream.subarray(i)])).toEqual(whole);
    }
  });

  it('drops exactly the messages the visitor refuses, at any chunking (property)', () => {
    const withoutParse = Buffer.concat([rowDescription, dataRow, complete, ready('T'), ready('I')]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), (cuts) => {
        const r = run(splitAt(stream, cuts), '1');
        expect(r.forwarded).toEqual(withoutParse.toString('hex'));
        expect(r.bodies).toEqual(whole.bodies);
      }),
    );
  });

  it('puts inserted bytes right after their message, dropped or kept, at any chunking (property)', () => {
    const marker = msg('E', 'rewritten\0');
    // After each ParseComplete (dropped) and each ReadyForQuery (kept): the marker, in order.
    const expected = Buffer.concat([marker, rowDescription, dataRow, complete, ready('T'), marker, marker, ready('I'), marker]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), (cuts) => {
        const r = run(splitAt(stream, cuts), '1', '1Z', marker);
        expect(r.forwarded).toEqual(expected.toString('hex'));
      }),
    );
  });

  it('throws on an impossible length from the server', () => {
    const s = new ServerScanner({ begin: () => true, end: () => {} });
    expect(() => s.scan(Buffer.from([0x5a, 0, 0, 0, 2]))).toThrow(/invalid length/);
  });
});
