/**
 * The native core's one read buffer, shared with JavaScript: chunks read from native connections
 * are views of it, valid until the next read. `owned` copies such a view; other buffers pass as is.
 */
import { Buffer } from 'node:buffer';

export const READ_BUFFER = new ArrayBuffer(64 * 1024);

export function owned(b: Buffer): Buffer {
  return b.buffer === READ_BUFFER ? Buffer.from(b) : b;
}
