/**
 * One framed client message after startup, decoded as far as the session needs, at the moment it
 * arrives: a malformed message fails here, on the path of the connection that sent it, never later
 * inside another client's callback.
 */
import { Buffer } from 'node:buffer';
import { ProtocolError } from '../protocol/errors.js';
import { FrontendCode, decodeBind, decodeParse, decodeQuery, decodeTarget } from '../protocol/messages.js';

export interface FrontendMessage {
  readonly type: number;
  readonly buf: Buffer;
  readonly start: number;
  readonly end: number;
  /** Query text, or the query of a Parse. */
  readonly sql: string;
  /** Statement name (Parse, Bind, Describe/Close of 'S') or portal name (Describe/Close of 'P'). */
  readonly name: string;
  /** Describe/Close: 'S' (0x53) or 'P' (0x50). */
  readonly kind: number;
  /** Parse: where the query starts. Bind: where the statement name starts. */
  readonly at: number;
  /** Bind: just after the statement name. */
  readonly restAt: number;
}

/** The message types a client may send after startup (1 = valid), for the framer. */
export const FRONTEND_TYPES = new Uint8Array(256);

const VALID = new Set<number>([
  FrontendCode.Bind,
  FrontendCode.Close,
  FrontendCode.Describe,
  FrontendCode.Execute,
  FrontendCode.FunctionCall,
  FrontendCode.Flush,
  FrontendCode.Parse,
  FrontendCode.Query,
  FrontendCode.Sync,
  FrontendCode.Terminate,
  FrontendCode.CopyData,
  FrontendCode.CopyDone,
  FrontendCode.CopyFail,
]);

for (const t of VALID) FRONTEND_TYPES[t] = 1;

/** Messages with no body (1 = none): anything more is malformed. */
const EMPTY_BODY = new Uint8Array(256);
for (const t of [FrontendCode.Sync, FrontendCode.Flush, FrontendCode.Terminate, FrontendCode.CopyDone]) EMPTY_BODY[t] = 1;

export function decodeFrontend(buf: Buffer, start: number, end: number): FrontendMessage {
  const type = buf[start]!;
  // (Tables, not Sets: this runs for every client message.)
  if (FRONTEND_TYPES[type] !== 1) throw new ProtocolError(`invalid frontend message type ${type}`);
  if (EMPTY_BODY[type] === 1 && end - start !== 5) throw new ProtocolError('invalid message format');
  let sql = '';
  let name = '';
  let kind = 0;
  let at = 0;
  let restAt = 0;
  switch (type) {
    case FrontendCode.Query:
      sql = decodeQuery(buf, start, end);
      break;
    case FrontendCode.Parse: {
      const p = decodeParse(buf, start, end);
      name = p.name;
      sql = p.query;
      at = p.queryAt;
      break;
    }
    case FrontendCode.Bind: {
      const b = decodeBind(buf, start, end);
      name = b.statement;
      restAt = b.restAt;
      at = restAt - Buffer.byteLength(name) - 1;
      break;
    }
    case FrontendCode.Execute:
      if (buf.indexOf(0, start + 5) < 0 || buf.indexOf(0, start + 5) + 5 > end) throw new ProtocolError('invalid message format');
      break;
    case FrontendCode.Describe:
    case FrontendCode.Close: {
      const t = decodeTarget(buf, start, end);
      kind = t.kind;
      name = t.name;
      break;
    }
  }
  return { type, buf, start, end, sql, name, kind, at, restAt };
}

/** The message as bytes of its own. */
export function bytesOf(m: FrontendMessage): Buffer {
  return m.buf.subarray(m.start, m.end);
}

/**
 * The message with its own copy of its bytes, for keeping past the event that read it (a read
 * buffer is reused by the next read).
 */
export function retain(m: FrontendMessage): FrontendMessage {
  const d = m.start;
  const buf = Buffer.from(m.buf.subarray(m.start, m.end));
  return { ...m, buf, start: 0, end: m.end - d, at: m.at > 0 ? m.at - d : 0, restAt: m.restAt > 0 ? m.restAt - d : 0 };
}
