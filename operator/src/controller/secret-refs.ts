/**
 * Which DBProxies reference which Secrets, pure bookkeeping: tells the caller which per-Secret
 * watches to start (a Secret's first referrer appeared) and to stop (its last one went away).
 * Keys are `namespace/name` for both DBProxies and Secrets.
 */
export interface RefChange {
  start: string[];
  stop: string[];
}

export class SecretRefs {
  /** DBProxy key → the Secret keys it references. */
  private readonly byProxy = new Map<string, Set<string>>();
  /** Secret key → the DBProxy keys referencing it. */
  private readonly bySecret = new Map<string, Set<string>>();

  /** Records that DBProxy `proxy` (in `namespace`) now references exactly `names`. */
  set(proxy: string, namespace: string, names: readonly string[]): RefChange {
    const next = new Set(names.map((n) => `${namespace}/${n}`));
    const prev = this.byProxy.get(proxy) ?? new Set<string>();
    const change: RefChange = { start: [], stop: [] };
    for (const s of prev) if (!next.has(s) && this.drop(s, proxy)) change.stop.push(s);
    for (const s of next) if (!prev.has(s) && this.hold(s, proxy)) change.start.push(s);
    if (next.size) this.byProxy.set(proxy, next);
    else this.byProxy.delete(proxy);
    return change;
  }

  /** The DBProxy is gone: the Secrets only it referenced are no longer needed. */
  remove(proxy: string): RefChange {
    return this.set(proxy, '', []);
  }

  /** The DBProxies referencing Secret `namespace/name`. */
  holders(secret: string): string[] {
    return [...(this.bySecret.get(secret) ?? [])].sort();
  }

  /** Every referenced Secret key, sorted. */
  secrets(): string[] {
    return [...this.bySecret.keys()].sort();
  }

  /** True when this is the Secret's first holder. */
  private hold(secret: string, proxy: string): boolean {
    const h = this.bySecret.get(secret);
    if (h) return (void h.add(proxy), false);
    this.bySecret.set(secret, new Set([proxy]));
    return true;
  }

  /** True when that was the Secret's last holder. */
  private drop(secret: string, proxy: string): boolean {
    const h = this.bySecret.get(secret);
    if (!h) return false;
    h.delete(proxy);
    if (h.size) return false;
    this.bySecret.delete(secret);
    return true;
  }
}
