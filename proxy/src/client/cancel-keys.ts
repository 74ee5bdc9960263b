/**
 * The cancel keys given to clients (BackendKeyData), and a CancelRequest: forwarded to the server
 * running that client's request when the client is ours, to the peer proxy that owns the key when
 * it is not (peering/cancel-route.ts), else dropped without a word, as PostgreSQL drops one.
 */
import { randomInt } from 'node:crypto';
import net from 'node:net';
import type { Logger } from 'pino';
import { serialize } from 'pg-protocol';
import { decodeProcessId, encodeProcessId, forwardedProcessId, MAX_LOCAL_ID } from '../peering/cancel-key.js';
import { routeCancel, type Peer } from '../peering/cancel-route.js';
import { CancelForwarder } from '../peering/forward.js';
import type { CancelTarget } from './context.js';

/** dbproxy_cancel_requests_total's result label (docs/metrics.md). */
export const CANCEL_RESULTS = ['local', 'not_running', 'forwarded', 'forward_failed', 'busy', 'unknown'] as const;
export type CancelResult = (typeof CANCEL_RESULTS)[number];

export interface CancelKeysOptions {
  log: Logger;
  /** This proxy's peer id, carried in every key it hands out. */
  peerId: number;
  /** The other proxies a key may belong to, as they are now. */
  peers: () => readonly Peer[];
  onResult?: (result: CancelResult) => void;
  forwarder?: CancelForwarder;
}

export class CancelKeys {
  private readonly byProcessId = new Map<number, { session: CancelTarget; secretKey: number }>();
  private nextLocalId = randomInt(1, MAX_LOCAL_ID);
  private readonly forwarder: CancelForwarder;
  private readonly log: Logger;

  constructor(private readonly o: CancelKeysOptions) {
    this.log = o.log;
    this.forwarder = o.forwarder ?? new CancelForwarder();
  }

  register(session: CancelTarget): { processId: number; secretKey: number } {
    const processId = this.freeProcessId();
    const secretKey = randomInt(-2_147_483_648, 2_147_483_647);
    this.byProcessId.set(processId, { session, secretKey });
    return { processId, secretKey };
  }

  unregister(processId: number): void {
    this.byProcessId.delete(processId);
  }

  /** The next local id no live client holds (ids wrap around; 0 is never used). */
  private freeProcessId(): number {
    for (let tries = 0; tries < MAX_LOCAL_ID; tries++) {
      const localId = this.nextLocalId;
      this.nextLocalId = localId >= MAX_LOCAL_ID ? 1 : localId + 1;
      const processId = encodeProcessId(this.o.peerId, localId);
      if (!this.byProcessId.has(processId)) return processId;
    }
    throw new Error(`every one of the ${MAX_LOCAL_ID} cancel keys of this proxy is in use`);
  }

  /** A CancelRequest as a client (or a peer) sent it. */
  cancel(wireProcessId: number, secretKey: number): void {
    const key = decodeProcessId(wireProcessId);
    if (!key) return this.o.onResult?.('unknown');
    const entry = this.byProcessId.get(key.processId);
    const owns = entry !== undefined && entry.secretKey === secretKey;
    const route = routeCancel(key, owns, this.o.peers());
    if (route.kind === 'local') return this.cancelLocal(entry!.session);
    if (route.kind === 'drop') return this.o.onResult?.('unknown');
    const processId = forwardedProcessId(key.processId);
    for (const peer of route.to) {
      void this.forwarder.send(peer, processId, secretKey).then(({ result, error }) => {
        if (error !== undefined || result === 'busy') this.log.debug({ peer, result, err: error }, 'could not forward a cancel request to a peer');
        this.o.onResult?.(result);
      });
    }
  }

  /**
   * Our own client's cancel: forwarded only while that client's own request runs on its backend, and
   * the backend does not change hands until the server has taken the cancel (PROTOCOL.md: a cancel
   * interrupts whatever runs when it arrives).
   */
  private cancelLocal(session: CancelTarget): void {
    const backend = session.cancelTarget();
    if (!backend) return this.o.onResult?.('not_running');
    this.o.onResult?.('local');
    backend.cancels++;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      backend.cancels--;
      backend.owner?.onCancelDone?.(backend);
    };
    const socket = net.connect({ host: backend.target.host, port: backend.target.port });
    socket.on('connect', () => socket.end(serialize.cancel(backend.processId, backend.secretKey)));
    socket.on('error', (err) => this.log.warn({ err: err.message }, 'could not forward a cancel request'));
    socket.on('close', finish);
    socket.setTimeout(5_000, () => socket.destroy());
  }
}
