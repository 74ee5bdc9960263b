import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configOutcome, fetchPodConfigs, proxyPods, type PodConfigReport } from './pod-config.js';

const slice = (service: string, endpoints: { ip: string; pod?: string; terminating?: boolean }[]) => ({
  metadata: { labels: { 'kubernetes.io/service-name': service } },
  endpoints: endpoints.map((e) => ({
    addresses: [e.ip],
    conditions: { ready: true, terminating: e.terminating ?? false },
    ...(e.pod ? { targetRef: { name: e.pod } } : {}),
  })),
});

describe('proxyPods', () => {
  it('lists the pods behind the Service, skipping terminating ones and other Services', () => {
    const slices = [
      slice('x', [
        { ip: '10.0.0.2', pod: 'x-proxy-b' },
        { ip: '10.0.0.3', pod: 'x-proxy-c', terminating: true },
      ]),
      slice('x', [
        { ip: '10.0.0.1', pod: 'x-proxy-a' },
        { ip: '10.0.0.2', pod: 'x-proxy-b' },
      ]),
      slice('x-ro', [{ ip: '10.0.0.9', pod: 'x-proxy-z' }]),
    ];
    expect(proxyPods('x', slices)).toEqual([
      { pod: 'x-proxy-a', ip: '10.0.0.1' },
      { pod: 'x-proxy-b', ip: '10.0.0.2' },
    ]);
  });
});

describe('configOutcome', () => {
  const on = (pod: string, version: string): PodConfigReport => ({ pod, version });
  const cases: {
    name: string;
    version: string | undefined;
    pods: PodConfigReport[];
    want: { current: number; status: string; reason: string; converging: boolean; refusal?: RegExp };
  }[] = [
    {
      name: 'every pod on the written version',
      version: '7',
      pods: [on('a', '7'), on('b', '7')],
      want: { current: 2, status: 'True', reason: 'AllPodsCurrent', converging: false },
    },
    {
      name: 'one pod still on the last version',
      version: '7',
      pods: [on('a', '7'), on('b', '6')],
      want: { current: 1, status: 'False', reason: 'PodsBehind', converging: true },
    },
    {
      name: 'a pod not answering',
      version: '7',
      pods: [on('a', '7'), { pod: 'b', error: 'no answer in 1000 ms' }],
      want: { current: 1, status: 'False', reason: 'PodsBehind', converging: true },
    },
    {
      name: 'a pod refused the written version',
      version: '7',
      pods: [on('a', '7'), { pod: 'b', version: '6', refused: { version: '7', problems: ['pool.maxConnections: too big'] } }],
      want: {
        current: 1,
        status: 'False',
        reason: 'PodRefusedConfig',
        converging: false,
        refusal: /pod b refused config version 7: pool.maxConnections: too big/,
      },
    },
    {
      name: 'an older refusal does not count against the new version',
      version: '8',
      pods: [{ pod: 'a', version: '8', refused: { version: '7', problems: ['x'] } }],
      want: { current: 1, status: 'True', reason: 'AllPodsCurrent', converging: false },
    },
    {
      name: 'the Secret being written',
      version: undefined,
      pods: [on('a', '7')],
      want: { current: 0, status: 'Unknown', reason: 'Writing', converging: true },
    },
    { name: 'no pods yet', version: '7', pods: [], want: { current: 0, status: 'Unknown', reason: 'NoPods', converging: true } },
  ];
  it.each(cases)('$name', ({ version, pods, want }) => {
    const o = configOutcome({ version, pods });
    expect({ current: o.podsOnCurrentConfig, status: o.condition.status, reason: o.condition.reason, converging: o.converging }).toEqual({
      current: want.current,
      status: want.status,
      reason: want.reason,
      converging: want.converging,
    });
    if (want.refusal) expect(o.refusal).toMatch(want.refusal);
    else expect(o.refusal).toBeUndefined();
  });
});

describe('fetchPodConfigs against real HTTP servers', () => {
  let good: http.Server;
  let slow: http.Server;
  const port = (s: http.Server) => (s.address() as AddressInfo).port;
  beforeAll(async () => {
    good = http.createServer((req, res) => {
      if (req.url !== '/config') return void res.writeHead(404).end();
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ source: 'Secret ns/x', version: '42', appliedAt: 'now', refused: { version: '43', problems: ['bad'], at: 'now' } }));
    });
    slow = http.createServer(() => {}); // never answers
    await Promise.all([good, slow].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  });
  afterAll(() => {
    slow.closeAllConnections();
    for (const s of [good, slow]) s.close();
  });

  it('reads each pod, and says why a pod did not answer', async () => {
    const [ok] = await fetchPodConfigs([{ pod: 'a', ip: '127.0.0.1' }], port(good));
    expect(ok).toEqual({ pod: 'a', version: '42', refused: { version: '43', problems: ['bad'] } });
    const [late] = await fetchPodConfigs([{ pod: 'b', ip: '127.0.0.1' }], port(slow), 200);
    expect(late).toEqual({ pod: 'b', error: 'no answer in 200 ms' });
    const [closed] = await fetchPodConfigs([{ pod: 'c', ip: '127.0.0.1' }], 1);
    expect(closed!.error).toBeDefined();
    expect(closed!.version).toBeUndefined();
  });
});
