import { describe, expect, it } from 'vitest';
import { NEGATIVE_TTL_MAX_MS, ReviewCache, tokenKey } from './review-cache.js';

const OK = { authenticated: true, username: 'system:serviceaccount:a:b' };
const NO = { authenticated: false, error: 'token expired' };

function cache(ttl: number, maxSize?: number) {
  let t = 1_000_000;
  const c = new ReviewCache(ttl, () => t, maxSize);
  return { c, advance: (ms: number) => (t += ms), now: () => t };
}

describe('ReviewCache', () => {
  it('keys by a hash that does not contain the token', () => {
    const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    expect(tokenKey(token)).not.toContain(token.slice(0, 10));
    expect(tokenKey(token)).toBe(tokenKey(token));
    expect(tokenKey(token)).not.toBe(tokenKey(`${token}x`));
  });

  it('keeps a success for the TTL, then forgets it', () => {
    const { c, advance } = cache(30_000);
    c.set('k', OK);
    advance(29_999);
    expect(c.get('k')).toEqual(OK);
    advance(1);
    expect(c.get('k')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('keeps a refusal at most NEGATIVE_TTL_MAX_MS', () => {
    const { c, advance } = cache(30_000);
    c.set('k', NO);
    advance(NEGATIVE_TTL_MAX_MS - 1);
    expect(c.get('k')).toEqual(NO);
    advance(1);
    expect(c.get('k')).toBeUndefined();
  });

  it('never keeps a success past the token expiry; an expired token is not cached at all', () => {
    const { c, advance, now } = cache(30_000);
    c.set('k', OK, now() + 10_000);
    advance(10_000);
    expect(c.get('k')).toBeUndefined();
    c.set('gone', OK, now() - 1);
    expect(c.get('gone')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('is bounded: the oldest entry goes first', () => {
    const { c } = cache(30_000, 3);
    for (const k of ['a', 'b', 'c', 'd']) c.set(k, OK);
    expect(c.size).toBe(3);
    expect(c.get('a')).toBeUndefined();
    expect(c.get('d')).toEqual(OK);
  });
});
