import { describe, expect, it } from 'vitest';
import { MAX_PEER_ID } from '../../../contract/config/schema.js';
import { peerIdOf } from './peer-id.js';

describe('peerIdOf', () => {
  it('is the same for the same address on every pod, and within the key layout', () => {
    for (const a of ['10.244.0.5', '10.244.1.5', 'fd00::1', 'proxy-0.example']) {
      expect(peerIdOf(a)).toBe(peerIdOf(a));
      expect(peerIdOf(a)).toBeGreaterThanOrEqual(0);
      expect(peerIdOf(a)).toBeLessThanOrEqual(MAX_PEER_ID);
    }
    expect(peerIdOf(' FD00::1 ')).toBe(peerIdOf('fd00::1'));
  });

  it('spreads addresses that share their low bits (pods on different nodes)', () => {
    const ids = new Set(Array.from({ length: 64 }, (_, node) => peerIdOf(`10.244.${node}.5`)));
    // 64 addresses into 4096 ids: a handful of collisions at most, never one id for all.
    expect(ids.size).toBeGreaterThan(56);
  });
});
