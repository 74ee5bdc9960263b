import { describe, expect, it } from 'vitest';
import { IpPool, NODE_IP, podNetnsName, vethName } from './ip-pool.js';

describe('IpPool', () => {
  it('allocates from 10.244.0.2 upward (never the node address) and reuses released addresses lowest first', () => {
    const pool = new IpPool();
    expect([pool.allocate(), pool.allocate(), pool.allocate()]).toEqual(['10.244.0.2', '10.244.0.3', '10.244.0.4']);
    pool.release('10.244.0.3');
    expect(pool.allocate()).toBe('10.244.0.3');
    expect(pool.size).toBe(3);
  });

  it('skips .255 and .0 when crossing into the next /24', () => {
    const pool = new IpPool();
    const got = Array.from({ length: 256 }, () => pool.allocate());
    expect(got).not.toContain('10.244.0.255');
    expect(got).not.toContain('10.244.1.0');
    expect(got).not.toContain(NODE_IP);
    expect(got.at(252)).toBe('10.244.0.254');
    expect(got.at(253)).toBe('10.244.1.1');
    expect(new Set(got).size).toBe(256);
  });

  it('ignores releases of addresses it does not own', () => {
    const pool = new IpPool();
    pool.allocate();
    pool.release('10.0.0.1');
    pool.release('127.0.9.9');
    expect(pool.size).toBe(1);
  });

  it('rejects a malformed prefix', () => {
    expect(() => new IpPool('10.244.0')).toThrow(/two octets/);
  });
});

describe('device names', () => {
  it.each([
    ['10.244.0.2', 'veth-0-2', 'dbproxy-pod-0-2'],
    ['10.244.255.254', 'veth-255-254', 'dbproxy-pod-255-254'],
  ])('%s → %s in %s', (ip, veth, ns) => {
    expect(vethName(ip)).toBe(veth);
    expect(vethName(ip).length).toBeLessThanOrEqual(15);
    expect(podNetnsName('dbproxy', ip)).toBe(ns);
  });
});
