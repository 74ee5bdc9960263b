/**
 * Protocol-level prepared statements under transaction pooling. Each Parse of a client is a real
 * Parse on the server (fresh plan, fresh type OIDs), under a backend-unique name; when the client
 * later uses the statement on another backend, the proxy prepares it there first. Nothing is shared
 * between clients, so one client's Close, DDL recovery or name reuse never touches another's.
 */
import { Buffer } from 'node:buffer';
import { FrontendCode } from '../protocol/messages.js';
import type { Hook } from './requests.js';

let nextInstance = 1;

/** One client Parse: its text and the backends that hold it. */
export class Statement {
  /** Empty for the unnamed statement. */
  readonly backendName: string;
  closed = false;
  readonly holders = new Set<BackendStatements>();
  /** The owning client's hook for requests that name it (rewrites backend names in errors). */
  hook: Hook | undefined;

  constructor(
    /** The Parse body after the name: query text, NUL, parameter type OIDs. */
    readonly tail: Buffer,
    named: boolean,
  ) {
    this.backendName = named ? `dbp_${(nextInstance++).toString(36)}` : '';
  }

  /** Parse of this statement under its backend name. */
  parse(): Buffer {
    return parseMessage(this.backendName, this.tail);
  }
}

/** Per-backend cap on statements before the oldest are closed. */
export const MAX_STATEMENTS_PER_BACKEND = 2000;

/** The statements one server connection holds, and the ones to close there at the next chance. */
export class BackendStatements {
  readonly named = new Map<string, Statement>();
  /** The statement in the server's unnamed slot, as far as the proxy sent it. */
  unnamed: Statement | undefined;
  /** Backend names of closed statements still on the server. */
  garbage: string[] = [];
  /** A DEALLOCATE ALL / DISCARD ALL failed half-way: what the server holds is unknown. */
  unknown = false;

  holds(s: Statement): boolean {
    return this.named.get(s.backendName) === s;
  }

  add(s: Statement): void {
    this.named.set(s.backendName, s);
    s.holders.add(this);
  }

  /** The server no longer has it (a Close, or its Parse failed). */
  forget(s: Statement): void {
    if (this.named.get(s.backendName) === s) this.named.delete(s.backendName);
    s.holders.delete(this);
  }

  /** DEALLOCATE ALL or DISCARD ALL ran here: the server holds no named statement. */
  clearAll(): void {
    for (const s of this.named.values()) s.holders.delete(this);
    this.named.clear();
    this.garbage = [];
  }

  /** Close messages for the garbage and for the oldest statements above the cap, emptying the list. */
  takeCloses(): Buffer[] {
    if (this.named.size > MAX_STATEMENTS_PER_BACKEND) {
      let n = this.named.size - MAX_STATEMENTS_PER_BACKEND / 2;
      for (const s of this.named.values()) {
        if (n-- <= 0) break;
        this.forget(s);
        this.garbage.push(s.backendName);
      }
    }
    if (this.garbage.length === 0) return [];
    const out = this.garbage.map((name) => closeStatement(name));
    this.garbage = [];
    return out;
  }
}

/** Ends a statement everywhere: each backend that holds it closes it at its next borrow. */
export function retire(s: Statement, except?: BackendStatements): void {
  s.closed = true;
  for (const b of s.holders) {
    if (b.named.get(s.backendName) === s) {
      b.named.delete(s.backendName);
      if (b !== except) b.garbage.push(s.backendName);
    }
  }
  s.holders.clear();
}

/** A client's statements by the names it gave them. */
export class ClientStatements {
  /** Made at the first named statement: most clients never prepare one, and an empty Map is 184 bytes. */
  private byName: Map<string, Statement> | undefined;
  unnamed: Statement | undefined;

  get named(): Map<string, Statement> {
    return (this.byName ??= new Map());
  }

  /** The client is gone: its statements go too. */
  retireAll(): void {
    if (this.byName !== undefined) for (const s of this.byName.values()) retire(s);
    this.byName = undefined;
    this.unnamed = undefined;
  }
}

/** A statement name no backend ever holds: a request naming it fails as the client's unknown name would. */
export const MISSING = 'dbproxy_missing';

/** Rewrites backend names in an error's text back to the client's. */
export function renamer(backendName: string, clientName: string): (f: Record<string, string>) => Record<string, string> {
  const from = `"${backendName}"`;
  const to = `"${clientName}"`;
  return (f) => {
    if (f['M']?.includes(from)) f['M'] = f['M'].split(from).join(to);
    return f;
  };
}

/** The error PostgreSQL gives for the unnamed statement when there is none. */
export function unnamedMissing(f: Record<string, string>): Record<string, string> {
  if (f['C'] === '26000') f['M'] = 'unnamed prepared statement does not exist';
  return f;
}

// ------------------------------------------------------------------ message encoding

function message(type: number, parts: Buffer[]): Buffer {
  const bodyLength = parts.reduce((n, p) => n + p.length, 0);
  const out = Buffer.allocUnsafe(5 + bodyLength);
  out[0] = type;
  out.writeInt32BE(4 + bodyLength, 1);
  let at = 5;
  for (const p of parts) at += p.copy(out, at);
  return out;
}

const cstr = (s: string): Buffer => Buffer.from(s + '\0', 'utf8');

/** A Parse of `tail` under `name`. */
export function parseMessage(name: string, tail: Buffer): Buffer {
  return message(FrontendCode.Parse, [cstr(name), tail]);
}

/** A Bind with its statement name replaced; portal and everything after the name are kept. */
export function renameBind(buf: Buffer, start: number, end: number, statementAt: number, restAt: number, name: string): Buffer {
  return message(FrontendCode.Bind, [buf.subarray(start + 5, statementAt), cstr(name), buf.subarray(restAt, end)]);
}

/** Describe or Close of a statement ('S') by name. */
export function statementTarget(type: FrontendCode.Describe | FrontendCode.Close, name: string): Buffer {
  return message(type, [Buffer.from('S'), cstr(name)]);
}

export function closeStatement(name: string): Buffer {
  return statementTarget(FrontendCode.Close, name);
}

export const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);
