/**
 * An informer: list, then watch from the list's resourceVersion, keeping a cache and telling
 * handlers what changed. What it guarantees beyond client-node 1.4's own informer:
 * - it never stops: a failed list or watch is retried with backoff; 410 Gone relists at once;
 * - a watch is bounded (server-side timeoutSeconds, jittered) and a no-events watchdog abandons a
 *   connection that went silent (1.4.0's Watch has no client-side timeout);
 * - bookmarks keep the resourceVersion fresh, so a re-watch rarely hits 410;
 * - a relist reports only real differences (adds, updates with a new resourceVersion, deletes);
 * - handlers are synchronous and isolated: one that throws is logged, the others still run.
 * Objects are plain JSON as the apiserver sends them (timestamps are strings).
 */
import { Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { backoffDelay, jittered } from './backoff.js';
import { sleep } from './clock.js';
import { WatchStatusError, classifyApiError } from './errors.js';
import { getJson } from './request.js';
import { cacheKey, diffList, objectKey, watchAction, withTypeMeta } from './store.js';

export interface InformerOptions {
  kc: KubeConfig;
  /** Collection path, e.g. '/apis/dbproxy.io/v1alpha1/dbproxies' or '/api/v1/namespaces/ns/secrets'. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Calls onResync for every cached object this often (none when unset). */
  resyncMs?: number;
  log: Logger;
  /** Server-side watch timeout (jittered ±10%); default 300 s. */
  watchTimeoutSeconds?: number;
  /** Abandon a watch that delivered nothing (not even a bookmark) for this long; default timeout + 30 s. */
  staleAfterMs?: number;
}

const LIST_PAGE = 500;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

type Fn<A extends unknown[]> = (...args: A) => void;

export class Informer<T extends KubernetesObject> {
  private cache = new Map<string, T>();
  /** Where the next watch starts; undefined means list first. */
  private resourceVersion: string | undefined;
  private synced = false;
  private readonly stopCtl = new AbortController();
  private loopDone: Promise<void> | undefined;
  private markSynced!: () => void;
  private readonly syncedPromise = new Promise<void>((r) => (this.markSynced = r));
  private abortWatch: (() => void) | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private readonly handlers = {
    add: [] as Array<Fn<[T]>>,
    update: [] as Array<Fn<[T, T]>>,
    delete: [] as Array<Fn<[T]>>,
    resync: [] as Array<Fn<[T]>>,
    error: [] as Array<Fn<[Error]>>,
  };

  constructor(private readonly opts: InformerOptions) {
    this.log = opts.log.child({ informer: opts.path });
  }

  onAdd(fn: (o: T) => void): void {
    this.handlers.add.push(fn);
  }
  onUpdate(fn: (o: T, old: T) => void): void {
    this.handlers.update.push(fn);
  }
  onDelete(fn: (o: T) => void): void {
    this.handlers.delete.push(fn);
  }
  onResync(fn: (o: T) => void): void {
    this.handlers.resync.push(fn);
  }
  /** Told about each failed list or watch (the informer retries on its own). */
  onError(fn: (err: Error) => void): void {
    this.handlers.error.push(fn);
  }

  /** Starts once; resolves when the first list is in the cache (or when stopped before that). */
  start(): Promise<void> {
    if (!this.loopDone && !this.stopped) {
      this.loopDone = this.loop();
      if (this.opts.resyncMs !== undefined && this.opts.resyncMs > 0) {
        this.resyncTimer = setInterval(() => this.resync(), this.opts.resyncMs);
        this.resyncTimer.unref();
      }
    }
    return this.syncedPromise;
  }

  stop(): void {
    this.stopCtl.abort();
    this.abortWatch?.();
    clearInterval(this.resyncTimer);
    this.markSynced();
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(cacheKey(namespace, name));
  }

  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  private get stopped(): boolean {
    return this.stopCtl.signal.aborted;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined) await this.relist();
        await this.watchOnce(this.resourceVersion);
        failures = 0;
      } catch (err) {
        if (this.stopped) break;
        const e = classifyApiError(err);
        if (e.kind === 'Gone') {
          // Our resourceVersion fell out of the apiserver's window: only a fresh list can resync.
          this.log.info({ err: e.message }, 'watch expired; relisting');
          this.resourceVersion = undefined;
          continue;
        }
        failures++;
        const delay = backoffDelay(failures, BACKOFF_BASE_MS, BACKOFF_MAX_MS, 0.2, Math.random());
        this.log.warn({ err: e.message, kind: e.kind, retryInMs: delay }, 'list/watch failed; retrying');
        this.emit('error', new Error(`${this.opts.path}: ${e.message}`));
        await sleep(delay, this.stopCtl.signal);
      }
    }
  }

  /** Lists all pages, swaps the cache and reports the differences. Protected so tests can count it. */
  protected async relist(): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let list: KubernetesListObject<T>;
    do {
      list = await getJson<KubernetesListObject<T>>(this.opts.kc, this.opts.path, {
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        limit: LIST_PAGE,
        continue: cont,
      });
      items.push(...withTypeMeta(list.items ?? [], list.apiVersion, list.kind));
      cont = list.metadata?._continue;
    } while (cont && !this.stopped);
    if (this.stopped) return;
    this.log.debug({ rv: list.metadata?.resourceVersion, items: items.length }, 'listed');
    const diff = diffList(this.cache, items);
    this.cache = diff.next;
    this.resourceVersion = list.metadata?.resourceVersion;
    this.synced = true;
    for (const o of diff.deleted) this.emit('delete', o);
    for (const o of diff.added) this.emit('add', o);
    for (const [o, old] of diff.updated) this.emit('update', o, old);
    this.markSynced();
  }

  /** One watch: resolves when it ends cleanly (server timeout, watchdog, stop), rejects on errors. */
  private watchOnce(rv: string | undefined): Promise<void> {
    const timeoutS = this.opts.watchTimeoutSeconds ?? 300;
    const staleMs = this.opts.staleAfterMs ?? (timeoutS + 30) * 1000;
    return new Promise<void>((resolve, reject) => {
      let finished = false;
      let ctl: AbortController | undefined;
      let stale: NodeJS.Timeout | undefined;
      const finish = (err?: unknown): void => {
        if (finished) return;
        finished = true;
        clearTimeout(stale);
        this.abortWatch = undefined;
        ctl?.abort();
        if (err) reject(err);
        else resolve();
      };
      const arm = (): void => {
        clearTimeout(stale);
        stale = setTimeout(() => {
          this.log.warn({ staleMs }, 'watch went silent; restarting it');
          finish();
        }, staleMs);
      };
      this.abortWatch = () => finish();
      arm();
      this.log.debug({ rv }, 'watching');
      const query = {
        resourceVersion: rv,
        allowWatchBookmarks: true,
        timeoutSeconds: Math.max(1, Math.round(jittered(timeoutS * 1000, 0.1, Math.random()) / 1000)),
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
      };
      new Watch(this.opts.kc)
        .watch(
          this.opts.path,
          query,
          (type: string, obj: unknown) => {
            if (finished) return;
            arm();
            try {
              this.apply(type, obj);
            } catch (err) {
              finish(err);
            }
          },
          (err: unknown) => finish(err ?? undefined),
        )
        .then(
          (c) => {
            ctl = c;
            // Finished (watchdog, stop) before the response arrived: close the late connection.
            if (finished) c.abort();
          },
          (err: unknown) => finish(err),
        );
    });
  }

  private apply(type: string, obj: unknown): void {
    const action = watchAction(this.cache, type, obj);
    if (action.kind === 'error') throw new WatchStatusError(action.status, action.message);
    if (action.kind === 'ignore') return;
    const rv = (obj as KubernetesObject).metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    switch (action.kind) {
      case 'add':
        this.cache.set(objectKey(action.obj), action.obj);
        return this.emit('add', action.obj);
      case 'update':
        this.cache.set(objectKey(action.obj), action.obj);
        return this.emit('update', action.obj, action.old);
      case 'delete':
        this.cache.delete(objectKey(action.obj));
        return this.emit('delete', action.obj);
    }
  }

  private resync(): void {
    if (!this.synced || this.stopped) return;
    for (const o of this.cache.values()) this.emit('resync', o);
  }

  private emit<K extends keyof Informer<T>['handlers']>(kind: K, ...args: Parameters<Informer<T>['handlers'][K][number]>): void {
    for (const fn of this.handlers[kind]) {
      try {
        (fn as (...a: unknown[]) => void)(...args);
      } catch (err) {
        this.log.error({ err: String(err), handler: kind }, 'informer handler threw');
      }
    }
  }
}
