/**
 * Malformed client messages. PostgreSQL's own answers differ from any proxy's, so these are not
 * compared message for message: the client must get an ErrorResponse 08P01 and/or be closed, and
 * nothing else may suffer (see the test's containment checks).
 */
import { i16, i32, parse, raw, sync } from '../testing/wire.js';

export interface MalformedCase {
  name: string;
  bytes: Buffer;
  /** Sent (and answered) first, so the malformed message gets past earlier checks. */
  setup?: Buffer[];
}

/** A message whose length field is right for the body given (but the body is wrong). */
const framed = (type: string | number, ...body: (Buffer | string)[]): Buffer => {
  const b = Buffer.concat(body.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
  return Buffer.concat([Buffer.from([typeof type === 'number' ? type : type.charCodeAt(0)]), i32(b.length + 4), b]);
};
/** PostgreSQL looks the statement up before it reads a Bind's parameters: give it one. */
const UNNAMED = [parse('', 'select $1::text'), sync()];
/** A type byte and a length field as given, then the body. */
const withLength = (type: string | number, length: number, body: Buffer | string = Buffer.alloc(0)): Buffer =>
  Buffer.concat([Buffer.from([typeof type === 'number' ? type : type.charCodeAt(0)]), i32(length), raw(body)]);

export const malformedCases: MalformedCase[] = [
  { name: 'query-without-nul', bytes: framed('Q', 'select 1') },
  { name: 'parse-name-without-nul', bytes: framed('P', 's1') },
  { name: 'parse-query-without-nul', bytes: framed('P', 's1\0select 1') },
  { name: 'parse-without-parameter-count', bytes: framed('P', 's1\0select 1\0') },
  { name: 'parse-parameter-count-beyond-message', bytes: framed('P', 's1\0select 1\0', i16(5)) },
  { name: 'bind-portal-without-nul', bytes: framed('B', 'p') },
  { name: 'bind-statement-without-nul', bytes: framed('B', '\0s') },
  { name: 'bind-parameter-count-beyond-message', bytes: framed('B', '\0\0', i16(0), i16(3)), setup: UNNAMED },
  { name: 'bind-parameter-length-beyond-message', bytes: framed('B', '\0\0', i16(0), i16(1), i32(1000), 'ab'), setup: UNNAMED },
  { name: 'bind-format-count-mismatch', bytes: framed('B', '\0\0', i16(2), i16(0), i16(0), i16(1), i32(1), '1', i16(0)), setup: UNNAMED },
  { name: 'describe-bad-kind', bytes: framed('D', 'Xname\0') },
  { name: 'describe-too-short', bytes: framed('D') },
  { name: 'describe-name-without-nul', bytes: framed('D', 'Sname') },
  { name: 'close-bad-kind', bytes: framed('C', 'Zname\0') },
  { name: 'close-too-short', bytes: framed('C') },
  { name: 'close-name-without-nul', bytes: framed('C', 'Pname') },
  { name: 'execute-without-row-count', bytes: framed('E', '\0') },
  { name: 'execute-portal-without-nul', bytes: framed('E', 'p') },
  { name: 'functioncall-truncated', bytes: framed('F', i32(177)) },
  { name: 'sync-with-a-body', bytes: framed('S', 'xx') },
  { name: 'flush-with-a-body', bytes: framed('H', 'xyz') },
  { name: 'length-below-four', bytes: withLength('Q', 3) },
  { name: 'length-zero', bytes: withLength('S', 0) },
  { name: 'length-negative', bytes: withLength('Q', -1, 'select 1\0') },
  { name: 'length-oversized', bytes: withLength('Q', 0x7ffffff0, 'select 1\0') },
  { name: 'garbage-type-zero', bytes: withLength(0x00, 4) },
  { name: 'garbage-type-high-byte', bytes: withLength(0xff, 8, 'abcd') },
  { name: 'garbage-type-letter', bytes: withLength('z', 4) },
  { name: 'garbage-ascii-text', bytes: raw('hello world, not a protocol message\n') },
];
