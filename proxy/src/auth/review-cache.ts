/**
 * A small cache of TokenReview answers, keyed by a SHA-256 of the token (the token itself is never
 * kept). Bounded: the oldest entry goes first. A review never outlives the token's own expiry, and
 * refusals are kept only briefly so a token that just became valid is not refused for long.
 */
import { createHash } from 'node:crypto';
import type { TokenReviewResult } from '../../../contract/kube/token-review.js';

/** Refusals are kept at most this long (or the positive TTL, when that is shorter). */
export const NEGATIVE_TTL_MAX_MS = 5_000;
export const DEFAULT_CACHE_SIZE = 1_000;

interface Entry {
  result: TokenReviewResult;
  expires: number;
}

export const tokenKey = (token: string): string => createHash('sha256').update(token).digest('base64url');

export class ReviewCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxSize = DEFAULT_CACHE_SIZE,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): TokenReviewResult | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.now() >= e.expires) {
      this.entries.delete(key);
      return undefined;
    }
    return e.result;
  }

  /** `tokenExpiry` (ms since the epoch, from the token's exp claim) caps how long a success is kept. */
  set(key: string, result: TokenReviewResult, tokenExpiry?: number): void {
    const now = this.now();
    let expires = now + (result.authenticated ? this.ttlMs : Math.min(this.ttlMs, NEGATIVE_TTL_MAX_MS));
    if (tokenExpiry !== undefined) expires = Math.min(expires, tokenExpiry);
    if (expires <= now) return;
    this.entries.delete(key); // re-inserted last: Map order is insertion order, the oldest goes first
    this.entries.set(key, { result, expires });
    while (this.entries.size > this.maxSize) this.entries.delete(this.entries.keys().next().value!);
  }
}
