/**
 * The informer's cache logic, pure: keys, what a relist changed, what a watch event means.
 * Keys are `namespace/name` (just `name` for cluster-scoped objects), as in client-go.
 */
import type { KubernetesObject } from '@kubernetes/client-node';

export function objectKey(o: KubernetesObject): string {
  const ns = o.metadata?.namespace;
  const name = o.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

export function cacheKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export interface ListDiff<T> {
  added: T[];
  updated: Array<[T, T]>; // [new, old]
  deleted: T[];
  next: Map<string, T>;
}

/**
 * Compares a fresh list with the cache. An object whose resourceVersion did not change is not an
 * update: a relist after a dropped watch then only reports what really happened meanwhile.
 */
export function diffList<T extends KubernetesObject>(cache: ReadonlyMap<string, T>, items: readonly T[]): ListDiff<T> {
  const next = new Map<string, T>();
  const added: T[] = [];
  const updated: Array<[T, T]> = [];
  for (const item of items) {
    const key = objectKey(item);
    next.set(key, item);
    const old = cache.get(key);
    if (!old) added.push(item);
    else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion || old.metadata?.uid !== item.metadata?.uid) updated.push([item, old]);
  }
  const deleted = [...cache.entries()].filter(([k]) => !next.has(k)).map(([, v]) => v);
  return { added, updated, deleted, next };
}

/** List items come without apiVersion/kind; the list's own (`ConfigMapList`) tells them. */
export function withTypeMeta<T extends KubernetesObject>(items: readonly T[], listApiVersion: string | undefined, listKind: string | undefined): T[] {
  const kind = listKind?.endsWith('List') ? listKind.slice(0, -4) : undefined;
  return items.map((i) => (i.kind && i.apiVersion ? i : ({ ...i, apiVersion: i.apiVersion ?? listApiVersion, kind: i.kind ?? kind } as T)));
}

export type WatchAction<T> =
  | { kind: 'add'; obj: T }
  | { kind: 'update'; obj: T; old: T }
  | { kind: 'delete'; obj: T }
  | { kind: 'bookmark' }
  | { kind: 'error'; status: number; message: string }
  | { kind: 'ignore' };

/** What one watch event does to the cache (the caller mutates it and notifies handlers). */
export function watchAction<T extends KubernetesObject>(cache: ReadonlyMap<string, T>, type: string, obj: unknown): WatchAction<T> {
  if (typeof obj !== 'object' || obj === null) return { kind: 'ignore' };
  if (type === 'ERROR') {
    const s = obj as { code?: unknown; message?: unknown; reason?: unknown };
    return { kind: 'error', status: typeof s.code === 'number' ? s.code : 500, message: String(s.message ?? s.reason ?? 'watch error') };
  }
  if (type === 'BOOKMARK') return { kind: 'bookmark' };
  const o = obj as T;
  const old = cache.get(objectKey(o));
  if (type === 'ADDED' || type === 'MODIFIED') return old ? { kind: 'update', obj: o, old } : { kind: 'add', obj: o };
  if (type === 'DELETED') return { kind: 'delete', obj: o };
  return { kind: 'ignore' };
}
