import { describe, expect, it } from 'vitest';
import { initialHealth, type TargetHealth } from '../../../contract/health/writer.js';
import { validateSpec } from '../api/v1alpha1/validate.js';
import { candidateEndpoints, chooseWriter, fallbackEndpoints, type EndpointSliceLike } from './targets.js';

function spec(raw: unknown) {
  const r = validateSpec(raw);
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.spec;
}

const slice = (svc: string, ports: number[], eps: [string, boolean | undefined][]): EndpointSliceLike => ({
  metadata: { namespace: 'shop', labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  ports: ports.map((port) => ({ name: 'pg', port })),
  endpoints: eps.map(([a, ready]) => ({ addresses: [a], conditions: ready === undefined ? {} : { ready } })),
});

describe('candidateEndpoints', () => {
  const s = spec({
    targets: [{ host: 'db-0', port: 5433 }, { serviceRef: { name: 'pg', port: 5432 } }, { host: '10.0.0.1' }],
    auth: [{ secretRef: { name: 'a' } }],
  });

  it('host targets plus ready serviceRef addresses, in order, without duplicates', () => {
    const slices = [
      slice(
        'pg',
        [5432],
        [
          ['10.0.0.1', true],
          ['10.0.0.2', false],
          ['10.0.0.3', undefined],
        ],
      ),
      slice('other', [5432], [['10.9.9.9', true]]),
    ];
    expect(candidateEndpoints(s, slices)).toEqual(['db-0:5433', '10.0.0.1:5432', '10.0.0.3:5432']);
  });

  it('uses the slice port when the Service maps to another target port', () => {
    expect(candidateEndpoints(s, [slice('pg', [6432], [['10.0.0.7', true]])])).toContain('10.0.0.7:6432');
  });

  it('skips terminating endpoints and brackets IPv6', () => {
    const sl = slice('pg', [5432], [['fd00::1', true]]);
    sl.endpoints!.push({ addresses: ['10.0.0.8'], conditions: { ready: true, terminating: true } });
    expect(candidateEndpoints(s, [sl])).toEqual(['db-0:5433', '[fd00::1]:5432', '10.0.0.1:5432']);
  });

  it('falls back to the Service DNS name for serviceRef targets', () => {
    expect(fallbackEndpoints(s, 'shop')).toEqual(['db-0:5433', 'pg.shop.svc:5432', '10.0.0.1:5432']);
  });
});

const h = (endpoint: string, role: TargetHealth['role'], state: TargetHealth['state']): TargetHealth => ({ endpoint, role, state, consecutiveFailures: 0 });

describe('chooseWriter', () => {
  it.each<[string, TargetHealth[], { writer?: string; generation: number }, { writer: string | undefined; generation: number; changed: boolean }]>([
    ['first writer bumps 0 → 1', [h('a', 'WRITER', 'AVAILABLE')], { generation: 0 }, { writer: 'a', generation: 1, changed: true }],
    [
      'a split brain (two out of recovery) takes the writer away',
      [h('a', 'WRITER', 'AVAILABLE'), h('b', 'WRITER', 'AVAILABLE')],
      { writer: 'b', generation: 4 },
      { writer: undefined, generation: 5, changed: true },
    ],
    [
      'after a split brain, the one left out of recovery is the writer',
      [h('a', 'WRITER', 'AVAILABLE'), h('b', 'READER', 'AVAILABLE')],
      { writer: undefined, generation: 5 },
      { writer: 'a', generation: 6, changed: true },
    ],
    [
      'fails over to the promoted standby',
      [h('a', 'UNKNOWN', 'UNAVAILABLE'), h('b', 'WRITER', 'AVAILABLE')],
      { writer: 'a', generation: 4 },
      { writer: 'b', generation: 5, changed: true },
    ],
    [
      'readers are never chosen; the down writer stays',
      [h('a', 'UNKNOWN', 'UNAVAILABLE'), h('b', 'READER', 'AVAILABLE')],
      { writer: 'a', generation: 4 },
      { writer: 'a', generation: 4, changed: false },
    ],
    [
      'a new leader with unprobed targets keeps the status writer',
      ['a', 'b'].map(initialHealth),
      { writer: 'b', generation: 7 },
      { writer: 'b', generation: 7, changed: false },
    ],
    [
      'a writer removed from the spec is dropped',
      [h('c', 'READER', 'AVAILABLE')],
      { writer: 'a', generation: 2 },
      { writer: undefined, generation: 3, changed: true },
    ],
  ])('%s', (_name, healths, prev, want) => expect(chooseWriter(healths, prev)).toEqual(want));
});
