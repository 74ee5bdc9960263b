/**
 * Bytes between one client socket and its backend: writes to the backend batched per event (one
 * write per client chunk), and backpressure both ways — a client that does not read pauses its
 * backend; a server that does not read pauses the client.
 */
import type { BackendConnection } from '../backend/connection.js';
import type { Conn } from '../io/conn.js';

export class Flow {
  private pending: Buffer[] = [];
  private target: BackendConnection | undefined;
  private paused: BackendConnection | undefined;
  /** The client's reading is paused until this backend's socket drains. */
  private heldBy: { backend: BackendConnection; client: Conn } | undefined;

  /** Queues bytes for `backend`; they go out at the next `flush`. */
  toBackend(backend: BackendConnection, bytes: Buffer): void {
    if (this.target !== backend) this.flush(undefined);
    this.target = backend;
    this.pending.push(bytes);
  }

  /** Writes what is queued. `client`: paused while the backend's socket is full (not after it ended). */
  flush(client: Conn | undefined): void {
    const b = this.target;
    const out = this.pending;
    if (b === undefined || out.length === 0) return;
    this.pending = [];
    if (b.closed) return;
    const ok = b.conn.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    // A backend that cannot take bytes any more (its server is gone) never drains: its close
    // answers the client, which must go on reading.
    if (ok || !client || !b.conn.writable || this.heldBy) return;
    client.pause();
    this.heldBy = { backend: b, client };
    b.conn.whenDrained(() => this.release(b));
  }

  /** The client reads again if `backend` held it (it drained, or it leaves the session). */
  release(backend: BackendConnection): void {
    const h = this.heldBy;
    if (h === undefined || h.backend !== backend) return;
    this.heldBy = undefined;
    h.client.resume();
  }

  /** Before `backend` changes hands: what this session queued for it goes first. */
  flushFor(backend: BackendConnection, client: Conn | undefined): void {
    if (this.target === backend) this.flush(client);
  }

  /** Drops what is queued (the session failed). */
  drop(): void {
    this.pending = [];
  }

  /** Writes to the client; a full socket pauses `backend` until the client drains. */
  toClient(client: Conn, bytes: Buffer, backend: BackendConnection | undefined): void {
    // A client that cannot take bytes any more (closed, or failing) does not hold its backend back.
    if (client.write(bytes) || backend === undefined || this.paused || !client.writable) return;
    backend.conn.pause();
    this.paused = backend;
    client.whenDrained(() => this.resume());
  }

  /** The client drained (or `backend` leaves the session): the backend reads again. */
  resume(backend?: BackendConnection): void {
    const b = this.paused;
    if (b === undefined || (backend !== undefined && b !== backend)) return;
    this.paused = undefined;
    b.conn.resume();
  }
}
