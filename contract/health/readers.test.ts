import { describe, expect, it } from 'vitest';
import { ReaderRouting, readerSet } from './readers.js';
import type { TargetHealth } from './writer.js';

const h = (endpoint: string, role: TargetHealth['role'], state: TargetHealth['state']): TargetHealth => ({ endpoint, role, state, consecutiveFailures: 0 });
const W = { host: 'w', port: 5432 };

describe('readerSet', () => {
  it('is the available standbys, in target order', () => {
    expect(
      readerSet([
        h('a:1', 'WRITER', 'AVAILABLE'),
        h('b:1', 'READER', 'AVAILABLE'),
        h('c:1', 'UNKNOWN', 'UNAVAILABLE'),
        h('d:1', 'READER', 'AVAILABLE'),
        h('e:1', 'UNKNOWN', 'REGISTERING'),
      ]),
    ).toEqual(['b:1', 'd:1']);
  });
});

describe('ReaderRouting', () => {
  it('spreads new connections over the readers, round-robin', () => {
    const r = new ReaderRouting('wait');
    r.setReaders(['b:1', 'd:2']);
    expect([r.target(W), r.target(W), r.target(W)]).toEqual([
      { host: 'b', port: 1 },
      { host: 'd', port: 2 },
      { host: 'b', port: 1 },
    ]);
    expect(r.holdReason(W)).toBeUndefined();
    r.setReaders(['[::1]:5433']);
    expect(r.target(W)).toEqual({ host: '::1', port: 5433 });
  });

  it.each<{ name: string; when: 'wait' | 'writer'; writer: typeof W | undefined; target: typeof W | undefined; hold: RegExp | undefined }>([
    { name: 'wait: nowhere to go, reader pools wait', when: 'wait', writer: W, target: undefined, hold: /no reader/ },
    { name: 'writer: the writer serves reads', when: 'writer', writer: W, target: W, hold: undefined },
    { name: 'writer, but no writer either: wait', when: 'writer', writer: undefined, target: undefined, hold: /no writer to fall back to/ },
  ])('with no reader, $name', ({ when, writer, target, hold }) => {
    const r = new ReaderRouting(when);
    expect(r.target(writer)).toEqual(target);
    if (hold) expect(r.holdReason(writer)).toMatch(hold);
    else expect(r.holdReason(writer)).toBeUndefined();
  });

  it('moves to a new generation when the set changes (a reader left or was promoted), not when it stays', () => {
    const r = new ReaderRouting('writer');
    expect(r.setReaders(['b:1'])).toBe(true);
    expect(r.generation).toBe(1);
    expect(r.setReaders(['b:1'])).toBe(false);
    expect(r.writerChanged()).toBe(false); // the readers do not follow the writer while there are some
    expect(r.setReaders([])).toBe(true);
    expect(r.writerChanged()).toBe(true); // falling back to the writer: they follow it
    expect(r.generation).toBe(3);
  });
});
