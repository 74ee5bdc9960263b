/**
 * What the agent writes to pods/status, computed from what it knows about the process, pure. The
 * shape is the kubelet's, so ReplicaSets, Deployments, EndpointSlices and PDBs read it as usual.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { NODE_IP } from './ip-pool.js';

export type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: string }
  | { kind: 'terminated'; exitCode: number; reason: string; startedAt: string; finishedAt: string };

export interface ProcessView {
  podIP: string;
  startTime: string;
  state: ContainerState;
  ready: boolean;
  restartCount: number;
  lastState?: ContainerState;
}

interface Condition {
  type: string;
  status: 'True' | 'False';
  lastTransitionTime: string;
  reason?: string;
}

function condition(type: string, ok: boolean, now: string, previous: readonly Condition[], reason?: string): Condition {
  const status = ok ? 'True' : 'False';
  const prev = previous.find((c) => c.type === type);
  // lastTransitionTime moves only when the status flips, as the kubelet does.
  const lastTransitionTime = prev && prev.status === status ? prev.lastTransitionTime : now;
  return reason && !ok ? { type, status, lastTransitionTime, reason } : { type, status, lastTransitionTime };
}

function stateObject(s: ContainerState): Record<string, unknown> {
  switch (s.kind) {
    case 'waiting':
      return { waiting: s.message ? { reason: s.reason, message: s.message } : { reason: s.reason } };
    case 'running':
      return { running: { startedAt: s.startedAt } };
    case 'terminated':
      return { terminated: { exitCode: s.exitCode, reason: s.reason, startedAt: s.startedAt, finishedAt: s.finishedAt } };
  }
}

export function computePodStatus(pod: V1Pod, view: ProcessView, now: string): Record<string, unknown> {
  const container = pod.spec?.containers[0];
  const previous = (pod.status?.conditions ?? []).map((c) => ({
    type: c.type,
    status: c.status as 'True' | 'False',
    lastTransitionTime: c.lastTransitionTime ? new Date(c.lastTransitionTime).toISOString().replace(/\.\d{3}Z$/, 'Z') : now,
  }));
  const ready = view.ready && view.state.kind === 'running';
  const notReady = ready ? undefined : 'ContainersNotReady';
  return {
    phase: 'Running',
    hostIP: NODE_IP,
    hostIPs: [{ ip: NODE_IP }],
    podIP: view.podIP,
    podIPs: [{ ip: view.podIP }],
    startTime: view.startTime,
    qosClass: pod.status?.qosClass ?? 'BestEffort',
    conditions: [
      condition('PodReadyToStartContainers', true, now, previous),
      condition('Initialized', true, now, previous),
      condition('Ready', ready, now, previous, notReady),
      condition('ContainersReady', ready, now, previous, notReady),
      condition('PodScheduled', true, now, previous),
    ],
    containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: `local://${c.image ?? ''}`,
      containerID: c === container ? `agent://${pod.metadata?.uid ?? ''}` : undefined,
      ready: c === container ? ready : false,
      started: c === container ? view.state.kind === 'running' : false,
      restartCount: c === container ? view.restartCount : 0,
      state: stateObject(
        c === container ? view.state : { kind: 'waiting', reason: 'NotSupported', message: 'the local node agent runs the first container only' },
      ),
      lastState: c === container && view.lastState ? stateObject(view.lastState) : {},
    })),
  };
}

/** True when `next` differs from the pod's current status in anything the agent writes. */
export function statusChanged(pod: V1Pod, next: Record<string, unknown>): boolean {
  const cur = pod.status;
  if (!cur) return true;
  const pick = (s: unknown) => {
    const o = s as {
      phase?: string;
      podIP?: string;
      conditions?: { type: string; status: string }[];
      containerStatuses?: { ready: boolean; restartCount: number; state?: object }[];
    };
    return JSON.stringify({
      phase: o.phase,
      podIP: o.podIP,
      conditions: (o.conditions ?? []).map((c) => `${c.type}=${c.status}`).sort(),
      containers: (o.containerStatuses ?? []).map((c) => [c.ready, c.restartCount, Object.keys(c.state ?? {})[0] ?? '']),
    });
  };
  return pick(cur) !== pick(next);
}

/** Delay before restarting a crashed process: 1 s doubling to 30 s (the kubelet: 10 s to 5 min). */
export function restartDelayMs(restartCount: number): number {
  return Math.min(30_000, 1_000 * 2 ** Math.max(0, Math.min(restartCount - 1, 10)));
}
