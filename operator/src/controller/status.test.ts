import { describe, expect, it } from 'vitest';
import type { TargetHealth } from '../../../contract/health/writer.js';
import type { Condition, DBProxyStatus } from '../api/v1alpha1/schema.js';
import { computeStatus, statusEqual, type StatusInput } from './status.js';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:01:00Z';
const up = (endpoint: string, role: TargetHealth['role'] = 'WRITER'): TargetHealth => ({
  endpoint,
  role,
  state: 'AVAILABLE',
  consecutiveFailures: 0,
  maxConnections: 100,
});
const down = (endpoint: string): TargetHealth => ({ endpoint, role: 'UNKNOWN', state: 'UNAVAILABLE', consecutiveFailures: 2, reason: 'UNREACHABLE' });

const healthy: StatusInput = {
  name: 'orders',
  namespace: 'shop',
  generation: 3,
  previous: undefined,
  now: T0,
  desiredReplicas: 2,
  deployment: { replicas: 2, readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2, observedGeneration: 1, generation: 1 },
  healths: [up('db-0:5432'), up('db-1:5432', 'READER')],
  writer: 'db-0:5432',
  targetGeneration: 1,
  poolSizePerPod: 50,
};

const cond = (s: DBProxyStatus, type: string): Condition => s.conditions!.find((c) => c.type === type)!;
const summary = (s: DBProxyStatus) => Object.fromEntries(s.conditions!.map((c) => [c.type, `${c.status}/${c.reason}`]));

describe('computeStatus', () => {
  it('fills the contract fields', () => {
    const s = computeStatus(healthy);
    expect(s).toMatchObject({
      observedGeneration: 3,
      endpoint: 'orders.shop.svc:5432',
      currentTarget: 'db-0:5432',
      targetGeneration: 1,
      replicas: 2,
      readyReplicas: 2,
      poolSizePerPod: 50,
    });
    expect(s.targets).toEqual([
      { endpoint: 'db-0:5432', role: 'WRITER', state: 'AVAILABLE', lastTransitionTime: T0 },
      { endpoint: 'db-1:5432', role: 'READER', state: 'AVAILABLE', lastTransitionTime: T0 },
    ]);
    for (const c of s.conditions!) expect(c).toMatchObject({ observedGeneration: 3, lastTransitionTime: T0, message: expect.any(String) });
  });

  it.each<[string, Partial<StatusInput>, Record<string, string>]>([
    [
      'all healthy',
      {},
      { Ready: 'True/Available', TargetAvailable: 'True/WriterAvailable', Progressing: 'False/RolloutComplete', Degraded: 'False/AsExpected' },
    ],
    [
      'no Deployment yet',
      { deployment: undefined },
      { Ready: 'False/NoReadyReplicas', TargetAvailable: 'True/WriterAvailable', Progressing: 'True/RollingOut', Degraded: 'False/AsExpected' },
    ],
    [
      'not probed yet',
      { healths: [{ endpoint: 'db-0:5432', role: 'UNKNOWN', state: 'REGISTERING', consecutiveFailures: 0 }], writer: undefined },
      { Ready: 'False/Registering', TargetAvailable: 'Unknown/Registering', Progressing: 'False/RolloutComplete', Degraded: 'False/AsExpected' },
    ],
    [
      'writer down, reader up',
      { healths: [down('db-0:5432'), up('db-1:5432', 'READER')] },
      { Ready: 'False/NoWriter', TargetAvailable: 'False/NoWriter', Progressing: 'False/RolloutComplete', Degraded: 'True/TargetsUnavailable' },
    ],
    [
      'split brain',
      { healths: [up('db-0:5432'), up('db-1:5432')], writer: undefined },
      { Ready: 'False/SplitBrain', TargetAvailable: 'False/SplitBrain', Progressing: 'False/RolloutComplete', Degraded: 'True/SplitBrain' },
    ],
    [
      'a reader down',
      { healths: [up('db-0:5432'), down('db-1:5432')] },
      { Ready: 'True/Available', TargetAvailable: 'True/WriterAvailable', Progressing: 'False/RolloutComplete', Degraded: 'True/TargetsUnavailable' },
    ],
    [
      'scaling up',
      { desiredReplicas: 3 },
      { Ready: 'True/Available', TargetAvailable: 'True/WriterAvailable', Progressing: 'True/RollingOut', Degraded: 'False/AsExpected' },
    ],
    [
      'a pod not ready after rollout',
      { deployment: { replicas: 2, readyReplicas: 1, updatedReplicas: 2, observedGeneration: 1, generation: 1 } },
      { Ready: 'True/Available', TargetAvailable: 'True/WriterAvailable', Progressing: 'False/RolloutComplete', Degraded: 'True/ReplicasUnavailable' },
    ],
    [
      'apply failed',
      { applyError: 'forbidden' },
      { Ready: 'False/ApplyFailed', TargetAvailable: 'True/WriterAvailable', Progressing: 'False/RolloutComplete', Degraded: 'True/ApplyFailed' },
    ],
    [
      'invalid spec',
      { invalid: { reason: 'InvalidSpec', problems: ['spec.targets: too small'] } },
      { Ready: 'False/InvalidSpec', TargetAvailable: 'Unknown/InvalidSpec', Progressing: 'False/InvalidSpec', Degraded: 'True/InvalidSpec' },
    ],
  ])('%s', (_name, change, want) => expect(summary(computeStatus({ ...healthy, ...change }))).toEqual(want));

  it('with the reader endpoint on, shows its Service address and the standbys it serves', () => {
    const s = computeStatus({ ...healthy, readers: ['db-1:5432'] });
    expect(s.readerEndpoint).toBe(`${healthy.name}-ro.${healthy.namespace}.svc:5432`);
    expect(s.readers).toEqual(['db-1:5432']);
    expect(computeStatus(healthy).readerEndpoint).toBeUndefined();
  });

  it('an invalid spec puts the problems in the Ready message', () => {
    const s = computeStatus({ ...healthy, invalid: { reason: 'InvalidSpec', problems: ['a', 'b'] } });
    expect(cond(s, 'Ready').message).toBe('a; b');
  });

  it("lastTransitionTime moves only when a condition's status flips", () => {
    const first = computeStatus(healthy);
    const same = computeStatus({ ...healthy, previous: first, now: T1, deployment: { ...healthy.deployment, readyReplicas: 2 } });
    expect(cond(same, 'Ready').lastTransitionTime).toBe(T0);
    expect(statusEqual(first, same)).toBe(true);

    const flipped = computeStatus({ ...healthy, previous: first, now: T1, healths: [down('db-0:5432'), up('db-1:5432', 'READER')] });
    expect(cond(flipped, 'Ready')).toMatchObject({ status: 'False', lastTransitionTime: T1 });
    expect(cond(flipped, 'Progressing').lastTransitionTime).toBe(T0);
    expect(flipped.targets![0]).toEqual({ endpoint: 'db-0:5432', role: 'UNKNOWN', state: 'UNAVAILABLE', reason: 'UNREACHABLE', lastTransitionTime: T1 });
    expect(flipped.targets![1]!.lastTransitionTime).toBe(T0);
    expect(statusEqual(first, flipped)).toBe(false);
  });

  it('a promoted standby is reported as PROMOTED while it stays the writer', () => {
    const before = computeStatus({ ...healthy, healths: [down('db-0:5432'), up('db-1:5432', 'READER')] });
    const after = computeStatus({
      ...healthy,
      previous: before,
      now: T1,
      healths: [down('db-0:5432'), up('db-1:5432', 'WRITER')],
      writer: 'db-1:5432',
      targetGeneration: 2,
    });
    expect(after.targets![1]).toEqual({ endpoint: 'db-1:5432', role: 'WRITER', state: 'AVAILABLE', reason: 'PROMOTED', lastTransitionTime: T1 });
    const later = computeStatus({
      ...healthy,
      previous: after,
      now: '2026-01-01T00:02:00Z',
      healths: [down('db-0:5432'), up('db-1:5432', 'WRITER')],
      writer: 'db-1:5432',
      targetGeneration: 2,
    });
    expect(later.targets![1]).toEqual(after.targets![1]);
  });
});

describe('statusEqual', () => {
  it('ignores key order and compares values', () => {
    expect(statusEqual({ replicas: 1, endpoint: 'e' }, { endpoint: 'e', replicas: 1 })).toBe(true);
    expect(statusEqual({ replicas: 1 }, { replicas: 2 })).toBe(false);
    expect(statusEqual(undefined, {})).toBe(true);
  });
});
