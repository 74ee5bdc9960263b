/**
 * Test support for the session machine: a fake backend (a real ledger and statement map, no
 * socket), a recorder of the machine's effects, and message builders. Pure logic only.
 */
import { serialize } from 'pg-protocol';
import { classify, decide } from '../pinning/index.js';
import { decodeFrontend } from '../session/frontend.js';
import { ReplyLedger } from '../session/ledger.js';
import { SessionMachine, type BackendState, type SessionIO } from '../session/machine.js';
import { BackendStatements } from '../session/statements.js';

const FILTERS = new Set(['EXCLUDE_VARIABLE_SETS']);

export class FakeBackend implements BackendState {
  static next = 1;
  readonly id = FakeBackend.next++;
  readonly ledger = new ReplyLedger();
  readonly statements = new BackendStatements();
  params = new Map<string, string>();
  cancels = 0;
  readonly serverParams = new Map<string, string>();
  /** Message types (one character each, 'Q' for Query…) sent to it. */
  sent: string[] = [];
  sentBytes: Buffer[] = [];
}

/** Records the machine's effects. */
export class Recorder implements SessionIO<FakeBackend> {
  client: string[] = [];
  clientBytes: Buffer[] = [];
  borrows = 0;
  released: FakeBackend[] = [];
  discarded: FakeBackend[] = [];
  ended = false;
  /** The FATAL the session ended with, if any. */
  fatal: { code: string; message: string } | undefined;
  toClient(bytes: Buffer): void {
    this.clientBytes.push(bytes);
    for (const m of split(bytes)) this.client.push(String.fromCharCode(m[0]!) + (m[0] === 0x5a ? String.fromCharCode(m[5]!) : ''));
  }
  toBackend(b: FakeBackend, bytes: Buffer): void {
    b.sentBytes.push(bytes);
    for (const m of split(bytes)) b.sent.push(String.fromCharCode(m[0]!));
  }
  borrow(): void {
    this.borrows++;
  }
  readOnlyErrors = 0;
  serverReadOnly(): void {
    this.readOnlyErrors++;
  }
  cancelBorrow(): void {}
  release(b: FakeBackend): void {
    this.released.push(b);
  }
  discard(b: FakeBackend): void {
    this.discarded.push(b);
  }
  welcome(): void {}
  end(fatal?: { code: string; message: string }): void {
    this.ended = true;
    this.fatal ??= fatal;
  }
  pinned(): void {}
  warn(): void {}
}

export function split(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const len = bytes.readInt32BE(at + 1) + 1;
    out.push(bytes.subarray(at, at + len));
    at += len;
  }
  return out;
}

export function setup() {
  const io = new Recorder();
  const m = new SessionMachine<FakeBackend>(new Map([['user', 'app']]), { decide: (sql) => decide(classify(sql), FILTERS) }, io, false);
  const send = (...msgs: Buffer[]) => {
    for (const b of msgs) for (const one of split(b)) m.onClientMessage(decodeFrontend(one, 0, one.length));
  };
  /** The server's replies, as type characters ('Z' is ReadyForQuery with `status`). Returns the client's view. */
  const reply = (_b: FakeBackend, types: string, status = 'I') => {
    for (const t of types) {
      const code = t.charCodeAt(0);
      const keep = m.onServerBegin(code);
      const body = t === 'Z' ? Buffer.from(status) : t === 'E' ? Buffer.from('SERROR\0VERROR\0C42000\0Mboom\0\0') : Buffer.alloc(0);
      if (keep) io.client.push(t === 'Z' ? `Z${status}` : t);
      m.onServerEnd(code, body);
    }
  };
  return { io, m, send, reply };
}

export const P = (sql: string, name = '') => serialize.parse({ name, text: sql });
export const B = (statement = '') => serialize.bind({ statement });
export const DS = (name = '') => serialize.describe({ type: 'S', name });
export const X = () => serialize.execute({});
export const S = () => serialize.sync();
export const H = () => serialize.flush();
export const Q = (sql: string) => serialize.query(sql);
export const TERMINATE = () => serialize.end();
