import { describe, expect, it } from 'vitest';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { computePodStatus, restartDelayMs, statusChanged, type ProcessView } from './pod-status.js';
import { resolveProbe } from './probe-target.js';

const pod: V1Pod = {
  metadata: { name: 'p', namespace: 'n', uid: 'u' },
  spec: { containers: [{ name: 'proxy', image: 'ghcr.io/dbproxy/dbproxy:0.1.0' }], nodeName: 'local' },
};
const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:01:00Z';
const running: ProcessView = { podIP: '10.244.0.2', startTime: T0, state: { kind: 'running', startedAt: T0 }, ready: false, restartCount: 0 };

type Status = {
  conditions: { type: string; status: string; lastTransitionTime: string }[];
  containerStatuses: { ready: boolean; restartCount: number; state: object }[];
  podIP: string;
  phase: string;
};
const cond = (s: Status, type: string) => s.conditions.find((c) => c.type === type);

describe('computePodStatus', () => {
  it('reports a running, not yet ready process as Running with Ready=False', () => {
    const s = computePodStatus(pod, running, T0) as unknown as Status;
    expect(s.phase).toBe('Running');
    expect(s.podIP).toBe('10.244.0.2');
    expect(cond(s, 'Ready')?.status).toBe('False');
    expect(cond(s, 'ContainersReady')?.status).toBe('False');
    expect(s.containerStatuses[0]).toMatchObject({ ready: false, restartCount: 0, state: { running: { startedAt: T0 } } });
  });

  it('is Ready only while the process runs and its probe passes', () => {
    expect(cond(computePodStatus(pod, { ...running, ready: true }, T0) as unknown as Status, 'Ready')?.status).toBe('True');
    const crashed: ProcessView = { ...running, ready: true, state: { kind: 'waiting', reason: 'CrashLoopBackOff' }, restartCount: 2 };
    const s = computePodStatus(pod, crashed, T0) as unknown as Status;
    expect(cond(s, 'Ready')?.status).toBe('False');
    expect(s.containerStatuses[0]).toMatchObject({ ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } } });
  });

  it('moves lastTransitionTime only when a condition flips', () => {
    const first = computePodStatus(pod, running, T0) as unknown as Status;
    const withStatus = { ...pod, status: first } as unknown as V1Pod;
    const same = computePodStatus(withStatus, running, T1) as unknown as Status;
    expect(cond(same, 'Ready')?.lastTransitionTime).toBe(T0);
    const flipped = computePodStatus(withStatus, { ...running, ready: true }, T1) as unknown as Status;
    expect(cond(flipped, 'Ready')?.lastTransitionTime).toBe(T1);
    expect(cond(flipped, 'PodScheduled')?.lastTransitionTime).toBe(T0);
  });
});

describe('statusChanged', () => {
  it('sees readiness, restarts and IP changes, and ignores timestamps', () => {
    const s = computePodStatus(pod, running, T0);
    const withStatus = { ...pod, status: s } as V1Pod;
    expect(statusChanged(pod, s)).toBe(true);
    expect(statusChanged(withStatus, computePodStatus(withStatus, running, T1))).toBe(false);
    expect(statusChanged(withStatus, computePodStatus(withStatus, { ...running, ready: true }, T1))).toBe(true);
    expect(statusChanged(withStatus, computePodStatus(withStatus, { ...running, restartCount: 1 }, T1))).toBe(true);
    expect(statusChanged(withStatus, computePodStatus(withStatus, { ...running, podIP: '10.244.0.9' }, T1))).toBe(true);
  });
});

describe('restartDelayMs', () => {
  it('doubles from 1 s and caps at 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map(restartDelayMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
});

describe('resolveProbe', () => {
  const c: V1Container = {
    name: 'proxy',
    ports: [
      { name: 'admin', containerPort: 9187 },
      { name: 'pg', containerPort: 5432 },
    ],
  };
  it('resolves named ports against the pod IP and caps the period', () => {
    expect(resolveProbe({ httpGet: { path: '/readyz', port: 'admin' as never }, periodSeconds: 10, failureThreshold: 2 }, c, '10.244.0.4')).toEqual({
      check: { kind: 'http', url: 'http://10.244.0.4:9187/readyz' },
      periodMs: 2000,
      initialDelayMs: 0,
      timeoutMs: 3000,
      failureThreshold: 2,
    });
    expect(resolveProbe({ httpGet: { port: 8080 as never } }, c, '10.244.0.4')?.check).toEqual({ kind: 'http', url: 'http://10.244.0.4:8080/' });
    expect(resolveProbe(undefined, c, '10.244.0.4')).toBeUndefined();
  });
  it("keeps a liveness probe's own period and delay, as the kubelet does", () => {
    const p = resolveProbe({ httpGet: { path: '/healthz', port: 'admin' as never }, periodSeconds: 10, initialDelaySeconds: 5 }, c, '10.244.0.4', false);
    expect(p).toMatchObject({ periodMs: 10_000, initialDelayMs: 5_000, failureThreshold: 3 });
  });
  it.each([
    [{ tcpSocket: { port: 'pg' as never } }, { kind: 'tcp', host: '10.244.0.4', port: 5432 }],
    [{ tcpSocket: { port: 6432 as never, host: '127.0.0.1' } }, { kind: 'tcp', host: '127.0.0.1', port: 6432 }],
    [{ exec: { command: ['pg_isready', '-h', '127.0.0.1'] } }, { kind: 'exec', command: ['pg_isready', '-h', '127.0.0.1'] }],
  ])('runs tcpSocket and exec probes too: %j', (probe, check) => {
    expect(resolveProbe(probe, c, '10.244.0.4')?.check).toEqual(check);
  });
  it('rejects probes it cannot run', () => {
    expect(() => resolveProbe({ grpc: { port: 9000 } }, c, '10.244.0.4')).toThrow(/grpc/);
    expect(() => resolveProbe({ exec: { command: [] } }, c, '10.244.0.4')).toThrow(/exec/);
    expect(() => resolveProbe({ httpGet: { port: 'metrics' as never } }, c, '10.244.0.4')).toThrow(/metrics/);
  });
});
