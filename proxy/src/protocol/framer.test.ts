import fc from 'fast-check';
import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import { ClientFramer, FrameMode } from './framer.js';

/** Frames `stream` fed as the given chunks; returns every message as a Buffer (copied). */
function frame(chunks: Buffer[], opts: { startup?: boolean; max?: number } = {}): string[] {
  const f = new ClientFramer(opts.max ?? 1 << 20);
  if (!opts.startup) f.mode = FrameMode.Typed;
  const out: string[] = [];
  for (const c of chunks) {
    f.push(c, {
      onMessage: (buf, start, end) => {
        out.push(buf.toString('hex', start, end));
        if (f.mode === FrameMode.Startup) f.mode = FrameMode.Typed;
      },
    });
  }
  return out;
}

const startup = serialize.startup({ user: 'alice', database: 'shop' });
const typed = [
  serialize.query('select 1'),
  serialize.parse({ name: 's1', text: 'select $1::int', types: [23] }),
  serialize.bind({ statement: 's1', values: ['42'] }),
  serialize.describe({ type: 'P' }),
  serialize.execute(),
  serialize.sync(),
  serialize.copyData(Buffer.alloc(300, 7)),
  serialize.end(),
];
const stream = Buffer.concat([startup, ...typed]);
const expected = [startup, ...typed].map((b) => b.toString('hex'));

describe('ClientFramer', () => {
  it('frames a whole stream in one chunk', () => {
    expect(frame([stream], { startup: true })).toEqual(expected);
  });

  it('frames the same messages when the stream is split at every byte boundary', () => {
    for (let i = 1; i < stream.length; i++) {
      expect(frame([stream.subarray(0, i), stream.subarray(i)], { startup: true })).toEqual(expected);
    }
  });

  it('frames the stream fed one byte at a time', () => {
    const bytes = [...stream].map((b) => Buffer.from([b]));
    expect(frame(bytes, { startup: true })).toEqual(expected);
  });

  it('frames any random chunking identically (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 20 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(stream.subarray(prev, p));
          prev = p;
        }
        chunks.push(stream.subarray(prev));
        expect(frame(chunks, { startup: true })).toEqual(expected);
      }),
    );
  });

  it('reports complete messages as slices of the chunk (no copy)', () => {
    const f = new ClientFramer(1 << 20);
    f.mode = FrameMode.Typed;
    const chunk = Buffer.concat(typed.slice(0, 2));
    const seen: Buffer[] = [];
    f.push(chunk, { onMessage: (buf) => seen.push(buf) });
    expect(seen.every((b) => b === chunk)).toBe(true);
  });

  it.each([
    ['a length below 4', Buffer.from([0x51, 0, 0, 0, 3])],
    ['a negative length', Buffer.from([0x51, 0xff, 0xff, 0xff, 0xff])],
  ])('rejects %s', (_name, bytes) => {
    expect(() => frame([bytes])).toThrow(ProtocolError);
  });

  it('rejects a message over the limit before buffering it, with SQLSTATE 54000', () => {
    const header = Buffer.from([0x51, 0, 0x10, 0, 0]); // 1 MiB
    try {
      frame([header], { max: 1024 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).sqlstate).toBe('54000');
    }
  });

  it.each([
    ['too short', Buffer.from([0, 0, 0, 4, 0, 3, 0, 0])],
    ['absurdly long', Buffer.from([0x7f, 0, 0, 0, 0, 3, 0, 0])],
  ])('rejects a startup packet that is %s', (_name, bytes) => {
    expect(() => frame([bytes], { startup: true })).toThrow(ProtocolError);
  });

  it('holds a partial message until it completes', () => {
    const f = new ClientFramer(1 << 20);
    f.mode = FrameMode.Typed;
    const q = serialize.query('select 42');
    const got: number[] = [];
    f.push(q.subarray(0, 7), { onMessage: () => got.push(1) });
    expect(got).toEqual([]);
    expect(f.buffered).toBe(7);
    f.push(q.subarray(7), { onMessage: () => got.push(1) });
    expect(got).toEqual([1]);
    expect(f.buffered).toBe(0);
  });

  it('stops at a detach point and hands back the rest', () => {
    const f = new ClientFramer(1 << 20);
    const ssl = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    const extra = Buffer.from('junk');
    const seen: number[] = [];
    f.push(Buffer.concat([ssl, extra]), {
      onMessage: (_b, s, e) => {
        seen.push(e - s);
        f.detach();
      },
    });
    expect(seen).toEqual([8]);
    expect(f.takeRemainder().toString()).toBe('junk');
  });
});
