/** The incremental framer of client → server messages, over buffer offsets. */
import { Buffer } from 'node:buffer';
import { owned } from '../io/read-buffer.js';
import { ProtocolError } from './errors.js';

/**
 * Told of each complete message: `buf[start]` is the type byte (or the length for startup). An
 * object, not a callback, so that a session is its own sink (no closure kept per connection).
 */
export interface MessageSink {
  onMessage(buf: Buffer, start: number, end: number): void;
}

/** The startup-phase messages carry no type byte; after startup every message is `type int32 body`. */
export const enum FrameMode {
  Startup,
  Typed,
}

const MIN_STARTUP_LENGTH = 8;

/**
 * Incremental framer for client → server messages over buffer offsets. Complete messages inside a
 * chunk are reported as slices of that chunk (no copy); only a message that straddles chunks is
 * assembled, once, when its last byte arrives. Lengths are checked before anything is buffered, so a
 * bad or oversized length ends the client instead of growing memory.
 */
export class ClientFramer {
  mode: FrameMode = FrameMode.Startup;
  /** In typed mode, the message types accepted (1 = valid); others end the client before their length is read. */
  validTypes: Uint8Array | undefined;
  /** A message's first chunks, while it straddles reads (none most of the time). */
  private parts: Buffer[] | undefined;
  private partsLength = 0;

  /** The longest message accepted; the session raises it once the client is authenticated. */
  constructor(public maxLength: number) {}

  /** Bytes held waiting for the rest of a message. */
  get buffered(): number {
    return this.partsLength;
  }

  push(chunk: Buffer, sink: MessageSink): void {
    let buf = chunk;
    if (this.partsLength > 0) {
      const parts = this.parts!;
      const need = this.messageLength(parts, this.partsLength);
      if (need < 0 || this.partsLength + chunk.length < need) {
        parts.push(owned(chunk));
        this.partsLength += chunk.length;
        if (need < 0 && this.partsLength >= this.headerSize()) this.push(this.takeParts(), sink);
        return;
      }
      parts.push(chunk);
      this.partsLength += chunk.length;
      buf = this.takeParts();
    }
    let offset = 0;
    while (offset < buf.length) {
      const available = buf.length - offset;
      if (available < this.headerSize()) break;
      const len = this.lengthAt(buf, offset);
      if (available < len) break;
      sink.onMessage(buf, offset, offset + len);
      offset += len;
      // A TLS upgrade replaces the stream: stop at the boundary; the owner reads what is left.
      if (this.detached) {
        this.detached = false;
        this.remainder = buf.subarray(offset);
        return;
      }
    }
    if (offset < buf.length) {
      // Kept past this call: a view of the native read buffer is copied.
      const rest = owned(buf.subarray(offset));
      this.parts = [rest];
      this.partsLength = rest.length;
    }
  }

  /** Stop framing after the current message (used before a TLS upgrade). */
  detach(): void {
    this.detached = true;
  }

  /** Bytes after a detach point (must be empty for a TLS upgrade, or the client is misbehaving). */
  takeRemainder(): Buffer {
    const r = this.remainder;
    this.remainder = EMPTY;
    return r;
  }

  private detached = false;
  private remainder: Buffer = EMPTY;

  private headerSize(): number {
    return this.mode === FrameMode.Startup ? 4 : 5;
  }

  /** Total message length (type byte included) from a header at `offset`; throws on a bad length. */
  private lengthAt(buf: Buffer, offset: number): number {
    if (this.mode === FrameMode.Startup) {
      const len = buf.readInt32BE(offset);
      if (len < MIN_STARTUP_LENGTH || len > 10_000) {
        throw new ProtocolError(`invalid length of startup packet: ${len}`);
      }
      return len;
    }
    const type = buf[offset]!;
    if (this.validTypes !== undefined && this.validTypes[type] !== 1) throw new ProtocolError(`invalid frontend message type ${type}`);
    const len = buf.readInt32BE(offset + 1);
    if (len < 4) throw new ProtocolError(`invalid message length ${len} for message type "${typeName(buf[offset]!)}"`);
    if (len > this.maxLength) {
      throw new ProtocolError(`message of type "${typeName(buf[offset]!)}" is ${len} bytes, more than the limit of ${this.maxLength}`, '54000');
    }
    return len + 1;
  }

  private messageLength(parts: Buffer[], total: number): number {
    if (total < this.headerSize()) return -1;
    const head = parts[0]!.length >= this.headerSize() ? parts[0]! : Buffer.concat(parts);
    return this.lengthAt(head, 0);
  }

  private takeParts(): Buffer {
    const parts = this.parts!;
    const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.partsLength);
    this.parts = undefined;
    this.partsLength = 0;
    return buf;
  }
}

const EMPTY = Buffer.alloc(0);

function typeName(code: number): string {
  return code >= 0x20 && code < 0x7f ? String.fromCharCode(code) : `0x${code.toString(16)}`;
}
