/** The Node mover: a `net.Socket` (or a TLS socket over one) behind the I/O interface. */
import type net from 'node:net';
import type { Conn, ConnHandlers } from './conn.js';
import { NOOP_HANDLERS } from './conn.js';
import { owned } from './read-buffer.js';

export class NodeConn implements Conn {
  readonly mover = 'node' as const;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private h: ConnHandlers = NOOP_HANDLERS;
  private error: Error | undefined;

  constructor(readonly socket: net.Socket) {
    this.remoteAddress = socket.remoteAddress ?? '?';
    this.remotePort = socket.remotePort ?? 0;
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('connect', this.onConnect);
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  get writable(): boolean {
    return this.socket.writable;
  }

  setHandlers(h: ConnHandlers): void {
    this.h = h;
  }

  write(bytes: Buffer): boolean {
    // Node keeps the buffer until the kernel takes it: a view of the native read buffer is copied.
    return this.socket.write(owned(bytes));
  }

  whenDrained(f: () => void): void {
    this.socket.once('drain', f);
  }

  end(last?: Buffer): void {
    if (last) this.socket.end(owned(last));
    else this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  toSocket(): net.Socket {
    this.socket.off('data', this.onData);
    this.socket.off('error', this.onError);
    this.socket.off('close', this.onClose);
    this.socket.off('connect', this.onConnect);
    this.h = NOOP_HANDLERS;
    return this.socket;
  }

  private readonly onData = (chunk: Buffer): void => this.h.data(chunk);
  private readonly onError = (err: Error): void => {
    this.error ??= err;
  };
  private readonly onClose = (): void => this.h.close(this.error);
  private readonly onConnect = (): void => this.h.connect?.();
}
