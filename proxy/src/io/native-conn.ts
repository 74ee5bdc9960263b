/**
 * The native mover: connections owned by the native I/O core (proxy/native), driven through the
 * same interface as Node's sockets. One callback from the core carries every event; chunks read
 * are views of READ_BUFFER (no copy, no allocation per read).
 */
import { Buffer } from 'node:buffer';
import { lookup } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import type { Conn, ConnHandlers } from './conn.js';
import { NOOP_HANDLERS } from './conn.js';
import { READ_BUFFER } from './read-buffer.js';

/** The addon's functions (proxy/native/src/api.c). */
export interface NativeCore {
  init(readBuffer: ArrayBuffer, events: ArrayBuffer, callback: (count: number) => void): void;
  adopt(fd: number): number;
  connect(ip: string, port: number): number;
  listen(ip: string, port: number, backlog: number): number;
  listenPort(listener: number): number;
  unlisten(listener: number): void;
  peer(id: number): string;
  write(id: number, bytes: Buffer): number;
  pause(id: number): void;
  resume(id: number): void;
  end(id: number): void;
  destroy(id: number): void;
  release(id: number): number;
  queued(id: number): number;
}

const enum Event {
  Data = 0,
  Drain = 1,
  Close = 2,
  Connect = 3,
  Accept = 4,
}

const table: (NativeConn | undefined)[] = [];
/** Who takes the connections each listener of the core accepts (native-listener.ts). */
const acceptors = new Map<number, (c: NativeConn) => void>();
/** The core's event queue: 4 int32 per event (kind, id, value, offset of the data in READ_BUFFER). */
const EVENTS = new Int32Array(4 * 1024);
let addon: NativeCore | undefined;
let loadError: string | undefined;

/** Where the addon is: DBPROXY_NATIVE_ADDON, else proxy/native/build/Release (from src/ or dist/). */
function candidates(): string[] {
  const env = process.env['DBPROXY_NATIVE_ADDON'];
  if (env) return [env];
  const rel = 'native/build/Release/dbproxy_io.node';
  return [new URL(`../../${rel}`, import.meta.url), new URL(`../../../../proxy/${rel}`, import.meta.url)].map((u) => fileURLToPath(u));
}

/** Loads the native core once; undefined (with `nativeUnavailable()` saying why) if it cannot. */
export function nativeCore(): NativeCore | undefined {
  if (addon || loadError) return addon;
  const found = candidates().find((p) => existsSync(p));
  if (!found) {
    loadError = `the native I/O core is not built (looked for ${candidates().join(', ')}; make build builds it)`;
    return undefined;
  }
  try {
    const a = createRequire(import.meta.url)(found) as NativeCore;
    a.init(READ_BUFFER, EVENTS.buffer, dispatch);
    addon = a;
  } catch (err) {
    loadError = `the native I/O core at ${found} did not load: ${(err as Error).message}`;
  }
  return addon;
}

export function nativeUnavailable(): string | undefined {
  nativeCore();
  return loadError;
}

let dispatchError: (err: unknown) => void = (err) => process.emitWarning(`native I/O event failed: ${(err as Error).stack ?? String(err)}`);

/** Who hears of an exception thrown by a connection's handler (the connection itself is closed). */
export function onDispatchError(f: (err: unknown) => void): void {
  dispatchError = f;
}

/**
 * From the core, once per loop iteration with that iteration's events. An exception never crosses
 * back into C: it ends that one connection.
 */
function dispatch(count: number): void {
  const e = EVENTS;
  for (let i = 0; i < count * 4; i += 4) {
    const id = e[i + 1]!;
    if (e[i] === Event.Accept) {
      accepted(id, e[i + 2]!);
      continue;
    }
    const c = table[id];
    if (c === undefined) continue;
    try {
      deliver(c, e[i]!, id, e[i + 2]!, e[i + 3]!);
    } catch (err) {
      c.destroy();
      dispatchError(err);
    }
  }
}

/** A client the core accepted on `listener`: before any of its data (the core queues it first). */
function accepted(id: number, listener: number): void {
  const c = NativeConn.accepted(addon!, id);
  const to = acceptors.get(listener);
  // Accepted in the same loop iteration as its listener closed: refused, as the backlog's are.
  if (to === undefined) return c.destroy();
  try {
    to(c);
  } catch (err) {
    c.destroy();
    dispatchError(err);
  }
}

/** Routes what `listener` accepts to `f` (undefined: none any more). */
export function setAcceptor(listener: number, f: ((c: NativeConn) => void) | undefined): void {
  if (f === undefined) acceptors.delete(listener);
  else acceptors.set(listener, f);
}

function deliver(c: NativeConn, kind: number, id: number, value: number, offset: number): void {
  switch (kind) {
    case Event.Data:
      // Node does not deliver data after destroy(): neither does this.
      if (c.destroyed) return;
      return c.onData(Buffer.from(READ_BUFFER, offset, value));
    case Event.Drain:
      return c.onDrain();
    case Event.Close:
      table[id] = undefined;
      return c.onClose(value);
    case Event.Connect:
      return c.onConnect();
  }
}

/** The core takes numeric addresses only: a name is looked up first (its first address, as Node's connect and listen take). */
export async function numericAddress(host: string): Promise<string> {
  return net.isIP(host) ? host : (await lookup(host)).address;
}

/** `errno`: negative, as libuv and Node write them. */
function errnoError(errno: number, what: string): Error {
  const code = getSystemErrorName(errno);
  return Object.assign(new Error(`${what}: ${code}`), { code, errno });
}

export class NativeConn implements Conn {
  readonly mover = 'native' as const;
  private h: ConnHandlers = NOOP_HANDLERS;
  /** Made at the first wait for a drain (most connections never fill their socket). */
  private drains: (() => void)[] | undefined;
  private gone = false;
  private ended = false;
  private connecting = false;

  private constructor(
    private readonly core: NativeCore,
    private readonly id: number,
    readonly remoteAddress: string,
    readonly remotePort: number,
  ) {
    table[id] = this;
  }

  /** Takes over an accepted Node socket (paused since accept): the core reads and writes it from now on. */
  static adopt(core: NativeCore, socket: net.Socket): NativeConn {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (fd === undefined || fd < 0) throw new Error('the accepted socket has no file descriptor');
    const id = core.adopt(fd);
    if (id < 0) throw errnoError(id, 'cannot hand the connection to the native I/O core');
    const c = new NativeConn(core, id, socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    socket.destroy(); // closes Node's descriptor; the core holds its own copy
    return c;
  }

  /** A connection the core accepted itself (listen): where it came from is asked once. */
  static accepted(core: NativeCore, id: number): NativeConn {
    const peer = core.peer(id);
    const space = peer.lastIndexOf(' ');
    return space < 0 ? new NativeConn(core, id, '?', 0) : new NativeConn(core, id, peer.slice(0, space), Number(peer.slice(space + 1)));
  }

  /** Connects to `ip:port` (a numeric address); `connect` or `close` follows. */
  static connect(core: NativeCore, ip: string, port: number, h: ConnHandlers): NativeConn {
    const id = core.connect(ip, port);
    if (id < 0) throw errnoError(id, `cannot connect to ${ip}:${port}`);
    const c = new NativeConn(core, id, ip, port);
    c.h = h;
    c.connecting = true;
    return c;
  }

  get destroyed(): boolean {
    return this.gone;
  }

  get writable(): boolean {
    return !this.gone && !this.ended;
  }

  setHandlers(h: ConnHandlers): void {
    this.h = h;
  }

  write(bytes: Buffer): boolean {
    if (!this.writable) return false;
    const r = this.core.write(this.id, bytes);
    // -1: the peer is gone (the close follows from the loop); nothing more is written.
    if (r < 0) this.ended = true;
    return r === 1;
  }

  whenDrained(f: () => void): void {
    (this.drains ??= []).push(f);
  }

  end(last?: Buffer): void {
    if (!this.writable) return;
    if (last) this.core.write(this.id, last);
    this.ended = true;
    this.core.end(this.id);
  }

  destroy(): void {
    if (this.gone) return;
    this.gone = true;
    this.core.destroy(this.id);
  }

  pause(): void {
    if (!this.gone) this.core.pause(this.id);
  }

  resume(): void {
    if (!this.gone) this.core.resume(this.id);
  }

  toSocket(): net.Socket {
    const fd = this.gone ? -1 : this.core.release(this.id);
    if (fd < 0) throw new Error('the connection cannot be handed to a TLS socket now');
    this.gone = true;
    table[this.id] = undefined;
    this.h = NOOP_HANDLERS;
    return new net.Socket({ fd, readable: true, writable: true });
  }

  onData(chunk: Buffer): void {
    this.h.data(chunk);
  }

  onDrain(): void {
    const f = this.drains;
    if (f === undefined) return;
    this.drains = undefined;
    for (const d of f) d();
  }

  onClose(errno: number): void {
    this.gone = true;
    this.drains = undefined;
    const what = this.connecting ? `connect` : 'connection lost';
    const err = errno === 0 ? undefined : errnoError(-errno, what);
    if (err && this.connecting) err.message = `connect ${(err as Error & { code: string }).code} ${this.remoteAddress}:${this.remotePort}`;
    this.h.close(err);
  }

  onConnect(): void {
    this.connecting = false;
    this.h.connect?.();
  }
}
