/** Sends a CancelRequest on to a peer proxy: one raw 16-byte packet per peer, a bounded number at once, each bounded in time. */
import net from 'node:net';
import { serialize } from 'pg-protocol';
import type { Peer } from './cancel-route.js';

export type ForwardResult = 'forwarded' | 'forward_failed' | 'busy';

export interface ForwarderOptions {
  /** Forwards in flight at once; past it a cancel is dropped (a flood of cancels must not open unbounded sockets). */
  maxInFlight?: number;
  /** Connect and send, all of it. */
  timeoutMs?: number;
}

export class CancelForwarder {
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly timeoutMs: number;

  constructor(o: ForwarderOptions = {}) {
    this.maxInFlight = o.maxInFlight ?? 64;
    this.timeoutMs = o.timeoutMs ?? 2_000;
  }

  /**
   * Resolves once the peer has the packet and closed (a proxy answers a CancelRequest with nothing,
   * as PostgreSQL does), or with why not. Never rejects. Sent once: no retry, which could cancel a
   * later request of the same client.
   */
  send(peer: Peer, processId: number, secretKey: number): Promise<{ result: ForwardResult; error?: string }> {
    if (this.inFlight >= this.maxInFlight) return Promise.resolve({ result: 'busy' });
    this.inFlight++;
    return new Promise((resolve) => {
      let error: string | undefined;
      let sent = false;
      const socket = net.connect({ host: peer.host, port: peer.port });
      const timer = setTimeout(() => {
        error ??= `no answer in ${this.timeoutMs} ms`;
        socket.destroy();
      }, this.timeoutMs);
      socket.on('connect', () => {
        socket.end(serialize.cancel(processId, secretKey), () => (sent = true));
      });
      socket.on('error', (err) => (error ??= err.message));
      socket.on('close', () => {
        clearTimeout(timer);
        this.inFlight--;
        // Once written, the peer has it; how the connection ends after that changes nothing.
        resolve(sent ? { result: 'forwarded' } : { result: 'forward_failed', error: error ?? 'closed before the request was sent' });
      });
    });
  }
}
