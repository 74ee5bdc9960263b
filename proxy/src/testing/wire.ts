/**
 * A raw PostgreSQL v3 protocol client for tests: builders for every frontend message (and raw bytes
 * for malformed ones), and a connection that does the startup (trust auth) and reads backend
 * messages into small comparable records (wire-records.ts). ParameterStatus is dropped and
 * BackendKeyData is kept aside (`pid`); everything else is a record. Three ways to send: all at once,
 * one write per message, one write per byte.
 */
import net from 'node:net';
import { setImmediate as nextTick } from 'node:timers/promises';
import { decodeBackend, show, type Rec } from './wire-records.js';

// ------------------------------------------------------------------ frontend messages

const cstr = (s: string): Buffer => Buffer.from(s + '\0', 'utf8');
export const i16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
/** A 32-bit integer; values above 2^31 - 1 are written as their unsigned bits (for bad lengths). */
export const i32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** A typed message: type byte, int32 length (itself included), body. */
export function msg(type: string | number, ...body: Buffer[]): Buffer {
  const t = typeof type === 'number' ? type : type.charCodeAt(0);
  const b = Buffer.concat(body);
  return Buffer.concat([Buffer.from([t]), i32(b.length + 4), b]);
}

/** Bytes as given: for malformed messages. */
export const raw = (bytes: Buffer | number[] | string): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes);

export function startup(params: Record<string, string>): Buffer {
  const body = Buffer.concat([i32(196608), ...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]), Buffer.from([0])]);
  return Buffer.concat([i32(body.length + 4), body]);
}

export const query = (sql: string): Buffer => msg('Q', cstr(sql));

export const parse = (name: string, sql: string, paramTypes: number[] = []): Buffer =>
  msg('P', cstr(name), cstr(sql), i16(paramTypes.length), ...paramTypes.map(i32));

function value(v: string | Buffer | null): Buffer {
  if (v === null) return i32(-1);
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  return Buffer.concat([i32(b.length), b]);
}

export interface BindOptions {
  /** Result column format codes (0 text, 1 binary): none = all text, one = for all. */
  resultFormats?: number[];
  /** Parameter format codes, same convention. */
  paramFormats?: number[];
}

export const bind = (portal: string, statement: string, params: (string | Buffer | null)[] = [], opts: BindOptions = {}): Buffer => {
  const pf = opts.paramFormats ?? [];
  const rf = opts.resultFormats ?? [];
  return msg('B', cstr(portal), cstr(statement), i16(pf.length), ...pf.map(i16), i16(params.length), ...params.map(value), i16(rf.length), ...rf.map(i16));
};

export const describe = (kind: 'S' | 'P', name: string): Buffer => msg('D', Buffer.from(kind), cstr(name));
export const execute = (portal = '', maxRows = 0): Buffer => msg('E', cstr(portal), i32(maxRows));
export const close = (kind: 'S' | 'P', name: string): Buffer => msg('C', Buffer.from(kind), cstr(name));
export const sync = (): Buffer => msg('S');
export const flush = (): Buffer => msg('H');
export const terminate = (): Buffer => msg('X');
export const copyData = (data: string | Buffer): Buffer => msg('d', typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
export const copyDone = (): Buffer => msg('c');
export const copyFail = (reason: string): Buffer => msg('f', cstr(reason));

/** FunctionCall: arguments in text format unless `argFormats` says otherwise; result format 0 = text. */
export const functionCall = (oid: number, args: (string | Buffer | null)[], argFormats: number[] = [0], resultFormat = 0): Buffer =>
  msg('F', i32(oid), i16(argFormats.length), ...argFormats.map(i16), i16(args.length), ...args.map(value), i16(resultFormat));

export { decodeBackend, show, type Rec } from './wire-records.js';

// ------------------------------------------------------------------ the connection

export type SendMode = 'coalesced' | 'per-message' | 'bytewise';
export const SEND_MODES: readonly SendMode[] = ['coalesced', 'per-message', 'bytewise'];

/** What a read waits for. */
export type Until =
  | { z: number } // this many ReadyForQuery
  | { close: true } // the connection to close
  | { type: string } // a message of this type
  | { quiet: number }; // whatever arrives within this many ms

export interface Endpoint {
  host: string;
  port: number;
}

export interface StartupOptions {
  user: string;
  database: string;
  params?: Record<string, string>;
  timeoutMs?: number;
}

export class WireConn {
  /** From BackendKeyData, if any was sent. */
  pid: number | undefined;
  secret: number | undefined;
  closed = false;
  private buf: Buffer = Buffer.alloc(0);
  private records: Rec[] = [];
  private wake: (() => void) | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    const gone = (): void => {
      if (this.closed) return;
      this.closed = true;
      this.records.push({ type: 'closed' });
      this.poke();
    };
    socket.on('error', gone);
    socket.on('close', gone);
  }

  /** A TCP connection and nothing else (for startup sent by hand). */
  static raw(ep: Endpoint, timeoutMs = 5_000): Promise<WireConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(ep.port, ep.host);
      const failed = (err: Error): void => {
        clearTimeout(t);
        reject(err);
      };
      const t = setTimeout(() => {
        s.destroy();
        failed(new Error(`connect to ${ep.host}:${ep.port} timed out`));
      }, timeoutMs);
      s.once('error', failed);
      s.once('connect', () => {
        clearTimeout(t);
        s.removeListener('error', failed);
        resolve(new WireConn(s));
      });
    });
  }

  /** Connects and runs the startup (trust auth): returns once the first ReadyForQuery arrived. */
  static async open(ep: Endpoint, o: StartupOptions): Promise<WireConn> {
    const c = await WireConn.raw(ep);
    await c.send([startup({ user: o.user, database: o.database, ...o.params })]);
    const recs = await c.read({ z: 1 }, o.timeoutMs ?? 10_000);
    const last = recs[recs.length - 1];
    if (last?.type !== 'Z') {
      c.destroy();
      throw new Error(`startup on ${ep.host}:${ep.port} failed: ${recs.map(show).join(' | ')}`);
    }
    return c;
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    let at = 0;
    while (this.buf.length - at >= 5) {
      const len = this.buf.readInt32BE(at + 1);
      if (len < 4) {
        // Not the protocol any more (e.g. a single-byte SSL answer); keep it visible.
        this.records.push({ type: '?', hex: this.buf.subarray(at).toString('hex') });
        at = this.buf.length;
        break;
      }
      if (this.buf.length - at < 1 + len) break;
      const type = this.buf[at]!;
      const body = this.buf.subarray(at + 5, at + 1 + len);
      if (type === 0x4b /* K */) {
        this.pid = body.readInt32BE(0);
        this.secret = body.readInt32BE(4);
      } else {
        const r = decodeBackend(type, body);
        if (r) this.records.push(r);
      }
      at += 1 + len;
    }
    this.buf = this.buf.subarray(at);
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Writes the messages: in one write, one write per message, or one write per byte. */
  async send(msgs: Buffer[], mode: SendMode = 'coalesced'): Promise<void> {
    if (this.closed || msgs.length === 0) return;
    const chunks =
      mode === 'coalesced' ? [Buffer.concat(msgs)] : mode === 'per-message' ? msgs : msgs.flatMap((m) => Array.from(m, (byte) => Buffer.from([byte])));
    for (const chunk of chunks) {
      if (this.closed || this.socket.destroyed) return;
      await new Promise<void>((resolve) => this.socket.write(chunk, () => resolve()));
      // A turn of the event loop between writes, so they leave as separate segments.
      if (chunks.length > 1) await nextTick();
    }
  }

  /** Records already received and not yet taken. */
  take(): Rec[] {
    const r = this.records;
    this.records = [];
    return r;
  }

  /**
   * Reads until the condition holds (the matching record included) and returns the records read.
   * On timeout the records so far are returned followed by `{type:'timeout'}`.
   */
  async read(until: Until, timeoutMs = 5_000): Promise<Rec[]> {
    const out: Rec[] = [];
    const deadline = Date.now() + ('quiet' in until ? until.quiet : timeoutMs);
    let zs = 0;
    for (;;) {
      while (this.records.length > 0) {
        const r = this.records.shift()!;
        out.push(r);
        if (r.type === 'closed') return out;
        if ('z' in until && r.type === 'Z' && ++zs >= until.z) return out;
        if ('type' in until && r.type === until.type) return out;
      }
      if (this.closed) return out;
      const left = deadline - Date.now();
      if (left <= 0) {
        if (!('quiet' in until)) out.push({ type: 'timeout', waitingFor: JSON.stringify(until) });
        return out;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Sends Terminate and waits (bounded) for the server to close. */
  async terminate(timeoutMs = 2_000): Promise<void> {
    if (!this.closed) {
      await this.send([terminate()]);
      await this.read({ close: true }, timeoutMs);
    }
    this.destroy();
  }

  /** Half-close from our side (FIN), without Terminate. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
