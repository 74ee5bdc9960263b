/**
 * The DBProxy status, pure: what `kubectl get dbp` and users read. Conditions follow the standard
 * shape; a condition's lastTransitionTime moves only when its status flips, a target's only when its
 * role, state or reason changes, so an unchanged world computes an equal status (written never).
 */
import { splitBrain, type TargetHealth } from '../../../contract/health/writer.js';
import type { Condition, DBProxyStatus, TargetStatus } from '../api/v1alpha1/schema.js';
import { canonicalJson } from './hash.js';
import { PG_PORT } from './names.js';
import type { ConfigOutcome } from './pod-config.js';

export interface DeploymentView {
  replicas?: number;
  readyReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  generation?: number;
}

export interface StatusInput {
  name: string;
  namespace: string;
  generation: number;
  previous: DBProxyStatus | undefined;
  /** ISO time used for anything that transitions now. */
  now: string;
  /** Set when the spec (or a Secret it names) is unusable: nothing else is computed. */
  invalid?: { reason: string; problems: string[] };
  desiredReplicas: number;
  deployment: DeploymentView | undefined;
  healths: TargetHealth[];
  writer: string | undefined;
  targetGeneration: number;
  poolSizePerPod?: number;
  readerPoolSizePerPod?: number;
  /** The writer's max_connections as last probed (kept so a new leader renders the same pool size). */
  writerMaxConnections?: number | undefined;
  /** The standbys the reader endpoint serves (spec.readerEndpoint.enabled only). */
  readers?: string[] | undefined;
  /** The last apply failure, if the apply step failed. */
  applyError?: string;
  /** Which config the pods run (pod-config.ts), where the pods were asked. */
  config?: { version: string | undefined; outcome: ConfigOutcome };
}

type CondStatus = Condition['status'];

function condition(
  prev: Condition[] | undefined,
  c: { type: string; status: CondStatus; reason: string; message: string },
  generation: number,
  now: string,
): Condition {
  const old = prev?.find((p) => p.type === c.type);
  const lastTransitionTime = old && old.status === c.status ? old.lastTransitionTime : now;
  return { ...c, lastTransitionTime, observedGeneration: generation };
}

/**
 * A target's reason: why it is UNAVAILABLE, or PROMOTED for a writer that was a reader (a standby
 * promoted by failover), kept while it stays the writer.
 */
function targetReason(h: TargetHealth, old: TargetStatus | undefined): string | undefined {
  if (h.state === 'UNAVAILABLE') return h.reason;
  if (h.state === 'AVAILABLE' && h.role === 'WRITER' && (old?.role === 'READER' || (old?.role === 'WRITER' && old.reason === 'PROMOTED'))) return 'PROMOTED';
  return undefined;
}

function targetStatuses(healths: TargetHealth[], prev: TargetStatus[] | undefined, now: string): TargetStatus[] {
  return healths.map((h) => {
    const old = prev?.find((p) => p.endpoint === h.endpoint);
    const reason = targetReason(h, old);
    const same = old !== undefined && old.role === h.role && old.state === h.state && old.reason === reason;
    const t: TargetStatus = { endpoint: h.endpoint, role: h.role, state: h.state, lastTransitionTime: (same && old.lastTransitionTime) || now };
    if (reason !== undefined) t.reason = reason;
    return t;
  });
}

type C = { type: string; status: CondStatus; reason: string; message: string };

function invalidConditions(invalid: { reason: string; problems: string[] }): C[] {
  const message = invalid.problems.join('; ');
  return [
    { type: 'Ready', status: 'False', reason: invalid.reason, message },
    { type: 'TargetAvailable', status: 'Unknown', reason: invalid.reason, message: 'not probed: the spec is invalid' },
    { type: 'Progressing', status: 'False', reason: invalid.reason, message: 'nothing is rolled out until the spec is fixed' },
    { type: 'Degraded', status: 'True', reason: invalid.reason, message },
  ];
}

function healthyConditions(i: StatusInput): C[] {
  const d = i.deployment;
  const ready = d?.readyReplicas ?? 0;
  const updated = d?.updatedReplicas ?? 0;
  const down = i.healths.filter((h) => h.state === 'UNAVAILABLE');
  const writerUp = i.writer !== undefined && i.healths.some((h) => h.endpoint === i.writer && h.state === 'AVAILABLE' && h.role === 'WRITER');
  const probed = i.healths.some((h) => h.state !== 'REGISTERING');
  const split = splitBrain(i.healths);

  const target: C = writerUp
    ? { type: 'TargetAvailable', status: 'True', reason: 'WriterAvailable', message: `writer ${i.writer} (generation ${i.targetGeneration})` }
    : !probed
      ? { type: 'TargetAvailable', status: 'Unknown', reason: 'Registering', message: 'waiting for the first health probes' }
      : split
        ? {
            type: 'TargetAvailable',
            status: 'False',
            reason: 'SplitBrain',
            message: `several endpoints are out of recovery (${split.join(', ')}): writes go to none of them until only one is`,
          }
        : { type: 'TargetAvailable', status: 'False', reason: 'NoWriter', message: noWriterMessage(i.healths) };

  const rollingOut =
    !d || (d.generation !== undefined && (d.observedGeneration ?? 0) < d.generation) || updated < i.desiredReplicas || (d.replicas ?? 0) > i.desiredReplicas;
  const progressing: C = rollingOut
    ? { type: 'Progressing', status: 'True', reason: 'RollingOut', message: `${updated}/${i.desiredReplicas} proxy pods updated, ${ready} ready` }
    : { type: 'Progressing', status: 'False', reason: 'RolloutComplete', message: `${i.desiredReplicas} proxy pods up to date` };

  const readyC: C = i.applyError
    ? { type: 'Ready', status: 'False', reason: 'ApplyFailed', message: i.applyError }
    : !writerUp
      ? { type: 'Ready', status: 'False', reason: target.reason, message: target.message }
      : ready < 1
        ? { type: 'Ready', status: 'False', reason: 'NoReadyReplicas', message: `0/${i.desiredReplicas} proxy pods ready` }
        : { type: 'Ready', status: 'True', reason: 'Available', message: `${ready}/${i.desiredReplicas} proxy pods ready; writer ${i.writer}` };

  const degraded: C = i.applyError
    ? { type: 'Degraded', status: 'True', reason: 'ApplyFailed', message: i.applyError }
    : i.config?.outcome.refusal
      ? { type: 'Degraded', status: 'True', reason: 'PodRefusedConfig', message: i.config.outcome.refusal }
      : split
        ? { type: 'Degraded', status: 'True', reason: 'SplitBrain', message: target.message }
        : down.length > 0
          ? {
              type: 'Degraded',
              status: 'True',
              reason: 'TargetsUnavailable',
              message: down.map((h) => `${h.endpoint}: ${h.reason ?? 'UNAVAILABLE'}`).join('; '),
            }
          : d && !rollingOut && ready < i.desiredReplicas
            ? { type: 'Degraded', status: 'True', reason: 'ReplicasUnavailable', message: `${ready}/${i.desiredReplicas} proxy pods ready` }
            : { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'all targets and proxy pods are healthy' };

  return i.config ? [readyC, target, progressing, degraded, i.config.outcome.condition] : [readyC, target, progressing, degraded];
}

function noWriterMessage(healths: TargetHealth[]): string {
  if (healths.length === 0) return 'no candidate endpoints (is the serviceRef Service backed by ready pods?)';
  return 'no available endpoint out of recovery: ' + healths.map((h) => `${h.endpoint} ${h.state}${h.reason ? ` (${h.reason})` : ''} ${h.role}`).join(', ');
}

export function computeStatus(i: StatusInput): DBProxyStatus {
  const prev = i.previous;
  const conds = (i.invalid ? invalidConditions(i.invalid) : healthyConditions(i)).map((c) => condition(prev?.conditions, c, i.generation, i.now));
  const status: DBProxyStatus = {
    observedGeneration: i.generation,
    endpoint: `${i.name}.${i.namespace}.svc:${PG_PORT}`,
    targetGeneration: i.targetGeneration,
    replicas: i.deployment?.replicas ?? 0,
    readyReplicas: i.deployment?.readyReplicas ?? 0,
    targets: targetStatuses(i.healths, prev?.targets, i.now),
    conditions: conds,
  };
  if (i.writer !== undefined) status.currentTarget = i.writer;
  if (i.readers !== undefined) {
    status.readerEndpoint = `${i.name}-ro.${i.namespace}.svc:${PG_PORT}`;
    status.readers = i.readers;
  }
  if (i.poolSizePerPod !== undefined) status.poolSizePerPod = i.poolSizePerPod;
  if (i.readerPoolSizePerPod !== undefined) status.readerPoolSizePerPod = i.readerPoolSizePerPod;
  if (i.writerMaxConnections !== undefined) status.writerMaxConnections = i.writerMaxConnections;
  if (i.config?.version !== undefined) status.configVersion = i.config.version;
  if (i.config) status.podsOnCurrentConfig = i.config.outcome.podsOnCurrentConfig;
  return status;
}

/** Equal statuses are not written (each write is an update event and a resourceVersion bump). */
export function statusEqual(a: DBProxyStatus | undefined, b: DBProxyStatus | undefined): boolean {
  return canonicalJson(a ?? {}) === canonicalJson(b ?? {});
}
