import { describe, expect, it } from 'vitest';
import type { SecretLike } from './secrets.js';
import { SecretWatches, type OneSecretInformer } from './secret-watches.js';

/** A stand-in for one Secret's informer: records start/stop, lets the test deliver the Secret. */
class FakeInformer implements OneSecretInformer {
  started = 0;
  stopped = false;
  obj: SecretLike | undefined;
  private readonly fns: ((o: SecretLike) => void)[] = [];
  private resolve!: () => void;
  private readonly synced = new Promise<void>((r) => (this.resolve = r));
  constructor(
    readonly ns: string,
    readonly name: string,
  ) {}
  onAdd(fn: (o: SecretLike) => void) {
    this.fns.push(fn);
  }
  onUpdate(fn: (o: SecretLike) => void) {
    this.fns.push(fn);
  }
  onDelete(fn: (o: SecretLike) => void) {
    this.fns.push(fn);
  }
  start() {
    this.started++;
    return this.synced;
  }
  stop() {
    this.stopped = true;
  }
  get(ns: string | undefined, name: string) {
    return ns === this.ns && name === this.name ? this.obj : undefined;
  }
  deliver(o: SecretLike) {
    this.obj = o;
    this.resolve();
    for (const f of this.fns) f(o);
  }
}

function setup(syncTimeoutMs = 5_000) {
  const made: FakeInformer[] = [];
  const changes: string[][] = [];
  const w = new SecretWatches({
    makeInformer: (ns, name) => {
      const f = new FakeInformer(ns, name);
      made.push(f);
      return f;
    },
    onChange: (keys) => changes.push(keys),
    syncTimeoutMs,
  });
  return { w, made, changes };
}

describe('SecretWatches', () => {
  it('watches each referenced Secret once, by name, and reads it from that watch', async () => {
    const { w, made } = setup();
    const t = w.track('shop/a', 'shop', ['db', 'cert']);
    for (const f of made) f.deliver({ metadata: { name: f.name, namespace: f.ns }, data: { k: 'dg==' } });
    await t;
    await w.track('shop/b', 'shop', ['db']);
    expect(made.map((f) => `${f.ns}/${f.name}`)).toEqual(['shop/db', 'shop/cert']);
    expect(w.watched()).toEqual(['shop/cert', 'shop/db']);
    expect(w.get('shop', 'db')?.data).toEqual({ k: 'dg==' });
    expect(w.get('shop', 'other')).toBeUndefined();
    expect(w.get('else', 'db')).toBeUndefined();
  });

  it('tells every referrer when a Secret changes', async () => {
    const { w, made, changes } = setup();
    const t = Promise.all([w.track('shop/a', 'shop', ['db']), w.track('shop/b', 'shop', ['db'])]);
    made[0]!.deliver({ metadata: { name: 'db', namespace: 'shop' } });
    await t;
    expect(changes.at(-1)).toEqual(['shop/a', 'shop/b']);
  });

  it('stops a watch when its last referrer goes, and again starts one when referenced again', async () => {
    const { w, made } = setup(1);
    await w.track('shop/a', 'shop', ['db']);
    await w.track('shop/b', 'shop', ['db']);
    w.untrack('shop/a');
    expect(made[0]!.stopped).toBe(false);
    await w.track('shop/b', 'shop', []);
    expect(made[0]!.stopped).toBe(true);
    expect(w.watched()).toEqual([]);
    await w.track('shop/a', 'shop', ['db']);
    expect(made).toHaveLength(2);
    expect(made[1]!.stopped).toBe(false);
  });

  it('does not wait forever for a Secret that never lists', async () => {
    const { w, made } = setup(20);
    await w.track('shop/a', 'shop', ['forbidden']);
    expect(made[0]!.started).toBeGreaterThan(0);
    expect(w.get('shop', 'forbidden')).toBeUndefined();
  });

  it('stops every watch on stop, and starts none after', async () => {
    const { w, made } = setup(1);
    await w.track('shop/a', 'shop', ['db']);
    w.stop();
    expect(made[0]!.stopped).toBe(true);
    await w.track('shop/b', 'shop', ['x']);
    expect(made).toHaveLength(1);
  });
});
