/**
 * PodMonitors as a child kind that may not exist. An informer on a kind the apiserver does not serve
 * would never sync (and the controller waits for its caches to sync), so this one is started only
 * once discovery says monitoring.coreos.com/v1 serves podmonitors, and in the background: until it
 * has listed, reconcile sees no PodMonitors (it applies a wanted one anyway; it deletes none).
 * Discovery is asked at most once per `recheckMs` while the kind is absent, so installing the
 * Prometheus Operator later is noticed at a following reconcile, without a restart.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';

/** What this needs of an informer (contract/kube/informer.ts's Informer has it). */
export interface ChildInformer {
  start(): Promise<void>;
  stop(): void;
  hasSynced(): boolean;
  list(namespace?: string): KubernetesObject[];
  onAdd(fn: (o: KubernetesObject) => void): void;
  onUpdate(fn: (o: KubernetesObject) => void): void;
  onDelete(fn: (o: KubernetesObject) => void): void;
}

export interface PodMonitorWatchOptions {
  /** Whether the apiserver serves PodMonitors; throws when it cannot tell. */
  discover(): Promise<boolean>;
  /** An informer on the PodMonitors the operator manages (started here). */
  makeInformer(): ChildInformer;
  /** A PodMonitor was added, changed or deleted. */
  onChange(o: KubernetesObject): void;
  /** The informer has listed: reconcile everything once, to apply or delete what it now sees. */
  onSynced(): void;
  log: Logger;
  recheckMs?: number;
  now?: () => number;
}

export class PodMonitorWatch {
  private informer: ChildInformer | undefined;
  private known: boolean | undefined;
  private checkedAt = -Infinity;
  private checking: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: PodMonitorWatchOptions) {}

  /** true or false once discovery answered; undefined before that (or when it could not tell). */
  get served(): boolean | undefined {
    return this.informer ? true : this.known;
  }

  /** Asks discovery if it is time to, and starts watching once the kind is served. */
  async refresh(): Promise<void> {
    if (this.informer || this.stopped) return;
    if (this.checking) return this.checking;
    const now = this.now();
    if (now - this.checkedAt < (this.o.recheckMs ?? 60_000)) return;
    this.checkedAt = now;
    this.checking = this.check().finally(() => (this.checking = undefined));
    return this.checking;
  }

  /** The PodMonitors in `namespace`; undefined until the informer has listed them. */
  list(namespace: string): KubernetesObject[] | undefined {
    return this.informer?.hasSynced() ? this.informer.list(namespace) : undefined;
  }

  /** An apply found the kind gone (the CRD was removed): stop watching, and look again later. */
  markAbsent(): void {
    this.informer?.stop();
    this.informer = undefined;
    this.known = false;
    this.checkedAt = this.now();
  }

  stop(): void {
    this.stopped = true;
    this.informer?.stop();
    this.informer = undefined;
  }

  private async check(): Promise<void> {
    try {
      this.known = await this.o.discover();
    } catch (err) {
      this.known = undefined;
      this.o.log.debug({ err: (err as Error).message }, 'could not tell whether PodMonitors are served');
      return;
    }
    if (!this.known || this.stopped) return;
    const inf = this.o.makeInformer();
    for (const on of [inf.onAdd, inf.onUpdate, inf.onDelete]) on.call(inf, (o: KubernetesObject) => this.o.onChange(o));
    this.informer = inf;
    this.o.log.info('PodMonitors are served: watching the ones the operator manages');
    inf.start().then(
      () => this.informer === inf && this.o.onSynced(),
      (err: unknown) => this.o.log.warn({ err: (err as Error).message }, 'the PodMonitor informer stopped'),
    );
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}
