/** The layout of the cancel keys the proxy hands out (BackendKeyData): which peer owns a key, and whether a peer forwarded it. */
import { MAX_PEER_ID } from '../../../contract/config/schema.js';

/**
 * processId, 32 bits: bit 31 is 0 (clients and tools print it as a positive PID), bit 30 is set only
 * on a cancel one peer forwards to another, bits 29..18 are the peer id of the proxy that handed the
 * key out, bits 17..0 a local id, unique among that proxy's live clients. The 32-bit secret key
 * stays wholly random: a forger must guess it as PostgreSQL's own (which also sends a predictable
 * PID beside 32 secret bits), and each guess costs a TCP connection.
 */
export const PEER_ID_BITS = 12;
export const LOCAL_ID_BITS = 18;
/** The most clients one proxy can hold keys for at once (far above limits.maxClientConnections' default of 20,000). */
export const MAX_LOCAL_ID = 2 ** LOCAL_ID_BITS - 1;
const FORWARDED = 2 ** 30;

if (MAX_PEER_ID !== 2 ** PEER_ID_BITS - 1) throw new Error('peering.id bounds do not match the cancel key layout');

export interface CancelKey {
  /** The processId as this proxy handed it out (the forwarded bit cleared). */
  processId: number;
  peerId: number;
  localId: number;
  /** A peer forwarded this cancel: it must not be forwarded again. */
  forwarded: boolean;
}

export function encodeProcessId(peerId: number, localId: number): number {
  if (!Number.isInteger(peerId) || peerId < 0 || peerId > MAX_PEER_ID) throw new RangeError(`peer id ${peerId} is outside 0..${MAX_PEER_ID}`);
  if (!Number.isInteger(localId) || localId < 0 || localId > MAX_LOCAL_ID) throw new RangeError(`local id ${localId} is outside 0..${MAX_LOCAL_ID}`);
  return peerId * 2 ** LOCAL_ID_BITS + localId;
}

/** The processId a forwarding peer sends on (a signed int32, as the wire carries it). */
export function forwardedProcessId(processId: number): number {
  return processId | FORWARDED;
}

/** A CancelRequest's processId (signed int32 off the wire); undefined for one no proxy hands out (bit 31 set). */
export function decodeProcessId(wire: number): CancelKey | undefined {
  if (!Number.isInteger(wire) || wire < 0 || wire > 0x7fffffff) return undefined;
  const forwarded = wire >= FORWARDED;
  const processId = forwarded ? wire - FORWARDED : wire;
  return { processId, peerId: Math.floor(processId / 2 ** LOCAL_ID_BITS), localId: processId % 2 ** LOCAL_ID_BITS, forwarded };
}
