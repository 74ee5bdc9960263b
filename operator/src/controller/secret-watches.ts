/**
 * The Secrets DBProxies reference, each read on its own: one watch per Secret (a list and watch with
 * fieldSelector metadata.name=<name>), started when a first DBProxy references it and stopped when
 * the last one stops, so the operator never caches a Secret nobody references.
 */
import type { SecretLike } from './secrets.js';
import { SecretRefs, type RefChange } from './secret-refs.js';

/** What this needs of one Secret's informer (contract/kube/informer.ts's Informer has it). */
export interface OneSecretInformer {
  onAdd(fn: (o: SecretLike) => void): void;
  onUpdate(fn: (o: SecretLike) => void): void;
  onDelete(fn: (o: SecretLike) => void): void;
  start(): Promise<void>;
  stop(): void;
  get(namespace: string | undefined, name: string): SecretLike | undefined;
}

export interface SecretWatchesOptions {
  makeInformer(namespace: string, name: string): OneSecretInformer;
  /** A referenced Secret changed: these DBProxies (keys) need a reconcile. */
  onChange(dbproxies: string[]): void;
  /** How long track() waits for new watches' first list (a Secret that cannot be read must not stall the queue). */
  syncTimeoutMs?: number;
}

export class SecretWatches {
  private readonly refs = new SecretRefs();
  private readonly watches = new Map<string, OneSecretInformer>();
  private stopped = false;

  constructor(private readonly o: SecretWatchesOptions) {}

  /** DBProxy `dbproxy` in `namespace` references exactly `names`; resolves when their watches have listed (or timed out). */
  async track(dbproxy: string, namespace: string, names: readonly string[]): Promise<void> {
    if (this.stopped) return;
    this.apply(this.refs.set(dbproxy, namespace, names));
    const mine = names.flatMap((n) => this.watches.get(`${namespace}/${n}`) ?? []);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, this.o.syncTimeoutMs ?? 10_000)));
    await Promise.race([Promise.all(mine.map((w) => w.start())), timeout]);
    clearTimeout(timer);
  }

  /** The DBProxy is gone: stop the watches only it needed. */
  untrack(dbproxy: string): void {
    this.apply(this.refs.remove(dbproxy));
  }

  get(namespace: string | undefined, name: string): SecretLike | undefined {
    return this.watches.get(`${namespace ?? ''}/${name}`)?.get(namespace, name);
  }

  /** The Secrets watched (namespace/name): exactly the referenced ones. */
  watched(): string[] {
    return [...this.watches.keys()].sort();
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
  }

  private apply(change: RefChange): void {
    for (const key of change.stop) {
      this.watches.get(key)?.stop();
      this.watches.delete(key);
    }
    for (const key of change.start) {
      const slash = key.indexOf('/');
      const w = this.o.makeInformer(key.slice(0, slash), key.slice(slash + 1));
      const changed = () => this.o.onChange(this.refs.holders(key));
      w.onAdd(changed);
      w.onUpdate(changed);
      w.onDelete(changed);
      this.watches.set(key, w);
      void w.start();
    }
  }
}
