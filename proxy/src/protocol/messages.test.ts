import { describe, expect, it } from 'vitest';
import {
  authenticationOk,
  backendKeyData,
  commandComplete,
  decodeErrorFields,
  decodeParameterStatus,
  errorResponse,
  parameterStatus,
  readyForQuery,
} from './messages.js';

/** A message header written by hand: the type byte, then the length (itself included) big-endian. */
function header(type: string, bodyLength: number): Buffer {
  const h = Buffer.alloc(5);
  h.write(type, 0, 'latin1');
  h.writeUInt32BE(4 + bodyLength, 1);
  return h;
}

describe('encoders', () => {
  it.each([
    ['ascii', 'TimeZone', 'UTC'],
    ['empty value', 'application_name', ''],
    ['multi-byte UTF-8', 'application_name', 'café ☕ 𝄞'],
  ])('ParameterStatus, %s: header, NUL-terminated UTF-8 strings, and back', (_, name, value) => {
    const body = Buffer.from(`${name}\0${value}\0`, 'utf8');
    const m = parameterStatus(name, value);
    expect(m).toEqual(Buffer.concat([header('S', body.length), body]));
    expect(decodeParameterStatus(m.subarray(5))).toEqual([name, value]);
  });

  it('int32 fields, in order and signed', () => {
    expect(backendKeyData(7, -2)).toEqual(Buffer.from([0x4b, 0, 0, 0, 12, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xfe]));
    expect(authenticationOk()).toEqual(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]));
  });

  it('ReadyForQuery and CommandComplete', () => {
    expect(readyForQuery('T')).toEqual(Buffer.from([0x5a, 0, 0, 0, 5, 0x54]));
    expect(commandComplete('SELECT 1')).toEqual(Buffer.concat([header('C', 9), Buffer.from('SELECT 1\0')]));
  });

  it('ErrorResponse: every field, then the terminating NUL', () => {
    const m = errorResponse({ severity: 'FATAL', code: '57P01', message: 'terminating — ünïcode', detail: 'd', hint: 'h' });
    expect(m.readInt32BE(1)).toBe(m.length - 1);
    expect(m[m.length - 1]).toBe(0);
    expect(decodeErrorFields(m.subarray(5))).toEqual({ S: 'FATAL', V: 'FATAL', C: '57P01', M: 'terminating — ünïcode', D: 'd', H: 'h' });
  });
});
