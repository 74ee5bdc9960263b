/**
 * The I/O interface the proxy's connections are driven through, implemented by two movers: the
 * native I/O core (native-conn.ts, plaintext TCP on Node's own loop) and Node's sockets
 * (node-conn.ts, TLS and any machine where the addon is not built). Everything above it (framing,
 * the session machine, the pools) is the same for both.
 */
import type net from 'node:net';

export type Mover = 'native' | 'node';

export interface ConnHandlers {
  /**
   * Bytes read. The chunk may be a view of a read buffer that the next read overwrites: it is valid
   * during this call only; whoever keeps bytes for later copies them (`owned`).
   */
  data(chunk: Buffer): void;
  /** Once, when the connection is gone (peer closed, error, or `destroy`). */
  close(err?: Error): void;
  /** A connect started by `connect` succeeded. */
  connect?(): void;
}

export interface Conn {
  readonly mover: Mover;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** `destroy` was called or the connection closed. */
  readonly destroyed: boolean;
  /** Writes are still accepted (not ended, not destroyed). */
  readonly writable: boolean;
  setHandlers(h: ConnHandlers): void;
  /** Queues bytes (written at once when the kernel takes them); false: over the high-water mark. */
  write(bytes: Buffer): boolean;
  /** Runs `f` once the queue is below the high-water mark again. */
  whenDrained(f: () => void): void;
  /** Writes `last`, then closes the sending side; the connection closes when the peer does. */
  end(last?: Buffer): void;
  destroy(): void;
  pause(): void;
  resume(): void;
  /** For a TLS upgrade: the connection as a Node socket; this Conn is finished. */
  toSocket(): net.Socket;
}

export const NOOP_HANDLERS: ConnHandlers = { data: () => {}, close: () => {} };
