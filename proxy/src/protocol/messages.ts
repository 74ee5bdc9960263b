/**
 * Tiny decoders for the client and server messages the proxy must understand, and encoders for what
 * the proxy itself says to clients. Names follow the PostgreSQL protocol documentation. Offsets are
 * into the framed buffer: `start` is the message's type byte, `end` one past its last byte.
 */
import { Buffer } from 'node:buffer';
import { ProtocolError } from './errors.js';

export const PROTOCOL_3 = 196608;
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;

// Message type codes (first byte), as in the PostgreSQL documentation: the client's and the
// server's apart, since the same byte means different messages in each direction.
export const enum FrontendCode {
  Bind = 0x42, // B
  Close = 0x43, // C
  CopyData = 0x64, // d
  CopyDone = 0x63, // c
  CopyFail = 0x66, // f
  Describe = 0x44, // D
  Execute = 0x45, // E
  Flush = 0x48, // H
  FunctionCall = 0x46, // F
  Parse = 0x50, // P
  PasswordMessage = 0x70, // p (also SASLInitialResponse, SASLResponse)
  Query = 0x51, // Q
  Sync = 0x53, // S
  Terminate = 0x58, // X
}

export const enum BackendCode {
  Authentication = 0x52, // R
  BackendKeyData = 0x4b, // K
  BindComplete = 0x32, // 2
  CloseComplete = 0x33, // 3
  CommandComplete = 0x43, // C
  CopyBothResponse = 0x57, // W
  CopyData = 0x64, // d
  CopyDone = 0x63, // c
  CopyInResponse = 0x47, // G
  CopyOutResponse = 0x48, // H
  DataRow = 0x44, // D
  EmptyQueryResponse = 0x49, // I
  ErrorResponse = 0x45, // E
  FunctionCallResponse = 0x56, // V
  NoData = 0x6e, // n
  NoticeResponse = 0x4e, // N
  NotificationResponse = 0x41, // A
  ParameterDescription = 0x74, // t
  ParameterStatus = 0x53, // S
  ParseComplete = 0x31, // 1
  PortalSuspended = 0x73, // s
  ReadyForQuery = 0x5a, // Z
  RowDescription = 0x54, // T
}

/** Reads a NUL-terminated string at `pos`; returns the string and the position after the NUL. */
export function readCString(buf: Buffer, pos: number, end: number): [string, number] {
  const nul = buf.indexOf(0, pos);
  if (nul < 0 || nul >= end) throw new ProtocolError('invalid string in message: missing terminator');
  return [buf.toString('utf8', pos, nul), nul + 1];
}

export type StartupPacket =
  | { kind: 'startup'; params: Map<string, string> }
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  | { kind: 'cancel'; processId: number; secretKey: number };

/** Decodes a startup-phase packet (no type byte): StartupMessage, SSLRequest, GSSENCRequest, CancelRequest. */
export function decodeStartupPacket(buf: Buffer, start: number, end: number): StartupPacket {
  const code = buf.readInt32BE(start + 4);
  if (code === SSL_REQUEST) return { kind: 'ssl' };
  if (code === GSSENC_REQUEST) return { kind: 'gssenc' };
  if (code === CANCEL_REQUEST) {
    if (end - start !== 16) throw new ProtocolError('invalid length of cancel request packet');
    return { kind: 'cancel', processId: buf.readInt32BE(start + 8), secretKey: buf.readInt32BE(start + 12) };
  }
  if (code >>> 16 !== 3) {
    throw new ProtocolError(`unsupported frontend protocol ${code >>> 16}.${code & 0xffff}: server supports 3.0 to 3.0`, '0A000');
  }
  const params = new Map<string, string>();
  let pos = start + 8;
  while (pos < end && buf[pos] !== 0) {
    const [name, afterName] = readCString(buf, pos, end);
    const [value, afterValue] = readCString(buf, afterName, end);
    params.set(name, value);
    pos = afterValue;
  }
  if (pos !== end - 1) throw new ProtocolError('invalid startup packet layout: expected terminator as last byte');
  if (!params.get('user')) throw new ProtocolError('no PostgreSQL user name specified in startup packet', '28000');
  return { kind: 'startup', params };
}

/** The SQL text of a Query message. */
export function decodeQuery(buf: Buffer, start: number, end: number): string {
  if (buf[end - 1] !== 0) throw new ProtocolError('invalid Query message: missing terminator');
  return buf.toString('utf8', start + 5, end - 1);
}

export interface ParseMessage {
  name: string;
  query: string;
  /** Offset of the query text (after the name), so the name can be replaced without re-encoding. */
  queryAt: number;
}

export function decodeParse(buf: Buffer, start: number, end: number): ParseMessage {
  const [name, queryAt] = readCString(buf, start + 5, end);
  const [query] = readCString(buf, queryAt, end);
  return { name, query, queryAt };
}

export interface BindMessage {
  portal: string;
  statement: string;
  /** Offset just after the statement name. */
  restAt: number;
}

export function decodeBind(buf: Buffer, start: number, end: number): BindMessage {
  const [portal, statementAt] = readCString(buf, start + 5, end);
  const [statement, restAt] = readCString(buf, statementAt, end);
  return { portal, statement, restAt };
}

/** Describe and Close: a kind byte ('S' statement or 'P' portal) and a name. */
export function decodeTarget(buf: Buffer, start: number, end: number): { kind: number; name: string } {
  if (end - start < 7) throw new ProtocolError('invalid Describe/Close message');
  const kind = buf[start + 5]!;
  if (kind !== 0x53 && kind !== 0x50) throw new ProtocolError(`invalid Describe/Close target type "${String.fromCharCode(kind)}"`);
  const [name] = readCString(buf, start + 6, end);
  return { kind, name };
}

// ---------- server messages (bodies only: the scanner hands over the body) ----------

export function decodeParameterStatus(body: Buffer): [string, string] {
  const [name, at] = readCString(body, 0, body.length);
  const [value] = readCString(body, at, body.length);
  return [name, value];
}

export type ErrorFields = Record<string, string>;

/** ErrorResponse / NoticeResponse body → fields keyed by their one-letter code (S, V, C, M, D, H…). */
export function decodeErrorFields(body: Buffer): ErrorFields {
  const fields: ErrorFields = {};
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const code = String.fromCharCode(body[pos]!);
    const [value, next] = readCString(body, pos + 1, body.length);
    fields[code] = value;
    pos = next;
  }
  return fields;
}

export function decodeCommandComplete(body: Buffer): string {
  return readCString(body, 0, body.length)[0];
}

// ---------- encoders for what the proxy says itself ----------

/** A backend message of `type` around `body` (the header computed). */
export function message(type: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

/** NUL-terminated UTF-8 strings, in one allocation (the welcome encodes some for every client). */
function cstrings(...values: string[]): Buffer {
  let n = 0;
  for (let i = 0; i < values.length; i++) n += Buffer.byteLength(values[i]!) + 1;
  const b = Buffer.allocUnsafe(n);
  let at = 0;
  for (let i = 0; i < values.length; i++) {
    at += b.write(values[i]!, at);
    b[at++] = 0;
  }
  return b;
}

function int32(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(4 * values.length);
  for (let i = 0; i < values.length; i++) b.writeInt32BE(values[i]!, i * 4);
  return b;
}

export const authenticationOk = (): Buffer => message(BackendCode.Authentication, int32(0));
export const authenticationCleartextPassword = (): Buffer => message(BackendCode.Authentication, int32(3));
export const authenticationMD5Password = (salt: Buffer): Buffer => message(BackendCode.Authentication, Buffer.concat([int32(5), salt]));
export const authenticationSASL = (mechanisms: string[]): Buffer =>
  message(BackendCode.Authentication, Buffer.concat([int32(10), cstrings(...mechanisms), Buffer.from([0])]));
export const authenticationSASLContinue = (data: string): Buffer => message(BackendCode.Authentication, Buffer.concat([int32(11), Buffer.from(data, 'utf8')]));
export const authenticationSASLFinal = (data: string): Buffer => message(BackendCode.Authentication, Buffer.concat([int32(12), Buffer.from(data, 'utf8')]));
export const parameterStatus = (name: string, value: string): Buffer => message(BackendCode.ParameterStatus, cstrings(name, value));
export const backendKeyData = (processId: number, secretKey: number): Buffer => message(BackendCode.BackendKeyData, int32(processId, secretKey));
export const readyForQuery = (status: 'I' | 'T' | 'E'): Buffer => message(BackendCode.ReadyForQuery, Buffer.from(status));
export const commandComplete = (tag: string): Buffer => message(BackendCode.CommandComplete, cstrings(tag));

export interface ErrorInfo {
  severity: 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'INFO' | 'LOG';
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

function fieldsBody(e: ErrorInfo): Buffer {
  const parts = [`S${e.severity}`, `V${e.severity}`, `C${e.code}`, `M${e.message}`];
  if (e.detail) parts.push(`D${e.detail}`);
  if (e.hint) parts.push(`H${e.hint}`);
  return Buffer.concat([cstrings(...parts), Buffer.from([0])]);
}

export const errorResponse = (e: ErrorInfo): Buffer => message(BackendCode.ErrorResponse, fieldsBody(e));
export const noticeResponse = (e: ErrorInfo): Buffer => message(BackendCode.NoticeResponse, fieldsBody(e));

/** A server message from raw fields, for forwarding an error the proxy received from a backend. */
export const errorResponseFromFields = (fields: ErrorFields): Buffer =>
  message(BackendCode.ErrorResponse, Buffer.concat([cstrings(...Object.entries(fields).map(([k, v]) => k + v)), Buffer.from([0])]));
