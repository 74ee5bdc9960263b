/**
 * Bytes between one client socket and its backend: writes to the backend batched per event (one
 * write per client chunk), and backpressure both ways — a client that does not read pauses its
 * backend and is not read either (as PostgreSQL stops reading a client it cannot write to); a
 * server that does not read pauses the client; so does a client whose messages queue for a backend
 * past a cap. Each leg thus holds at most a socket's high-water mark and one chunk for a connection.
 */
import { Buffer } from 'node:buffer';
import type { BackendConnection } from '../backend/connection.js';
import type { Conn } from '../io/conn.js';

/** Why the client's reading is paused: it reads again once none is left. */
const enum Hold {
  /** Its backend's socket is full. */
  Backend = 1,
  /** Its own socket is full: it does not read its replies. */
  Client = 2,
  /** What it sent waits for a backend, past the queue's cap. */
  Queue = 4,
}

export class Flow {
  /** Bytes for `target` until the event's flush: one message alone (the usual case: no array made), or several. */
  private pending: Buffer | Buffer[] | undefined;
  private target: BackendConnection | undefined;
  /** The backend paused until the client's socket drains. */
  private paused: BackendConnection | undefined;
  /** The backend whose socket holds the client's reading until it drains. */
  private heldBy: BackendConnection | undefined;
  /** A drain of the client's socket is awaited. */
  private clientFull = false;
  private holds = 0;
  private held: Conn | undefined;

  /** Queues bytes for `backend`; they go out at the next `flush`. */
  toBackend(backend: BackendConnection, bytes: Buffer): void {
    if (this.target !== backend) this.flush(undefined);
    this.target = backend;
    const p = this.pending;
    if (p === undefined) this.pending = bytes;
    else if (Array.isArray(p)) p.push(bytes);
    else this.pending = [p, bytes];
  }

  /** Writes what is queued. `client`: paused while the backend's socket is full (not after it ended). */
  flush(client: Conn | undefined): void {
    const b = this.target;
    const out = this.pending;
    if (b === undefined || out === undefined) return;
    this.pending = undefined;
    if (b.closed) return;
    const ok = b.conn.write(Array.isArray(out) ? Buffer.concat(out) : out);
    // A backend that cannot take bytes any more (its server is gone) never drains: its close
    // answers the client, which must go on reading.
    if (ok || !client || !b.conn.writable || this.heldBy) return;
    this.heldBy = b;
    this.hold(client, Hold.Backend);
    b.conn.whenDrained(() => this.release(b));
  }

  /** The client reads again if `backend` held it (it drained, or it leaves the session). */
  release(backend: BackendConnection): void {
    if (this.heldBy === undefined || this.heldBy !== backend) return;
    this.heldBy = undefined;
    this.unhold(Hold.Backend);
  }

  /** Before `backend` changes hands: what this session queued for it goes first. */
  flushFor(backend: BackendConnection, client: Conn | undefined): void {
    if (this.target === backend) this.flush(client);
  }

  /** Drops what is queued (the session failed). */
  drop(): void {
    this.pending = undefined;
  }

  /** Writes to the client; a full socket pauses `backend`, and the client's reading, until it drains. */
  toClient(client: Conn, bytes: Buffer, backend: BackendConnection | undefined): void {
    // A client that cannot take bytes any more (closed, or failing) does not hold its backend back.
    if (client.write(bytes) || !client.writable) return;
    if (backend !== undefined && this.paused === undefined) {
      backend.conn.pause();
      this.paused = backend;
    }
    if (this.clientFull) return;
    // Replies the proxy gives itself (no backend) would otherwise queue without end.
    this.clientFull = true;
    this.hold(client, Hold.Client);
    client.whenDrained(() => {
      this.clientFull = false;
      this.unhold(Hold.Client);
      this.resume();
    });
  }

  /** The client drained (or `backend` leaves the session): the backend reads again. */
  resume(backend?: BackendConnection): void {
    const b = this.paused;
    if (b === undefined || (backend !== undefined && b !== backend)) return;
    this.paused = undefined;
    b.conn.resume();
  }

  /** Whether the client's messages waiting for a backend are past the queue's cap: held while they are. */
  queueFull(client: Conn, full: boolean): void {
    if (full) this.hold(client, Hold.Queue);
    else this.unhold(Hold.Queue);
  }

  private hold(client: Conn, why: Hold): void {
    if (this.holds & why) return;
    if (this.holds === 0) client.pause();
    this.holds |= why;
    this.held = client;
  }

  private unhold(why: Hold): void {
    if (!(this.holds & why)) return;
    this.holds &= ~why;
    if (this.holds === 0) this.held?.resume();
  }
}
