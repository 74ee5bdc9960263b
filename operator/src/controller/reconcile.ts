/**
 * One reconcile of one DBProxy: observe (informer caches + the prober) → decide (pure: validate,
 * desired, plan, status) → apply (server-side apply, one field manager) → write the status if it
 * changed → Events → tell the prober what to probe. API errors are sorted here, at the boundary.
 */
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { DBProxy, DBProxyStatus } from '../api/v1alpha1/schema.js';
import { API_VERSION, KIND } from '../api/v1alpha1/schema.js';
import type { OperatorMetrics } from '../metrics.js';
import { classifyApiError } from '../../../contract/kube/errors.js';
import { decide, type Decision, type Observed } from './decide.js';
import type { Action, ObjectRef } from './plan.js';
import { POD_MONITOR, kindNotServed, unavailableEvent } from './pod-monitor.js';
import type { PodMonitorWatch } from './pod-monitor-watch.js';
import { childNames } from './names.js';
import { proxyPods, type PodConfigReport, type ProxyPod } from './pod-config.js';
import type { TargetProber } from './prober.js';
import type { ProxyPull } from './desired.js';
import { NETWORK_POLICY, forTypedSerializer, type OperatorPeer } from './network-policy.js';
import type { Obj } from './desired.js';
import type { EndpointSliceLike } from './targets.js';
import { bindingOwner } from './token-review.js';

/** What reconcile reads from an informer (Informer<T> satisfies it). */
export interface Cache<T> {
  get(namespace: string | undefined, name: string): T | undefined;
  list(namespace?: string): T[];
}

/** The child kinds, each with the cache that watches it. */
export const CHILD_KINDS = [
  { cache: 'deployments', apiVersion: 'apps/v1', kind: 'Deployment' },
  { cache: 'services', apiVersion: 'v1', kind: 'Service' },
  { cache: 'secrets', apiVersion: 'v1', kind: 'Secret' },
  { cache: 'serviceAccounts', apiVersion: 'v1', kind: 'ServiceAccount' },
  { cache: 'roles', apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  { cache: 'roleBindings', apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
  { cache: 'pdbs', apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
  { cache: 'networkPolicies', apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
] as const;

export type ChildCache = (typeof CHILD_KINDS)[number]['cache'];

export interface Caches extends Record<ChildCache, Cache<KubernetesObject>> {
  dbproxies: Cache<DBProxy>;
  endpointSlices: Cache<KubernetesObject>;
  /** The TokenReview ClusterRoleBindings (token-review.ts); absent where this operator does not manage them. */
  clusterRoleBindings?: Cache<KubernetesObject> | undefined;
}

export interface ApiWriter {
  applyObject(kc: KubeConfig, obj: KubernetesObject): Promise<KubernetesObject>;
  deleteObject(kc: KubeConfig, ref: ObjectRef): Promise<void>;
  applyStatus(kc: KubeConfig, obj: { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; status: DBProxyStatus }): Promise<void>;
}

export interface EventSink {
  record(involved: KubernetesObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export interface ReconcileDeps {
  kc: KubeConfig;
  log: Logger;
  caches: Caches;
  prober: Pick<TargetProber, 'sync' | 'health' | 'remove'>;
  api: ApiWriter;
  events: EventSink;
  metrics: OperatorMetrics;
  defaultImage: string;
  defaultPull?: ProxyPull | undefined;
  /** The operator's own pods, which a DBProxy's NetworkPolicy admits to the admin port. */
  operatorPeer?: OperatorPeer | undefined;
  now?: () => Date;
  /** Asks the proxy pods which config they run (pod-config.ts fetchPodConfigs); absent: not asked. */
  podConfigs?: (pods: ProxyPod[]) => Promise<PodConfigReport[]>;
  /** PodMonitors, a child kind only where the Prometheus Operator's CRDs are installed. */
  podMonitors?: Pick<PodMonitorWatch, 'refresh' | 'served' | 'list' | 'markAbsent'>;
}

export type ReconcileOutcome = { requeueAfterMs?: number } | undefined;

/** Requeue soon after a conflict: someone else wrote first, the cache will catch up. */
const CONFLICT_REQUEUE_MS = 1_000;

export async function reconcile(key: string, d: ReconcileDeps): Promise<ReconcileOutcome> {
  const [namespace = '', name = ''] = key.split('/');
  const x = d.caches.dbproxies.get(namespace, name);
  if (!x?.metadata.uid || (x.metadata as { deletionTimestamp?: unknown }).deletionTimestamp) {
    // Gone (or going): the garbage collector removes the children through their owner references,
    // all but the cluster-scoped binding, which cannot have a namespaced owner.
    d.prober.remove(key);
    d.metrics.forgetDBProxy(key);
    await deleteBindingsOf(key, d);
    return;
  }
  await d.podMonitors?.refresh();
  const pods = proxyPods(childNames(name).service, d.caches.endpointSlices.list(namespace) as EndpointSliceLike[]);
  const podConfigs = d.podConfigs ? await d.podConfigs(pods) : undefined;
  const decision = decide({ ...observe(x as Observed['dbproxy'], key, d), podConfigs });
  const log = d.log.child({ dbproxy: key });
  let status = decision.status;
  try {
    await applyActions(decision, log, d, x);
  } catch (err) {
    const e = classifyApiError(err);
    if (e.kind === 'NotFound') return; // the namespace or the DBProxy went away mid-flight
    if (e.kind === 'Conflict') return { requeueAfterMs: CONFLICT_REQUEUE_MS };
    if (e.kind !== 'Invalid' && e.kind !== 'Forbidden') throw err; // Transient, Gone: the queue backs off
    // The apiserver refuses what we send (a template override it rejects, missing RBAC): say so in status.
    status = decision.withApplyError(e.message);
    await d.events.record(x, 'Warning', 'ApplyFailed', e.message);
  }
  const statusChanged = status === decision.status ? decision.statusChanged : true;
  if (statusChanged) {
    const outcome = await writeStatus(x, status, d);
    if (outcome) return outcome;
  }
  for (const ev of decision.events) await d.events.record(x, ev.type, ev.reason, ev.message);
  d.prober.sync(key, decision.probe);
  return decision.requeueAfterMs !== undefined ? { requeueAfterMs: decision.requeueAfterMs } : undefined;
}

function observe(x: Observed['dbproxy'], key: string, d: ReconcileDeps): Observed {
  const ns = x.metadata.namespace;
  const children: KubernetesObject[] = [];
  for (const c of CHILD_KINDS) {
    for (const o of d.caches[c.cache].list(ns)) {
      const owned = o.metadata?.ownerReferences?.some((r) => r.controller && r.uid === x.metadata.uid);
      // List items carry no apiVersion/kind; plan.ts matches children by kind.
      if (owned) children.push({ ...o, apiVersion: c.apiVersion, kind: c.kind });
    }
  }
  for (const o of d.caches.clusterRoleBindings?.list() ?? []) {
    if (bindingOwner(o)?.uid === x.metadata.uid) children.push({ ...o, apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding' });
  }
  for (const o of d.podMonitors?.list(ns) ?? []) {
    const owned = o.metadata?.ownerReferences?.some((r) => r.controller && r.uid === x.metadata.uid);
    if (owned) children.push({ ...o, apiVersion: POD_MONITOR.apiVersion, kind: POD_MONITOR.kind });
  }
  return {
    dbproxy: x,
    children,
    secret: (n) => d.caches.secrets.get(ns, n) as ReturnType<Observed['secret']>,
    endpointSlices: d.caches.endpointSlices.list(ns) as EndpointSliceLike[],
    health: (e) => d.prober.health(key, e),
    now: (d.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    defaultImage: d.defaultImage,
    defaultPull: d.defaultPull,
    operatorPeer: d.operatorPeer,
    podMonitorsServed: d.podMonitors?.served,
    tokenReviewBindings: d.caches.clusterRoleBindings !== undefined,
  };
}

/** The bindings a DBProxy that is gone left behind (under any uid: an old incarnation's too). */
async function deleteBindingsOf(key: string, d: ReconcileDeps): Promise<void> {
  for (const o of d.caches.clusterRoleBindings?.list() ?? []) {
    if (bindingOwner(o)?.key !== key) continue;
    const name = o.metadata?.name ?? '';
    d.log.info({ dbproxy: key, kind: 'ClusterRoleBinding', name }, 'delete binding of a deleted DBProxy');
    await d.api.deleteObject(d.kc, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name });
  }
}

async function applyActions(decision: Decision, log: Logger, d: ReconcileDeps, x: DBProxy): Promise<void> {
  for (const a of decision.actions as Action[]) {
    if (a.type === 'nothing') continue;
    if (a.type === 'delete') {
      log.info({ action: a.type, kind: a.ref.kind, name: a.ref.name, reason: a.reason }, 'delete child');
      await d.api.deleteObject(d.kc, a.ref);
      continue;
    }
    log.info({ action: a.type, kind: a.object.kind, name: a.object.metadata?.name, reason: a.reason }, 'apply child');
    if (a.object.kind === POD_MONITOR.kind) await applyPodMonitor(a.object, x, d);
    else if (a.object.kind === NETWORK_POLICY.kind) await d.api.applyObject(d.kc, forTypedSerializer(a.object as Obj));
    else await d.api.applyObject(d.kc, a.object);
  }
}

/** A PodMonitor whose kind is not served is not an apply failure: an Event says so, the rest goes on. */
async function applyPodMonitor(object: KubernetesObject, x: DBProxy, d: ReconcileDeps): Promise<void> {
  try {
    await d.api.applyObject(d.kc, object);
  } catch (err) {
    if (!kindNotServed(err)) throw err;
    d.podMonitors?.markAbsent();
    const e = unavailableEvent(classifyApiError(err).message);
    await d.events.record(x, e.type, e.reason, e.message);
  }
}

async function writeStatus(x: DBProxy, status: DBProxyStatus, d: ReconcileDeps): Promise<ReconcileOutcome> {
  try {
    await d.api.applyStatus(d.kc, { apiVersion: API_VERSION, kind: KIND, metadata: { name: x.metadata.name, namespace: x.metadata.namespace }, status });
    return undefined;
  } catch (err) {
    const e = classifyApiError(err);
    if (e.kind === 'NotFound') return {};
    if (e.kind === 'Conflict') return { requeueAfterMs: CONFLICT_REQUEUE_MS };
    throw err;
  }
}
