/** Where a CancelRequest goes, pure: to this proxy's own client, to the peer(s) whose id the key carries, or nowhere. */
import type { CancelKey } from './cancel-key.js';

export interface Peer {
  id: number;
  host: string;
  port: number;
}

export type CancelRoute =
  | { kind: 'local' }
  | { kind: 'forward'; to: Peer[] }
  /** `unknown`: no client here has that key and no peer has its id; `forwarded`: a peer sent it, and it is not ours. */
  | { kind: 'drop'; reason: 'unknown' | 'forwarded' };

/** More peers than this on one id means the id space is crowded; the cancel still goes to this many. */
export const MAX_FANOUT = 4;

/**
 * `ownsKey`: a live client of this proxy has exactly this key (processId and secret). `peers`: the
 * others (never this proxy itself). A forwarded cancel is never forwarded again: one hop, no loops.
 * Ids are not assumed unique: each peer on the key's id gets it and checks the secret itself.
 */
export function routeCancel(key: CancelKey, ownsKey: boolean, peers: readonly Peer[]): CancelRoute {
  if (ownsKey) return { kind: 'local' };
  if (key.forwarded) return { kind: 'drop', reason: 'forwarded' };
  const to = peers.filter((p) => p.id === key.peerId).slice(0, MAX_FANOUT);
  return to.length > 0 ? { kind: 'forward', to } : { kind: 'drop', reason: 'unknown' };
}
