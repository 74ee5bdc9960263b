// The client end of one relay stream: a native Conn (maybe handed over to a Node socket) or a Node socket.
import type net from 'node:net';
import { waitFor } from '../../testing/wait.js';
import type { Conn, ConnHandlers } from '../conn.js';
import { stats } from './report.js';

export interface ClientState {
  closed: boolean;
  err: Error | undefined;
  connected: boolean;
  problem: boolean;
}

/** The client end of one relay stream: native (a Conn, maybe handed over to a Node socket) or Node. */
export class RelayEnd {
  conn: Conn | undefined;
  sock: net.Socket | undefined;
  constructor(
    readonly st: ClientState,
    private readonly handlers: Required<ConnHandlers>,
  ) {}

  attach(sock: net.Socket): void {
    this.sock = sock;
    sock.on('data', this.handlers.data);
    sock.on('error', (e) => (this.st.err ??= e));
    sock.on('close', () => this.handlers.close(this.st.err));
  }
  write(b: Buffer): boolean {
    return this.sock ? this.sock.write(b) : this.conn!.write(b);
  }
  async drained(what: string): Promise<void> {
    let done = false;
    if (this.sock) this.sock.once('drain', () => (done = true));
    else this.conn!.whenDrained(() => (done = true));
    await waitFor(() => done || this.st.closed, what, { timeoutMs: 10_000, intervalMs: 1 });
  }
  pauseFor(ms: number): void {
    const t = this.sock ?? this.conn!;
    t.pause();
    setTimeout(() => t.resume(), ms);
  }
  end(): void {
    if (this.sock) this.sock.end();
    else this.conn!.end();
  }
  destroy(reset: boolean): void {
    if (this.sock) {
      if (reset && !this.sock.destroyed) this.sock.resetAndDestroy();
      else this.sock.destroy();
    } else this.conn!.destroy();
  }
  /** Native only: hands the connection to a Node socket when the core allows it (nothing queued). */
  handover(): boolean {
    if (this.sock || !this.conn) return false;
    let s: net.Socket;
    try {
      s = this.conn.toSocket();
    } catch {
      return false;
    }
    stats.relay.handovers++;
    this.attach(s);
    return true;
  }
}
