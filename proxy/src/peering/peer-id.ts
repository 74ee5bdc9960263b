/** A proxy pod's peer id derived from its address, so every pod computes every other's from the EndpointSlices alone. */
import { createHash } from 'node:crypto';
import { MAX_PEER_ID } from '../../../contract/config/schema.js';

/**
 * A hash of the address, not its low bits: pod IPs on different nodes share their low bits often
 * (10.244.1.5, 10.244.2.5). Two live pods may still get one id (about n²/8192 for n pods); that costs
 * no correctness, only a cancel sent to both (cancel-route.ts): the wrong one finds no such key.
 */
export function peerIdOf(address: string): number {
  return createHash('sha256').update(address.trim().toLowerCase()).digest().readUInt16BE(0) & MAX_PEER_ID;
}
