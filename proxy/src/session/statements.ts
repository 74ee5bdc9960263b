/**
 * Protocol-level prepared statements under transaction pooling. A client's named statement lives in
 * the client session (its Parse body); on each backend it is prepared on demand under a name derived
 * from a hash of that body, so clients that prepare the same SQL share one backend statement.
 */
import { createHash } from 'node:crypto';
import { Code } from '../protocol/messages.js';

export interface ClientStatement {
  /** Backend-side name: `dbp_` + hash of the Parse body after the name (query + parameter types). */
  backendName: string;
  /** The Parse body after the statement name: query text, NUL, parameter type OIDs. */
  tail: Buffer;
}

export function clientStatement(tail: Buffer): ClientStatement {
  const hash = createHash('sha256').update(tail).digest('base64url').slice(0, 22);
  return { backendName: `dbp_${hash}`, tail: Buffer.from(tail) };
}

function withHeader(type: number, parts: Buffer[]): Buffer {
  const bodyLength = parts.reduce((n, p) => n + p.length, 0);
  const out = Buffer.allocUnsafe(5 + bodyLength);
  out[0] = type;
  out.writeInt32BE(4 + bodyLength, 1);
  let at = 5;
  for (const p of parts) at += p.copy(out, at);
  return out;
}

const cstr = (s: string): Buffer => Buffer.from(s + '\0', 'utf8');

export function parseMessage(name: string, tail: Buffer): Buffer {
  return withHeader(Code.Parse, [cstr(name), tail]);
}

/** Parse of the empty query into the unnamed statement: answered with ParseComplete, costs nothing. */
export const EMPTY_PARSE = parseMessage('', Buffer.from([0, 0, 0]));

/** A Bind with its statement name replaced; portal and everything after the name are kept. */
export function renameBind(buf: Buffer, start: number, end: number, statementAt: number, restAt: number, name: string): Buffer {
  return withHeader(Code.Bind, [buf.subarray(start + 5, statementAt), cstr(name), buf.subarray(restAt, end)]);
}

/** Describe or Close of a statement ('S') by its backend name. */
export function statementTarget(type: Code.Describe | Code.Close, name: string): Buffer {
  return withHeader(type, [Buffer.from('S'), cstr(name)]);
}

/**
 * Closing a client's statement must not close the shared backend statement, yet the client expects a
 * CloseComplete in order: closing a statement that does not exist is not an error, so this does it.
 */
export const NOOP_CLOSE = statementTarget(Code.Close, 'dbproxy_no_such_statement');
