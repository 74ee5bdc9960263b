/**
 * The controller runtime (operator/src/runtime) against the real local kube-apiserver: informer
 * add/update/delete, forced and silent watch connections, 410 relist, server-side apply, status
 * apply, delete, leader election on a Lease, Events.
 * Broken connections are made real with a loopback TCP relay between the client and the apiserver.
 */
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { KubeConfig, KubernetesObjectApi, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { describeOnPlane } from './support/plane.js';
import { applyObject, applyStatus, deleteObject } from '../../operator/src/runtime/apply.js';
import { classifyApiError } from '../../contract/kube/errors.js';
import { EventRecorder } from '../../operator/src/runtime/events.js';
import { Informer, type InformerOptions } from '../../contract/kube/informer.js';
import { LeaderElector } from '../../operator/src/runtime/leader.js';
import { microTime } from '../../operator/src/runtime/lease.js';
import { getJson } from '../../contract/kube/request.js';
import { createNamespace, deleteNamespace } from './support/namespace.js';
import { waitFor } from './support/wait.js';

const log = pino({ level: process.env['E2E_LOG_LEVEL'] ?? 'silent' });

/** A TCP relay to the apiserver that can cut (RST) or freeze (stop forwarding) its connections. */
class Relay {
  private readonly pairs = new Set<{ a: net.Socket; b: net.Socket }>();
  private server!: net.Server;
  connections = 0;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = net.createServer((a) => {
      this.connections++;
      const b = net.connect(this.target.port, this.target.host);
      const pair = { a, b };
      this.pairs.add(pair);
      a.pipe(b);
      b.pipe(a);
      const drop = () => {
        this.pairs.delete(pair);
        a.destroy();
        b.destroy();
      };
      a.on('error', drop).on('close', drop);
      b.on('error', drop).on('close', drop);
    });
    // On the apiserver's own address: its serving certificate names that address, not loopback.
    await new Promise<void>((r) => this.server.listen(0, this.target.host, r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** Resets every open connection, as a restarting apiserver or a load balancer would. */
  cut(): void {
    for (const { a, b } of this.pairs) {
      a.resetAndDestroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  /** Open connections stay open but carry nothing more (a dead NAT entry); new ones work. */
  freeze(): void {
    for (const { a, b } of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise((r) => this.server.close(r));
  }
}

/** Counts relists, which is how a 410 shows from outside. */
class ProbedInformer<T extends KubernetesObject> extends Informer<T> {
  relists = 0;
  protected override async relist(): Promise<void> {
    this.relists++;
    await super.relist();
  }
}

/** The etcd of the apiserver in `kc` (read from that apiserver's command line on this machine). */
function etcdUrl(kc: KubeConfig): string {
  const port = new URL(kc.getCurrentCluster()!.server).port;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!args[0]?.endsWith('kube-apiserver') || !args.includes(`--secure-port=${port}`)) continue;
    const flag = args.find((a) => a.startsWith('--etcd-servers='));
    if (flag) return flag.slice('--etcd-servers='.length).split(',')[0]!;
  }
  throw new Error(`no local kube-apiserver on port ${port}`);
}

/** Compacts etcd's history up to now through its JSON gateway, as the apiserver does every 5 min. */
async function compactEtcd(kc: KubeConfig): Promise<void> {
  const base = etcdUrl(kc);
  const range = (await (await fetch(`${base}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64') }) })).json()) as {
    header: { revision: string };
  };
  const res = await fetch(`${base}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: range.header.revision, physical: true }) });
  const text = await res.text();
  // Compacting at a revision already compacted (nothing written since) is fine for our purpose.
  if (!res.ok && !text.includes('has been compacted')) throw new Error(`etcd compaction failed: ${res.status} ${text}`);
}

function viaRelay(kc: KubeConfig, relay: Relay): KubeConfig {
  const cluster = kc.getCurrentCluster()!;
  const user = kc.getCurrentUser()!;
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: [{ ...cluster, name: 'relay', server: `https://${new URL(cluster.server).hostname}:${relay.port}` }],
    users: [user],
    contexts: [{ name: 'relay', cluster: 'relay', user: user.name }],
    currentContext: 'relay',
  });
  return out;
}

function recorder<T extends KubernetesObject>(inf: Informer<T>) {
  const seen: string[] = [];
  const name = (o: T) => o.metadata?.name ?? '?';
  inf.onAdd((o) => seen.push(`add ${name(o)}`));
  inf.onUpdate((o) => seen.push(`update ${name(o)} ${(o as V1ConfigMap).data?.['v'] ?? ''}`));
  inf.onDelete((o) => seen.push(`delete ${name(o)}`));
  return seen;
}

let kc: KubeConfig;
let ns: string;
let objects: KubernetesObjectApi;
const stoppers: Array<() => unknown> = [];

const configMap = (name: string, v: string, labels: Record<string, string> = { app: 'rt' }): V1ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, labels },
  data: { v },
});

beforeAll(async () => {
  kc = new KubeConfig();
  kc.loadFromFile(inject('kubeconfig'));
  objects = KubernetesObjectApi.makeApiClient(kc);
  ns = await createNamespace('rt');
});

afterAll(async () => {
  for (const s of stoppers.reverse()) await s();
  await deleteNamespace(ns);
});

function informer<T extends KubernetesObject>(opts: Partial<InformerOptions>): Informer<T> {
  const inf = new Informer<T>({ kc, path: `/api/v1/namespaces/${ns}/configmaps`, labelSelector: 'app=rt', log, ...opts });
  stoppers.push(() => inf.stop());
  return inf;
}

describeOnPlane('Informer', () => {
  it('lists existing objects, then sees adds, updates and deletes', async () => {
    await applyObject(kc, configMap('pre', '1'));
    await applyObject(kc, configMap('other-label', '1', { app: 'not-rt' }));
    const inf = informer<V1ConfigMap>({});
    const seen = recorder(inf);
    await inf.start();
    expect(inf.hasSynced()).toBe(true);
    expect(inf.get(ns, 'pre')?.data).toEqual({ v: '1' });
    expect(inf.get(ns, 'pre')?.kind).toBe('ConfigMap');
    expect(inf.get(ns, 'other-label')).toBeUndefined();
    expect(seen).toEqual(['add pre']);

    await applyObject(kc, configMap('a', '1'));
    await applyObject(kc, configMap('a', '2'));
    await deleteObject(kc, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'a' });
    await waitFor('add, update, delete of a', async () => seen.includes('delete a'), 30_000, 100);
    expect(seen).toEqual(['add pre', 'add a', 'update a 2', 'delete a']);
    expect(inf.list(ns).map((o) => o.metadata?.name)).toEqual(['pre']);
    expect(inf.list('elsewhere')).toEqual([]);
    await deleteObject(kc, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'pre' });
    await waitFor('delete pre', async () => inf.get(ns, 'pre') === undefined, 30_000, 100);
  });

  it('keeps watching across server-side watch timeouts', async () => {
    const inf = informer<V1ConfigMap>({ watchTimeoutSeconds: 1 });
    const seen = recorder(inf);
    await inf.start();
    for (const v of ['1', '2', '3']) {
      await applyObject(kc, configMap('timeouts', v));
      await waitFor(`update to ${v}`, async () => inf.get(ns, 'timeouts')?.data?.['v'] === v, 30_000, 100);
      await new Promise((r) => setTimeout(r, 1_500)); // let the server close the watch at least once
    }
    expect(seen.filter((s) => s.includes('timeouts'))).toEqual(['add timeouts', 'update timeouts 2', 'update timeouts 3']);
  });

  it('re-watches after its connection is reset', async () => {
    const cluster = new URL(kc.getCurrentCluster()!.server);
    const relay = new Relay({ host: cluster.hostname, port: Number(cluster.port) });
    await relay.start();
    stoppers.push(() => relay.stop());
    const inf = informer<V1ConfigMap>({ kc: viaRelay(kc, relay) });
    const seen = recorder(inf);
    await inf.start();
    await applyObject(kc, configMap('before-cut', '1'));
    await waitFor('the watch to deliver', async () => seen.includes('add before-cut'), 30_000, 50);
    const before = relay.connections;
    relay.cut();
    await applyObject(kc, configMap('after-cut', '1'));
    await waitFor('the add made after the cut', async () => seen.includes('add after-cut'), 60_000, 100);
    expect(relay.connections).toBeGreaterThan(before);
  });

  it('abandons a watch that went silent (watchdog) and catches up', async () => {
    const cluster = new URL(kc.getCurrentCluster()!.server);
    const relay = new Relay({ host: cluster.hostname, port: Number(cluster.port) });
    await relay.start();
    stoppers.push(() => relay.stop());
    // Without the watchdog a frozen connection would never deliver the change below.
    const inf = informer<V1ConfigMap>({ kc: viaRelay(kc, relay), watchTimeoutSeconds: 600, staleAfterMs: 2_000 });
    const seen = recorder(inf);
    await inf.start();
    // A change seen through the watch proves the watch is connected before we freeze it.
    await applyObject(kc, configMap('before-freeze', '1'));
    await waitFor('the watch to deliver', async () => seen.includes('add before-freeze'), 30_000, 50);
    relay.freeze();
    await applyObject(kc, configMap('after-freeze', '1'));
    await waitFor('the add made while the watch was frozen', async () => seen.includes('add after-freeze'), 60_000, 100);
  });

  it('relists after 410 Gone when its resourceVersion was compacted away while the watch was down', async () => {
    // Events have no watch cache in kube-apiserver, so a watch from a compacted revision reaches
    // etcd and comes back 410 Gone, as for any resource after a long disconnect.
    const cluster = new URL(kc.getCurrentCluster()!.server);
    const relay = new Relay({ host: cluster.hostname, port: Number(cluster.port) });
    await relay.start();
    stoppers.push(() => relay.stop());
    const recorderApi = new EventRecorder(kc, 'runtime-e2e', log);
    const involved = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, uid: name } });
    await recorderApi.record(involved('gone-1'), 'Normal', 'Before', 'listed');
    const inf = new ProbedInformer<KubernetesObject & { reason?: string }>({
      kc: viaRelay(kc, relay),
      path: `/api/v1/namespaces/${ns}/events`,
      log,
      staleAfterMs: 2_000,
    });
    stoppers.push(() => inf.stop());
    await inf.start();
    expect(inf.relists).toBe(1);
    expect(inf.list().map((e) => e.reason)).toEqual(['Before']);
    // A change seen through the watch proves the watch is connected before we freeze it.
    await recorderApi.record(involved('warm'), 'Normal', 'Warmup', 'seen through the watch');
    await waitFor('the watch to deliver', async () => inf.list().some((e) => e.reason === 'Warmup'), 30_000, 50);
    expect(inf.relists).toBe(1);
    // The live watch goes silent; meanwhile things change and etcd compacts its history.
    relay.freeze();
    await recorderApi.record(involved('gone-2'), 'Normal', 'During', 'made while the watch was frozen');
    // One more write, so the compaction revision lies past the 'During' event and it is gone too.
    await applyObject(kc, configMap('bump', '1', { app: 'not-rt' }));
    await compactEtcd(kc);
    await waitFor('a relist after 410', async () => inf.relists >= 2 && inf.list().some((e) => e.reason === 'During'), 60_000, 100);
  });

  it('a watch from a compacted resourceVersion gets 410 Gone from the apiserver (what the test above relies on)', async () => {
    const { Watch } = await import('@kubernetes/client-node');
    await compactEtcd(kc);
    const events: Array<{ type: string; object: { code?: number } }> = [];
    let doneErr: unknown;
    await new Promise<void>((resolve) => {
      void new Watch(kc).watch(
        `/api/v1/namespaces/${ns}/events`,
        { resourceVersion: '2', timeoutSeconds: 5 },
        (type, object) => events.push({ type, object }),
        (err) => {
          doneErr = err;
          resolve();
        },
      );
    });
    const gone = events[0]?.type === 'ERROR' ? classifyApiError(events[0].object) : classifyApiError(doneErr);
    expect(gone.kind).toBe('Gone');
  });

  it('calls onResync for cached objects periodically', async () => {
    await applyObject(kc, configMap('resync', '1'));
    const inf = informer<V1ConfigMap>({ resyncMs: 300 });
    const resynced: string[] = [];
    inf.onResync((o) => resynced.push(o.metadata!.name!));
    await inf.start();
    await waitFor('two resyncs', async () => resynced.filter((n) => n === 'resync').length >= 2, 30_000, 100);
  });

  it('keeps retrying a list it is not allowed to make, and reports it', async () => {
    const cluster = kc.getCurrentCluster()!;
    const anon = new KubeConfig();
    anon.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'nobody', token: 'not-a-valid-token' }],
      contexts: [{ name: 'c', cluster: cluster.name, user: 'nobody' }],
      currentContext: 'c',
    });
    const inf = informer<V1ConfigMap>({ kc: anon });
    const errors: Error[] = [];
    inf.onError((e) => errors.push(e));
    void inf.start();
    await waitFor('two reported list failures', async () => errors.length >= 2, 30_000, 100);
    expect(inf.hasSynced()).toBe(false);
    expect(errors[0]!.message).toMatch(/configmaps/);
  });
});

describeOnPlane('server-side apply', () => {
  it('creates, then is a no-op the second time, then changes only on a real difference', async () => {
    const first = await applyObject(kc, configMap('ssa', 'x'));
    const rv1 = first.metadata?.resourceVersion;
    expect(rv1).toBeTruthy();
    const second = await applyObject(kc, configMap('ssa', 'x'));
    expect(second.metadata?.resourceVersion).toBe(rv1);
    const managers = (second.metadata?.managedFields ?? []).map((m) => m.manager);
    expect(managers).toEqual(['dbproxy-operator']);
    const third = await applyObject(kc, configMap('ssa', 'y'));
    expect(third.metadata?.resourceVersion).not.toBe(rv1);
    // A stale resourceVersion and managedFields from a read object must not break the apply.
    const again = await applyObject(kc, { ...third, data: { v: 'y' } });
    expect(again.metadata?.resourceVersion).toBe(third.metadata?.resourceVersion);
  });

  it('applies status through the status subresource of a custom resource', async () => {
    const crdName = 'rtwidgets.runtime-e2e.dbproxy.io';
    await applyObject(kc, {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: crdName },
      spec: {
        group: 'runtime-e2e.dbproxy.io',
        names: { kind: 'RtWidget', plural: 'rtwidgets', singular: 'rtwidget', listKind: 'RtWidgetList' },
        scope: 'Namespaced',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: { type: 'object', properties: { size: { type: 'integer' } } },
                  status: { type: 'object', properties: { ready: { type: 'boolean' }, observedGeneration: { type: 'integer' } } },
                },
              },
            },
          },
        ],
      },
    } as KubernetesObject);
    stoppers.push(() => deleteObject(kc, { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: crdName }));
    const widget = { apiVersion: 'runtime-e2e.dbproxy.io/v1', kind: 'RtWidget', metadata: { name: 'w', namespace: ns } };
    // The new kind is served shortly after the CRD is Established.
    await waitFor('the CRD to serve', async () => applyObject(kc, { ...widget, spec: { size: 1 } } as KubernetesObject), 60_000, 500);
    // Spec sent along with status is ignored by the status subresource; only status changes.
    await applyStatus(kc, { ...widget, status: { ready: true, observedGeneration: 1 } });
    const read = await getJson<{ spec: { size: number }; status: { ready: boolean; observedGeneration: number } }>(
      kc,
      `/apis/runtime-e2e.dbproxy.io/v1/namespaces/${ns}/rtwidgets/w`,
      {},
    );
    expect(read.status).toEqual({ ready: true, observedGeneration: 1 });
    expect(read.spec).toEqual({ size: 1 });
  });

  it('deleteObject removes an object and treats NotFound as done', async () => {
    await applyObject(kc, configMap('doomed', '1'));
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'doomed' };
    await deleteObject(kc, ref);
    await deleteObject(kc, ref);
    const err = await objects.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'doomed', namespace: ns } }).catch((e: unknown) => e);
    expect(classifyApiError(err).kind).toBe('NotFound');
  });

  it('errors classify: Invalid for a bad object', async () => {
    const err = await applyObject(kc, { ...configMap('Bad_Name', '1') }).catch((e: unknown) => e);
    const e = classifyApiError(err);
    expect(e.kind).toBe('Invalid');
    expect([400, 422]).toContain(e.status);
    expect(e.message).toMatch(/Bad_Name/);
  });
});

describeOnPlane('LeaderElector', () => {
  it('lets exactly one of two candidates lead, and hands over when the leader stops', async () => {
    const leading = new Set<string>();
    let overlap = false;
    const signals = new Map<string, AbortSignal>();
    const stoppedLeading: string[] = [];
    const electors = ['a', 'b'].map((id) => {
      const e = new LeaderElector({
        kc,
        namespace: ns,
        name: 'rt-lease',
        identity: id,
        leaseDurationMs: 4_000,
        renewDeadlineMs: 3_000,
        retryPeriodMs: 500,
        log,
      });
      stoppers.push(() => e.stop());
      void e.run({
        onStartedLeading: (signal) => {
          leading.add(id);
          if (leading.size > 1) overlap = true;
          signals.set(id, signal);
        },
        onStoppedLeading: () => {
          leading.delete(id);
          stoppedLeading.push(id);
        },
      });
      return { id, e };
    });
    const first = await waitFor('a leader', async () => electors.find((x) => x.e.isLeader()), 30_000, 100);
    const other = electors.find((x) => x !== first)!;
    // Several renew periods: the standby must stay a standby.
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 500));
      expect(other.e.isLeader()).toBe(false);
      expect(first.e.isLeader()).toBe(true);
    }
    const lease = await getJson<{ spec: { holderIdentity: string; renewTime: string; acquireTime: string; leaseTransitions: number } }>(
      kc,
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/rt-lease`,
      {},
    );
    expect(lease.spec.holderIdentity).toBe(first.id);
    expect(lease.spec.renewTime).toMatch(/\.\d{6}Z$/);
    expect(lease.spec.acquireTime).toMatch(/\.\d{6}Z$/);

    await first.e.stop();
    expect(first.e.isLeader()).toBe(false);
    expect(signals.get(first.id)?.aborted).toBe(true);
    expect(stoppedLeading).toEqual([first.id]);
    const released = await getJson<{ spec: { holderIdentity?: string } }>(kc, `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/rt-lease`, {});
    expect(released.spec.holderIdentity).not.toBe(first.id);

    await waitFor('the standby to take over', async () => other.e.isLeader(), 30_000, 100);
    const taken = await getJson<{ spec: { holderIdentity: string; leaseTransitions: number } }>(
      kc,
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/rt-lease`,
      {},
    );
    expect(taken.spec.holderIdentity).toBe(other.id);
    expect(taken.spec.leaseTransitions).toBe(lease.spec.leaseTransitions + 1);
    expect(overlap).toBe(false);
  });

  it('a standby waits out the lease of a leader that vanished without releasing it', async () => {
    // A crashed leader leaves its Lease as it last renewed it.
    await applyObject(kc, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'ghost-lease', namespace: ns },
      spec: { holderIdentity: 'ghost', leaseDurationSeconds: 3, renewTime: microTime(Date.now()), acquireTime: microTime(Date.now()), leaseTransitions: 0 },
    } as KubernetesObject);
    const heir = new LeaderElector({
      kc,
      namespace: ns,
      name: 'ghost-lease',
      identity: 'heir',
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 500,
      log,
    });
    stoppers.push(() => heir.stop());
    void heir.run({ onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(heir.isLeader()).toBe(false); // not expired yet by the heir's own observation
    await waitFor('the heir to take the expired lease', async () => heir.isLeader(), 30_000, 100);
    const taken = await getJson<{ spec: { holderIdentity: string; leaseTransitions: number } }>(
      kc,
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/ghost-lease`,
      {},
    );
    expect(taken.spec).toMatchObject({ holderIdentity: 'heir', leaseTransitions: 1 });
  });
});

describeOnPlane('EventRecorder', () => {
  it('records an Event and bumps its count on a repeat', async () => {
    const involved = await applyObject(kc, configMap('evented', '1'));
    const rec = new EventRecorder(kc, 'dbproxy-operator', log);
    await rec.record(involved, 'Warning', 'TargetUnavailable', 'no writer among 2 targets');
    await rec.record(involved, 'Warning', 'TargetUnavailable', 'no writer among 2 targets');
    await rec.record(involved, 'Normal', 'TargetChanged', 'writer is now 127.0.0.1:5433');
    const list = await getJson<{
      items: Array<{ reason: string; count: number; type: string; source: { component: string }; involvedObject: { uid: string } }>;
    }>(kc, `/api/v1/namespaces/${ns}/events`, { fieldSelector: 'involvedObject.name=evented' });
    const byReason = Object.fromEntries(list.items.map((e) => [e.reason, e]));
    expect(list.items).toHaveLength(2);
    expect(byReason['TargetUnavailable']).toMatchObject({
      count: 2,
      type: 'Warning',
      source: { component: 'dbproxy-operator' },
      involvedObject: { uid: involved.metadata!.uid },
    });
    expect(byReason['TargetChanged']).toMatchObject({ count: 1, type: 'Normal' });
  });

  it('never throws, even when the API refuses', async () => {
    const rec = new EventRecorder(kc, 'dbproxy-operator', log);
    await expect(
      rec.record({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'no-such-namespace-rt' } }, 'Normal', 'R', 'm'),
    ).resolves.toBeUndefined();
  });
});
