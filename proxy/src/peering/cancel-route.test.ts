import { describe, expect, it } from 'vitest';
import type { CancelKey } from './cancel-key.js';
import { MAX_FANOUT, routeCancel, type Peer } from './cancel-route.js';

const key = (peerId: number, forwarded = false): CancelKey => ({ processId: peerId * 2 ** 18 + 5, peerId, localId: 5, forwarded });
const b: Peer = { id: 2, host: '10.0.0.2', port: 5432 };
const c: Peer = { id: 3, host: '10.0.0.3', port: 5432 };
const c2: Peer = { id: 3, host: '10.0.0.33', port: 5432 };

describe('routeCancel', () => {
  it.each<[string, CancelKey, boolean, Peer[], ReturnType<typeof routeCancel>]>([
    ['our own client', key(1), true, [b, c], { kind: 'local' }],
    ['our own client, forwarded to us by a peer', key(1, true), true, [b, c], { kind: 'local' }],
    ["a peer's key goes to that peer", key(2), false, [b, c], { kind: 'forward', to: [b] }],
    ['two peers on one id: both get it (each checks the secret)', key(3), false, [b, c, c2], { kind: 'forward', to: [c, c2] }],
    ['a forwarded key that is not ours is never forwarded again', key(2, true), false, [b, c], { kind: 'drop', reason: 'forwarded' }],
    ['no peer with that id', key(9), false, [b, c], { kind: 'drop', reason: 'unknown' }],
    ['our id, but no such client (expired or bogus)', key(1), false, [b, c], { kind: 'drop', reason: 'unknown' }],
    ['no peers at all', key(2), false, [], { kind: 'drop', reason: 'unknown' }],
  ])('%s', (_name, k, owns, peers, want) => {
    expect(routeCancel(k, owns, peers)).toEqual(want);
  });

  it(`sends to at most ${MAX_FANOUT} peers on one id`, () => {
    const crowd = Array.from({ length: MAX_FANOUT + 3 }, (_, i) => ({ id: 3, host: `10.0.1.${i}`, port: 5432 }));
    const r = routeCancel(key(3), false, crowd);
    expect(r.kind === 'forward' && r.to.length).toBe(MAX_FANOUT);
  });
});
