import { describe, expect, it } from 'vitest';
import { decodeProcessId, encodeProcessId, forwardedProcessId, LOCAL_ID_BITS, MAX_LOCAL_ID } from './cancel-key.js';

describe('cancel key layout', () => {
  it.each([
    // peerId, localId, processId
    [0, 1, 1],
    [0, MAX_LOCAL_ID, MAX_LOCAL_ID],
    [1, 0, 2 ** LOCAL_ID_BITS],
    [7, 42, 7 * 2 ** 18 + 42],
    [4095, MAX_LOCAL_ID, 2 ** 30 - 1],
  ])('peer %i, local %i is processId %i, positive, and decodes back', (peerId, localId, processId) => {
    const p = encodeProcessId(peerId, localId);
    expect(p).toBe(processId);
    expect(p).toBeGreaterThanOrEqual(0);
    expect(decodeProcessId(p)).toEqual({ processId, peerId, localId, forwarded: false });
  });

  it.each([
    [0, 1],
    [7, 42],
    [4095, MAX_LOCAL_ID],
  ])('forwarding peer %i local %i sets only the forwarded bit, a signed int32 the wire carries', (peerId, localId) => {
    const p = encodeProcessId(peerId, localId);
    const f = forwardedProcessId(p);
    expect(f).not.toBe(p);
    expect(f | 0).toBe(f);
    expect(decodeProcessId(f)).toEqual({ processId: p, peerId, localId, forwarded: true });
    expect(forwardedProcessId(f)).toBe(f);
  });

  it.each([
    ['a negative processId (bit 31 set)', -1],
    ['the most negative int32', -2_147_483_648],
    ['not an integer', 1.5],
    ['above int32', 2 ** 31],
  ])('no proxy hands out %s', (_name, wire) => {
    expect(decodeProcessId(wire)).toBeUndefined();
  });

  it.each([
    [-1, 1],
    [4096, 1],
    [0, -1],
    [0, MAX_LOCAL_ID + 1],
    [1.5, 1],
  ])('refuses peer %s local %s', (peerId, localId) => {
    expect(() => encodeProcessId(peerId, localId)).toThrow(RangeError);
  });
});
