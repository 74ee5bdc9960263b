// The fuzz driver's seeded randomness: the mulberry32 Rng, its size and split helpers, and jitter.
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { splitAt } from '../../testing/split.js';

/** mulberry32: small, fast, seedable. Each worker has its own (fork), so its choices follow the seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** 0 ≤ n < k */
  int(k: number): number {
    return k <= 1 ? 0 : Math.floor((this.u32() / 0x100000000) * k);
  }
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  fork(): Rng {
    return new Rng(this.u32() ^ 0x9e3779b9);
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) b.writeUInt32LE(this.u32(), i);
    for (; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
  ascii(n: number): string {
    const b = this.bytes(n);
    for (let i = 0; i < n; i++) b[i] = 97 + (b[i]! % 26);
    return b.toString('latin1');
  }
  /** A payload size: mostly small, sometimes past the 64 KiB read buffer, now and then megabytes. */
  size(): number {
    const r = this.int(100);
    if (r < 50) return this.int(2049);
    if (r < 85) return this.int(128 * 1024 + 1);
    return this.int(2 * 1024 * 1024 + 1);
  }
  /** The size of one write. */
  pieceSize(): number {
    const r = this.int(100);
    if (r < 10) return 1;
    if (r < 40) return this.between(1, 100);
    if (r < 70) return this.between(100, 8192);
    if (r < 95) return this.between(8192, 128 * 1024);
    return this.between(128 * 1024, 1024 * 1024);
  }
  /** `buf` cut at random points (whole, byte by byte when short, or up to 16 pieces). */
  pieces(buf: Buffer): Buffer[] {
    if (buf.length <= 1) return [buf];
    const mode = this.int(5);
    if (mode === 0) return [buf];
    if (mode === 1 && buf.length <= 512) return Array.from({ length: buf.length }, (_, i) => buf.subarray(i, i + 1));
    return splitAt(
      buf,
      Array.from({ length: this.between(1, Math.min(16, buf.length - 1)) }, () => this.between(1, buf.length - 1)),
    );
  }
}

/** Nothing, the next turn of the loop, or a few milliseconds: where the split points land in time. */
export async function jitter(rng: Rng): Promise<void> {
  const r = rng.int(10);
  if (r < 4) return;
  if (r < 8) await nextTurn();
  else await sleep(rng.int(4));
}
