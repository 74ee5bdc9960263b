/**
 * Walks the headers of backend → client messages as chunks arrive, without copying or decoding rows.
 * The owner says, at each message's first byte, whether its bytes are forwarded (`keep`), and gets
 * the complete body only of the few message types it asked for (`wantBody`), e.g. ReadyForQuery.
 * When every message of a chunk is kept (the normal case) the chunk is forwarded whole.
 */
export interface ServerMessageVisitor {
  keep(type: number): boolean;
  message(type: number, body: Buffer): void;
}

export class ServerProtocolError extends Error {
  override name = 'ServerProtocolError';
}

const enum Stage {
  Type,
  Length,
  Body,
}

const EMPTY = Buffer.alloc(0);

export class ServerScanner {
  /** Message types (by code) whose bodies the visitor wants; every other body is skipped. */
  readonly wantBody = new Uint8Array(256);
  /** After `scan` returned false: [from, to) pairs of the chunk's bytes to forward. */
  readonly ranges: number[] = [];

  private stage = Stage.Type;
  private type = 0;
  private lengthBytes = 0;
  private length = 0;
  private remaining = 0;
  private want = false;
  private keeping = true;
  private parts: Buffer[] = [];

  constructor(private visitor: ServerMessageVisitor) {}

  setVisitor(visitor: ServerMessageVisitor): void {
    this.visitor = visitor;
  }

  /** True when the whole chunk is to be forwarded; else `ranges` says which bytes are. */
  scan(chunk: Buffer): boolean {
    const n = chunk.length;
    const ranges = this.ranges;
    ranges.length = 0;
    let all = this.keeping;
    let runStart = this.keeping ? 0 : -1;
    let i = 0;
    while (i < n) {
      if (this.stage === Stage.Type) {
        const type = chunk[i]!;
        const keep = this.visitor.keep(type);
        if (keep !== this.keeping) {
          this.keeping = keep;
          if (keep) runStart = i;
          else {
            all = false;
            if (runStart >= 0 && i > runStart) ranges.push(runStart, i);
            runStart = -1;
          }
        }
        this.type = type;
        if (n - i >= 5) {
          this.length = chunk.readInt32BE(i + 1);
          i += 5;
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
        if (++this.lengthBytes === 4) this.startBody();
      } else {
        const take = Math.min(this.remaining, n - i);
        if (this.want) this.parts.push(chunk.subarray(i, i + take));
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.finish();
      }
    }
    if (!all && runStart >= 0 && n > runStart) ranges.push(runStart, n);
    return all;
  }

  /** True when the scanner stands between two messages (nothing half-read). */
  atBoundary(): boolean {
    return this.stage === Stage.Type;
  }

  private startBody(): void {
    if (this.length < 4) throw new ServerProtocolError(`server sent a message with invalid length ${this.length}`);
    this.remaining = this.length - 4;
    this.want = this.wantBody[this.type] === 1;
    this.stage = Stage.Body;
    if (this.remaining === 0) this.finish();
  }

  private finish(): void {
    this.stage = Stage.Type;
    if (!this.want) return;
    const parts = this.parts;
    const body = parts.length === 0 ? EMPTY : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.parts = [];
    this.visitor.message(this.type, body);
  }
}
