/** preStop hooks and the grace left after them, as the kubelet resolves them. */
import type { V1Container } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { graceAfterHook, resolvePreStop } from './lifecycle.js';

const container = (lifecycle?: V1Container['lifecycle']): V1Container => ({
  name: 'proxy',
  ports: [{ name: 'admin', containerPort: 9187 }],
  ...(lifecycle ? { lifecycle } : {}),
});

describe('resolvePreStop', () => {
  const cases: [string, V1Container, unknown][] = [
    ['no lifecycle: no hook', container(), undefined],
    ['sleep action', container({ preStop: { sleep: { seconds: 5 } } }), { kind: 'sleep', ms: 5_000 }],
    ['exec in the pod', container({ preStop: { exec: { command: ['sleep', '3'] } } }), { kind: 'check', check: { kind: 'exec', command: ['sleep', '3'] } }],
    [
      'httpGet on a named port',
      container({ preStop: { httpGet: { path: '/drain', port: 'admin' as never } } }),
      { kind: 'check', check: { kind: 'http', url: 'http://10.244.0.9:9187/drain' } },
    ],
  ];
  it.each(cases)('%s', (_name, c, want) => {
    expect(resolvePreStop(c, '10.244.0.9')).toEqual(want);
  });
});

describe('graceAfterHook', () => {
  const cases: [number, number, number][] = [
    // grace, hook ran → left for the stop signal
    [30_000, 5_000, 25_000],
    [30_000, 0, 30_000],
    [30_000, 29_500, 2_000], // a slow hook: the kubelet's 2 s minimum
    [30_000, 40_000, 2_000],
    [0, 0, 0], // a forced deletion: SIGKILL at once
  ];
  it.each(cases)('grace %i ms, hook %i ms → %i ms', (grace, hook, want) => {
    expect(graceAfterHook(grace, hook)).toBe(want);
  });
});
