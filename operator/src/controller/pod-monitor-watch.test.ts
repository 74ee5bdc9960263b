import type { KubernetesObject } from '@kubernetes/client-node';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { PodMonitorWatch, type ChildInformer } from './pod-monitor-watch.js';

class FakeInformer implements ChildInformer {
  synced = false;
  stopped = false;
  items: KubernetesObject[] = [];
  handlers: ((o: KubernetesObject) => void)[] = [];
  private markSynced!: () => void;
  private readonly syncedPromise = new Promise<void>((r) => (this.markSynced = r));
  start = () => this.syncedPromise;
  stop = () => void (this.stopped = true);
  hasSynced = () => this.synced;
  list = (ns?: string) => this.items.filter((o) => o.metadata?.namespace === ns);
  onAdd = (fn: (o: KubernetesObject) => void) => void this.handlers.push(fn);
  onUpdate = (fn: (o: KubernetesObject) => void) => void this.handlers.push(fn);
  onDelete = (fn: (o: KubernetesObject) => void) => void this.handlers.push(fn);
  sync(items: KubernetesObject[]): void {
    this.items = items;
    this.synced = true;
    this.markSynced();
  }
}

function setup(answers: (boolean | Error)[]) {
  let clock = 0;
  const t = { discoveries: 0, informers: [] as FakeInformer[], changed: [] as KubernetesObject[], synced: 0, advance: (ms: number) => (clock += ms) };
  const watch = new PodMonitorWatch({
    discover: async () => {
      const a = answers[Math.min(t.discoveries++, answers.length - 1)]!;
      if (a instanceof Error) throw a;
      return a;
    },
    makeInformer: () => {
      const i = new FakeInformer();
      t.informers.push(i);
      return i;
    },
    onChange: (o) => void t.changed.push(o),
    onSynced: () => void t.synced++,
    log: pino({ level: 'silent' }),
    recheckMs: 60_000,
    now: () => clock,
  });
  return { watch, t };
}

const pm = { apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'orders-proxy', namespace: 'shop' } };

describe('PodMonitorWatch', () => {
  it('asks discovery at most once a recheck period while the kind is absent', async () => {
    const { watch, t } = setup([false, false, true]);
    expect(watch.served).toBeUndefined();
    await watch.refresh();
    expect(watch.served).toBe(false);
    await watch.refresh();
    t.advance(59_999);
    await watch.refresh();
    expect(t.discoveries).toBe(1);
    t.advance(1);
    await watch.refresh();
    expect(t.discoveries).toBe(2);
    expect(t.informers).toHaveLength(0);
    expect(watch.list('shop')).toBeUndefined();
    // The Prometheus Operator is installed later: noticed at the next check, no restart.
    t.advance(60_000);
    await watch.refresh();
    expect(watch.served).toBe(true);
    expect(t.informers).toHaveLength(1);
  });

  it('watches once served: nothing listed until the informer syncs, then a reconcile of everything', async () => {
    const { watch, t } = setup([true]);
    await watch.refresh();
    expect(watch.served).toBe(true);
    expect(watch.list('shop')).toBeUndefined();
    t.informers[0]!.sync([pm]);
    await new Promise((r) => setImmediate(r));
    expect(t.synced).toBe(1);
    expect(watch.list('shop')).toEqual([pm]);
    expect(watch.list('other')).toEqual([]);
    t.informers[0]!.handlers.forEach((h) => h(pm));
    expect(t.changed).toHaveLength(3);
    t.advance(3_600_000);
    await watch.refresh();
    expect(t.discoveries).toBe(1);
  });

  it('concurrent reconciles share one discovery', async () => {
    const { watch, t } = setup([true]);
    await Promise.all([watch.refresh(), watch.refresh(), watch.refresh()]);
    expect(t.discoveries).toBe(1);
    expect(t.informers).toHaveLength(1);
  });

  it('when discovery cannot tell, the kind is unknown (tried by apply) and asked again later', async () => {
    const { watch, t } = setup([new Error('HTTP 503'), true]);
    await watch.refresh();
    expect(watch.served).toBeUndefined();
    t.advance(60_000);
    await watch.refresh();
    expect(watch.served).toBe(true);
  });

  it('markAbsent (an apply found the CRD gone) stops the informer and looks again after the period', async () => {
    const { watch, t } = setup([true, false, true]);
    await watch.refresh();
    t.informers[0]!.sync([]);
    watch.markAbsent();
    expect(t.informers[0]!.stopped).toBe(true);
    expect(watch.served).toBe(false);
    expect(watch.list('shop')).toBeUndefined();
    await watch.refresh();
    expect(t.discoveries).toBe(1);
    t.advance(60_000);
    await watch.refresh();
    expect(watch.served).toBe(false);
    t.advance(60_000);
    await watch.refresh();
    expect(t.informers).toHaveLength(2);
  });

  it('stop stops the informer and any later start', async () => {
    const { watch, t } = setup([true]);
    await watch.refresh();
    watch.stop();
    expect(t.informers[0]!.stopped).toBe(true);
    t.advance(60_000);
    await watch.refresh();
    expect(t.informers).toHaveLength(1);
  });
});
