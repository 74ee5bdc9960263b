/**
 * Walks the headers of backend → client messages as chunks arrive, without copying or decoding rows.
 * The visitor says at each message's first byte whether its bytes are forwarded (`begin`), and is
 * told at its last byte (`end`), with the body for the few types it asked for (`wantBody`). It may
 * `insert` bytes there (a rewritten message), in order. When every byte of a chunk is forwarded (the
 * normal case) the chunk goes out whole.
 */
import { Buffer } from 'node:buffer';
import { owned } from '../io/read-buffer.js';

export interface ServerMessageVisitor {
  begin(type: number): boolean;
  /**
   * The body is `buf[start, end)` for wanted types, empty for the others; `buf` may be the chunk
   * being scanned (a body inside one chunk is not copied or sliced), valid during this call only.
   */
  end(type: number, buf: Buffer, start: number, end: number): void;
}

export class ServerProtocolError extends Error {
  override name = 'ServerProtocolError';
}

const enum Stage {
  Type,
  Length,
  Body,
}

const EMPTY: Buffer = Buffer.alloc(0);

export class ServerScanner {
  /** Message types (by code) whose bodies the visitor wants; every other body is skipped. */
  readonly wantBody = new Uint8Array(256);
  /** After `scan` returned false: the bytes to forward, in order. */
  readonly out: Buffer[] = [];

  private stage = Stage.Type;
  private type = 0;
  private lengthBytes = 0;
  private length = 0;
  private remaining = 0;
  private want = false;
  private keeping = true;
  /** A wanted body split over chunks: its parts so far. */
  private parts: Buffer[] = [];
  /** A wanted body wholly inside the chunk being scanned: where it starts (else -1). */
  private bodyAt = -1;
  // While scanning a chunk:
  private chunk: Buffer = EMPTY;
  private runStart = -1;
  private pos = 0;
  private whole = true;

  constructor(private visitor: ServerMessageVisitor) {}

  setVisitor(visitor: ServerMessageVisitor): void {
    this.visitor = visitor;
  }

  /** True when the whole chunk is to be forwarded; else `out` has what is. */
  scan(chunk: Buffer): boolean {
    const n = chunk.length;
    // (Setting an array's length calls into the runtime and drops its storage: only when needed.)
    if (this.out.length !== 0) this.out.length = 0;
    this.chunk = chunk;
    this.whole = this.keeping;
    this.runStart = this.keeping ? 0 : -1;
    let i = 0;
    while (i < n) {
      if (this.stage === Stage.Type) {
        const type = chunk[i]!;
        const keep = this.visitor.begin(type);
        if (keep !== this.keeping) {
          this.keeping = keep;
          if (keep) this.runStart = i;
          else this.cut(i);
        }
        this.type = type;
        if (n - i >= 5) {
          this.length = chunk.readInt32BE(i + 1);
          i += 5;
          this.pos = i;
          this.startBody();
        } else {
          this.stage = Stage.Length;
          this.lengthBytes = 0;
          this.length = 0;
          i++;
        }
      } else if (this.stage === Stage.Length) {
        this.length = (this.length << 8) | chunk[i]!;
        i++;
        this.pos = i;
        if (++this.lengthBytes === 4) this.startBody();
      } else {
        const take = Math.min(this.remaining, n - i);
        if (this.want) {
          if (take === this.remaining && this.parts.length === 0) this.bodyAt = i;
          else this.parts.push(chunk.subarray(i, i + take));
        }
        i += take;
        this.remaining -= take;
        this.pos = i;
        if (this.remaining === 0) this.finish();
      }
    }
    if (!this.whole && this.runStart >= 0 && n > this.runStart) this.out.push(chunk.subarray(this.runStart, n));
    // A body still being read is kept past this call: views of the native read buffer are copied.
    for (let p = 0; p < this.parts.length; p++) this.parts[p] = owned(this.parts[p]!);
    this.chunk = EMPTY;
    return this.whole;
  }

  /** From inside `end`: bytes to forward right after the message just ended. */
  insert(bytes: Buffer): void {
    if (this.keeping) {
      this.cut(this.pos);
      this.runStart = this.pos;
    } else {
      this.whole = false;
    }
    this.out.push(bytes);
  }

  /** True when the scanner stands between two messages (nothing half-read). */
  atBoundary(): boolean {
    return this.stage === Stage.Type;
  }

  /** Ends the forwarded run at `at`. */
  private cut(at: number): void {
    this.whole = false;
    if (this.runStart >= 0 && at > this.runStart) this.out.push(this.chunk.subarray(this.runStart, at));
    this.runStart = -1;
  }

  private startBody(): void {
    if (this.length < 4) throw new ServerProtocolError(`server sent a message with invalid length ${this.length}`);
    this.remaining = this.length - 4;
    this.want = this.wantBody[this.type] === 1;
    this.bodyAt = -1;
    this.stage = Stage.Body;
    if (this.remaining === 0) this.finish();
  }

  private finish(): void {
    this.stage = Stage.Type;
    if (!this.want) return this.visitor.end(this.type, EMPTY, 0, 0);
    if (this.bodyAt >= 0) return this.visitor.end(this.type, this.chunk, this.bodyAt, this.pos);
    const parts = this.parts;
    if (parts.length === 0) return this.visitor.end(this.type, EMPTY, 0, 0);
    const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.parts = [];
    this.visitor.end(this.type, body, 0, body.length);
  }
}
