import { describe, expect, it } from 'vitest';
import { ConfigState } from './state.js';

function clock(): () => Date {
  let t = Date.parse('2026-12-02T00:00:00Z');
  return () => new Date((t += 1000));
}

describe('ConfigState: what /config says', () => {
  it('names the running version and clears a refusal once a later config applies', () => {
    const s = new ConfigState('Secret ns/x', '10', clock());
    expect(s.snapshot()).toEqual({ source: 'Secret ns/x', version: '10', appliedAt: '2026-12-02T00:00:01.000Z' });
    s.refused(['pool.maxConnections: too big'], '11');
    expect(s.snapshot()).toMatchObject({ version: '10', refused: { version: '11', problems: ['pool.maxConnections: too big'] } });
    s.applied('12');
    expect(s.snapshot()).toEqual({ source: 'Secret ns/x', version: '12', appliedAt: '2026-12-02T00:00:03.000Z' });
  });

  it('a metadata-only change moves the running version, or the refused one while refused', () => {
    const s = new ConfigState('Secret ns/x', '1', clock());
    s.unchanged('2');
    expect(s.snapshot().version).toBe('2');
    s.refused(['bad'], '3');
    s.unchanged('4');
    expect(s.snapshot()).toMatchObject({ version: '2', refused: { version: '4', problems: ['bad'] } });
  });

  it('a source without versions reports none', () => {
    const s = new ConfigState(undefined, undefined, clock());
    s.from('file /etc/dbproxy.yaml');
    s.refused(['not valid YAML']);
    expect(s.snapshot()).toEqual({
      source: 'file /etc/dbproxy.yaml',
      appliedAt: '2026-12-02T00:00:01.000Z',
      refused: { problems: ['not valid YAML'], at: '2026-12-02T00:00:02.000Z' },
    });
  });

  it('a snapshot is a copy', () => {
    const s = new ConfigState('flags');
    s.refused(['x']);
    s.snapshot().refused!.problems.push('y');
    expect(s.snapshot().refused!.problems).toEqual(['x']);
  });
});
