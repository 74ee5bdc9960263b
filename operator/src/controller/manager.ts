/**
 * The controller while this replica leads: informers feeding a keyed work queue, the prober, and
 * reconcile. Secrets are watched in every watched namespace (not only the operator's children),
 * because a change to an `auth` Secret must re-render the config; that is the simplest correct choice
 * and needs list/watch on Secrets cluster-wide (or in --watch-namespace).
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
import { reconcile, type Caches, type ReconcileDeps } from './reconcile.js';
import { dbproxiesForSlice, keyOf, referencesSecret } from './refs.js';

export interface ControllerOptions {
  kc: KubeConfig;
  log: Logger;
  metrics: OperatorMetrics;
  defaultImage: string;
  defaultPull?: ProxyPull | undefined;
  /** One namespace, or undefined for all. */
  watchNamespace: string | undefined;
  concurrency?: number;
  resyncMs?: number;
}

export interface RunningController {
  stop(): Promise<void>;
  queueLength(): number;
  synced(): boolean;
}

function path(group: string, version: string, plural: string, ns: string | undefined): string {
  const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  return ns ? `${base}/namespaces/${ns}/${plural}` : `${base}/${plural}`;
}

export async function startController(o: ControllerOptions): Promise<RunningController> {
  const { kc, log, watchNamespace: ns } = o;
  const resyncMs = o.resyncMs ?? 5 * 60_000;
  const informer = <T extends KubernetesObject>(group: string, version: string, plural: string, labelSelector?: string) =>
    new Informer<T>({
      kc,
      path: path(group, version, plural, ns),
      resyncMs,
      log: log.child({ informer: plural }),
      ...(labelSelector ? { labelSelector } : {}),
    });

  const caches = {
    dbproxies: informer<DBProxy & KubernetesObject>(GROUP, VERSION, PLURAL),
    deployments: informer('apps', 'v1', 'deployments', MANAGED_BY_SELECTOR),
    services: informer('', 'v1', 'services', MANAGED_BY_SELECTOR),
    secrets: informer('', 'v1', 'secrets'),
    serviceAccounts: informer('', 'v1', 'serviceaccounts', MANAGED_BY_SELECTOR),
    roles: informer('rbac.authorization.k8s.io', 'v1', 'roles', MANAGED_BY_SELECTOR),
    roleBindings: informer('rbac.authorization.k8s.io', 'v1', 'rolebindings', MANAGED_BY_SELECTOR),
    pdbs: informer('policy', 'v1', 'poddisruptionbudgets', MANAGED_BY_SELECTOR),
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
  for (const inf of [caches.deployments, caches.services, caches.serviceAccounts, caches.roles, caches.roleBindings, caches.pdbs]) {
    inf.onAdd(onChild);
    inf.onUpdate(onChild);
    inf.onDelete(onChild);
  }
  const onSecret = (s: KubernetesObject) => {
    const owner = controllerOf(s);
    if (owner) return add(owner);
    const ns = s.metadata?.namespace;
    for (const x of dbp.list(ns)) if (referencesSecret(x, s.metadata?.name ?? '')) add(keyOf(x));
  };
  caches.secrets.onAdd(onSecret);
  caches.secrets.onUpdate(onSecret);
  caches.secrets.onDelete(onSecret);
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

  const all = Object.values(caches);
  await Promise.all(all.map((i) => i.start()));
  log.info({ namespace: ns ?? '(all)' }, 'caches synced; reconciling');

  const deps: ReconcileDeps = {
    kc,
    log,
    caches: caches as unknown as Caches,
    prober,
    api: { applyObject, applyStatus, deleteObject },
    events: new EventRecorder(kc, MANAGER),
    metrics: o.metrics,
    defaultImage: o.defaultImage,
    defaultPull: o.defaultPull,
    podMonitors,
    podConfigs: (pods) => fetchPodConfigs(pods, ADMIN_PORT),
  };
  queue.run(async (key) => {
    const end = o.metrics.reconcileDuration.startTimer();
    try {
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

  return {
    async stop() {
      prober.stopAll();
      podMonitors.stop();
      for (const i of all) i.stop();
      await queue.shutdown();
    },
    queueLength: () => queue.length(),
    synced: () => all.every((i) => i.hasSynced()),
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
