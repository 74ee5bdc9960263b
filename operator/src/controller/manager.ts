/**
 * The controller while this replica leads: informers feeding a keyed work queue, the prober, and
 * reconcile. Least privilege in memory: the only Secrets the operator caches are its own children
 * (by the managed-by label) and, each through a watch of its own (fieldSelector metadata.name), the
 * Secrets a DBProxy references (secret-watches.ts) — never every Secret of a namespace. Every
 * informer runs per watched namespace (--watch-namespaces), or cluster-wide when none is given.
 */
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { DBProxy } from '../api/v1alpha1/schema.js';
import { GROUP, PLURAL, VERSION } from '../api/v1alpha1/schema.js';
import type { OperatorMetrics } from '../metrics.js';
import { applyObject, applyStatus, deleteObject } from '../runtime/apply.js';
import { EventRecorder } from '../runtime/events.js';
import { Informer } from '../../../contract/kube/informer.js';
import { HttpStatusError, getJson } from '../../../contract/kube/request.js';
import { WorkQueue } from '../runtime/workqueue.js';
import { ADMIN_PORT, MANAGED_BY_SELECTOR, MANAGER, controllerOf } from './names.js';
import { fetchPodConfigs } from './pod-config.js';
import { POD_MONITOR, servesPodMonitors } from './pod-monitor.js';
import { PodMonitorWatch } from './pod-monitor-watch.js';
import { TargetProber } from './prober.js';
import type { ProxyPull } from './desired.js';
import type { OperatorPeer } from './network-policy.js';
import { NamespacesInformer, collectionPath } from './namespaces-informer.js';
import { reconcile, type Cache, type Caches, type ReconcileDeps } from './reconcile.js';
import { dbproxiesForSlice, keyOf, referencedSecrets } from './refs.js';
import { SecretWatches } from './secret-watches.js';
import { bindingOwner } from './token-review.js';

export interface ControllerOptions {
  kc: KubeConfig;
  log: Logger;
  metrics: OperatorMetrics;
  defaultImage: string;
  defaultPull?: ProxyPull | undefined;
  /** The namespaces watched; empty for all. */
  watchNamespaces: readonly string[];
  /** The operator's own pods, admitted by every DBProxy NetworkPolicy to the admin port. */
  operatorPeer?: OperatorPeer | undefined;
  /** Create each spec.kubernetesAuth DBProxy's TokenReview ClusterRoleBinding (token-review.ts). */
  tokenReviewBindings: boolean;
  concurrency?: number;
  resyncMs?: number;
}

export interface RunningController {
  stop(): Promise<void>;
  queueLength(): number;
  synced(): boolean;
  /** The Secrets watched one by one (namespace/name): exactly those some DBProxy references. */
  watchedSecrets(): string[];
}

export async function startController(o: ControllerOptions): Promise<RunningController> {
  const { kc, log, watchNamespaces: namespaces } = o;
  const resyncMs = o.resyncMs ?? 5 * 60_000;
  const informer = <T extends KubernetesObject>(group: string, version: string, plural: string, labelSelector?: string) =>
    new NamespacesInformer<T>({ kc, group, version, plural, namespaces, resyncMs, log: log.child({ informer: plural }), labelSelector });

  const caches = {
    dbproxies: informer<DBProxy & KubernetesObject>(GROUP, VERSION, PLURAL),
    deployments: informer('apps', 'v1', 'deployments', MANAGED_BY_SELECTOR),
    services: informer('', 'v1', 'services', MANAGED_BY_SELECTOR),
    // Only the operator's own Secrets (the config Secret, …); referenced ones come from secretWatches.
    ownSecrets: informer('', 'v1', 'secrets', MANAGED_BY_SELECTOR),
    serviceAccounts: informer('', 'v1', 'serviceaccounts', MANAGED_BY_SELECTOR),
    roles: informer('rbac.authorization.k8s.io', 'v1', 'roles', MANAGED_BY_SELECTOR),
    roleBindings: informer('rbac.authorization.k8s.io', 'v1', 'rolebindings', MANAGED_BY_SELECTOR),
    pdbs: informer('policy', 'v1', 'poddisruptionbudgets', MANAGED_BY_SELECTOR),
    networkPolicies: informer('networking.k8s.io', 'v1', 'networkpolicies', MANAGED_BY_SELECTOR),
    endpointSlices: informer('discovery.k8s.io', 'v1', 'endpointslices'),
  };

  const queue = new WorkQueue({
    baseDelayMs: 500,
    maxDelayMs: 60_000,
    onError: (key, err, n) => log.warn({ dbproxy: key, err, failures: n }, 'reconcile failed; retrying with backoff'),
  });
  const add = (key: string | undefined) => key && queue.add(key);
  const prober = new TargetProber({
    log: log.child({ component: 'prober' }),
    onChange: add,
    onHealth: (key, h) => o.metrics.setTargetUp(key, h.endpoint, h.state === 'AVAILABLE'),
  });

  const dbp = caches.dbproxies;
  const onDBProxy = (x: DBProxy) => add(keyOf(x));
  dbp.onAdd(onDBProxy);
  dbp.onUpdate(onDBProxy);
  dbp.onResync(onDBProxy);
  dbp.onDelete(onDBProxy); // reconcile sees it gone and stops probing it

  const onChild = (c: KubernetesObject) => add(controllerOf(c));
  const childInformers = [
    caches.deployments,
    caches.services,
    caches.ownSecrets,
    caches.serviceAccounts,
    caches.roles,
    caches.roleBindings,
    caches.pdbs,
    caches.networkPolicies,
  ];
  for (const inf of childInformers) {
    inf.onAdd(onChild);
    inf.onUpdate(onChild);
    inf.onDelete(onChild);
  }
  const secretWatches = new SecretWatches({
    makeInformer: (ns, name) =>
      new Informer({
        kc,
        path: collectionPath('', 'v1', 'secrets', ns),
        fieldSelector: `metadata.name=${name}`,
        log: log.child({ informer: 'secret', secret: `${ns}/${name}` }),
      }),
    onChange: (keys) => keys.forEach(add),
  });
  // What reconcile reads as `secrets`: the children for plan.ts (list), referenced ones first for lookups.
  const secrets: Cache<KubernetesObject> = {
    get: (ns, name) => (secretWatches.get(ns, name) as KubernetesObject | undefined) ?? caches.ownSecrets.get(ns, name),
    list: (ns) => caches.ownSecrets.list(ns),
  };
  // Cluster-scoped: one informer whatever the watched namespaces; a binding counts only if its DBProxy is watched.
  const bindingsInformer = o.tokenReviewBindings
    ? new Informer<KubernetesObject>({
        kc,
        path: collectionPath('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', undefined),
        labelSelector: MANAGED_BY_SELECTOR,
        resyncMs,
        log: log.child({ informer: 'clusterrolebindings' }),
      })
    : undefined;
  const watched = (b: KubernetesObject) => {
    const owner = bindingOwner(b);
    return owner && (namespaces.length === 0 || namespaces.includes(owner.namespace)) ? owner.key : undefined;
  };
  const clusterRoleBindings: Cache<KubernetesObject> | undefined = bindingsInformer && {
    get: (_ns, name) => [bindingsInformer.get(undefined, name)].find((b) => b && watched(b)),
    list: () => bindingsInformer.list().filter((b) => watched(b) !== undefined),
  };
  // A binding whose DBProxy is gone (deleted while no operator ran) is found on the first list and removed.
  const onBinding = (b: KubernetesObject) => add(watched(b));
  for (const on of ['onAdd', 'onUpdate', 'onDelete', 'onResync'] as const) bindingsInformer?.[on](onBinding);

  const onSlice = (s: KubernetesObject) => dbproxiesForSlice(s, dbp.list(s.metadata?.namespace)).forEach(add);
  caches.endpointSlices.onAdd(onSlice);
  caches.endpointSlices.onUpdate(onSlice);
  caches.endpointSlices.onDelete(onSlice);

  // Not among `all`: it starts only where the kind is served, and nothing waits for it.
  const podMonitors = new PodMonitorWatch({
    discover: () => discoverPodMonitors(kc),
    makeInformer: () => informer(POD_MONITOR.group, POD_MONITOR.version, POD_MONITOR.plural, MANAGED_BY_SELECTOR),
    onChange: onChild,
    onSynced: () => dbp.list().forEach((x) => add(keyOf(x))),
    log: log.child({ component: 'podmonitors' }),
  });

  const all = [...Object.values(caches), ...(bindingsInformer ? [bindingsInformer] : [])];
  await Promise.all(all.map((i) => i.start()));
  log.info({ namespaces: namespaces.length ? namespaces : '(all)' }, 'caches synced; reconciling');

  const deps: ReconcileDeps = {
    kc,
    log,
    caches: { ...caches, secrets, clusterRoleBindings } as unknown as Caches,
    prober,
    api: { applyObject, applyStatus, deleteObject },
    events: new EventRecorder(kc, MANAGER),
    metrics: o.metrics,
    defaultImage: o.defaultImage,
    defaultPull: o.defaultPull,
    operatorPeer: o.operatorPeer,
    podMonitors,
    podConfigs: (pods) => fetchPodConfigs(pods, ADMIN_PORT),
  };
  queue.run(async (key) => {
    const end = o.metrics.reconcileDuration.startTimer();
    try {
      await trackSecrets(key);
      const r = await reconcile(key, deps);
      o.metrics.reconcileTotal.inc({ result: r?.requeueAfterMs !== undefined ? 'requeue' : 'success' });
      return r;
    } catch (err) {
      o.metrics.reconcileTotal.inc({ result: 'error' });
      throw err;
    } finally {
      end();
    }
  }, o.concurrency ?? 4);
  for (const x of dbp.list()) add(keyOf(x));

  /** Before a reconcile: watch exactly the Secrets the DBProxy now references (none once it is gone). */
  async function trackSecrets(key: string): Promise<void> {
    const [ns = '', name = ''] = key.split('/');
    const x = dbp.get(ns, name);
    if (!x || (x.metadata as { deletionTimestamp?: unknown }).deletionTimestamp) return secretWatches.untrack(key);
    await secretWatches.track(key, ns, referencedSecrets(x));
  }

  return {
    async stop() {
      prober.stopAll();
      podMonitors.stop();
      secretWatches.stop();
      for (const i of all) i.stop();
      await queue.shutdown();
    },
    queueLength: () => queue.length(),
    synced: () => all.every((i) => i.hasSynced()),
    watchedSecrets: () => secretWatches.watched(),
  };
}

/** Discovery: does monitoring.coreos.com/v1 exist and list podmonitors? (404: the group is not served.) */
async function discoverPodMonitors(kc: KubeConfig): Promise<boolean> {
  try {
    return servesPodMonitors(await getJson(kc, `/apis/${POD_MONITOR.apiVersion}`, {}, 10_000));
  } catch (err) {
    if (err instanceof HttpStatusError && err.code === 404) return false;
    throw err;
  }
}
