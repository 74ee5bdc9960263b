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
  /**
   * A pass armed by `passReplies` ended with a ReadyForQuery the mover forwarded itself: its
   * status byte (the messages before it went to the client unseen).
   */
  passed?(status: number): void;
}

/**
 * Which messages a mover may forward from a backend straight to its client (`passReplies`):
 * an index into the masks `definePassMask` set (native-conn.ts).
 */
export type PassMask = number;

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
  /**
   * From a message boundary on, this backend's replies whose types `mask` forwards go to `to`
   * without a `data` call, up to the first other message (a `data` call from there) or the
   * ReadyForQuery that ends the pass (`passed`). False: the mover cannot (Node's sockets never do).
   */
  passReplies(to: Conn, mask: PassMask): boolean;
  /** Ends a pass: what comes after the message under way goes to `data` again. */
  stopPassing(): void;
  /** For a TLS upgrade: the connection as a Node socket; this Conn is finished. */
  toSocket(): net.Socket;
}

export const NOOP_HANDLERS: ConnHandlers = { data: () => {}, close: () => {} };
