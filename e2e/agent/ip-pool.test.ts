import { describe, expect, it } from 'vitest';
import { IpPool } from './ip-pool.js';

describe('IpPool', () => {
  it('allocates from 127.0.1.1 upward and reuses released addresses lowest first', () => {
    const pool = new IpPool();
    expect([pool.allocate(), pool.allocate(), pool.allocate()]).toEqual(['127.0.1.1', '127.0.1.2', '127.0.1.3']);
    pool.release('127.0.1.2');
    expect(pool.allocate()).toBe('127.0.1.2');
    expect(pool.size).toBe(3);
  });

  it('skips .255 and .0 when crossing into the next /24, and never hands out 127.0.0.x', () => {
    const pool = new IpPool();
    const got = Array.from({ length: 256 }, () => pool.allocate());
    expect(got).not.toContain('127.0.1.255');
    expect(got).not.toContain('127.0.2.0');
    expect(got.at(253)).toBe('127.0.1.254');
    expect(got.at(254)).toBe('127.0.2.1');
    expect(new Set(got).size).toBe(256);
    expect(got.some((ip) => ip.startsWith('127.0.0.'))).toBe(false);
  });

  it('ignores releases of addresses it does not own', () => {
    const pool = new IpPool();
    pool.allocate();
    pool.release('10.0.0.1');
    pool.release('127.0.9.9');
    expect(pool.size).toBe(1);
  });
});

describe('IpPool on a routed /16', () => {
  it('allocates from <prefix>.0.1 and releases only its own addresses', () => {
    const pool = new IpPool('10.244', 0);
    expect([pool.allocate(), pool.allocate()]).toEqual(['10.244.0.1', '10.244.0.2']);
    pool.release('127.0.0.1');
    expect(pool.size).toBe(2);
    pool.release('10.244.0.1');
    expect(pool.allocate()).toBe('10.244.0.1');
  });
  it('rejects a malformed prefix', () => {
    expect(() => new IpPool('10.244.0')).toThrow(/two octets/);
  });
});
