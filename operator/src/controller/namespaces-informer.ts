/**
 * One informer over several namespaces (the operator's --watch-namespaces): an Informer per
 * namespace behind the Informer interface the controller uses, so a namespaced install needs no
 * cluster-wide list or watch. With no namespaces it is one cluster-wide Informer.
 */
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Informer } from '../../../contract/kube/informer.js';

export interface NamespacesInformerOptions {
  kc: KubeConfig;
  group: string;
  version: string;
  plural: string;
  /** Empty: all namespaces. */
  namespaces: readonly string[];
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  resyncMs?: number | undefined;
  log: Logger;
}

export function collectionPath(group: string, version: string, plural: string, ns: string | undefined): string {
  const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  return ns ? `${base}/namespaces/${ns}/${plural}` : `${base}/${plural}`;
}

export class NamespacesInformer<T extends KubernetesObject> {
  private readonly parts: Informer<T>[];

  constructor(o: NamespacesInformerOptions) {
    const spaces: (string | undefined)[] = o.namespaces.length ? [...o.namespaces] : [undefined];
    this.parts = spaces.map(
      (ns) =>
        new Informer<T>({
          kc: o.kc,
          path: collectionPath(o.group, o.version, o.plural, ns),
          log: o.log,
          ...(o.resyncMs !== undefined ? { resyncMs: o.resyncMs } : {}),
          ...(o.labelSelector ? { labelSelector: o.labelSelector } : {}),
          ...(o.fieldSelector ? { fieldSelector: o.fieldSelector } : {}),
        }),
    );
  }

  onAdd(fn: (o: T) => void): void {
    for (const p of this.parts) p.onAdd(fn);
  }
  onUpdate(fn: (o: T, old: T) => void): void {
    for (const p of this.parts) p.onUpdate(fn);
  }
  onDelete(fn: (o: T) => void): void {
    for (const p of this.parts) p.onDelete(fn);
  }
  onResync(fn: (o: T) => void): void {
    for (const p of this.parts) p.onResync(fn);
  }
  onError(fn: (err: Error) => void): void {
    for (const p of this.parts) p.onError(fn);
  }

  async start(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.start()));
  }

  stop(): void {
    for (const p of this.parts) p.stop();
  }

  get(namespace: string | undefined, name: string): T | undefined {
    for (const p of this.parts) {
      const o = p.get(namespace, name);
      if (o) return o;
    }
    return undefined;
  }

  list(namespace?: string): T[] {
    return this.parts.flatMap((p) => p.list(namespace));
  }

  hasSynced(): boolean {
    return this.parts.every((p) => p.hasSynced());
  }
}
