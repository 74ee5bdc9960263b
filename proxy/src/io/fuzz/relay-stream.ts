// The relay stream's format: its header, the echo check (Expected), the server-side header reader, stream ids.
import { failure } from './report.js';

/** Every relay stream starts with this header; the echo servers read it (and echo it like the rest). */
export const HEADER = 16;
const MAGIC = 0x46555a5a;

export function header(id: number, killAt: number): Buffer {
  const b = Buffer.alloc(HEADER);
  b.writeUInt32BE(MAGIC, 0);
  b.writeUInt32BE(id, 4);
  b.writeUInt32BE(killAt, 8);
  return b;
}

/** The bytes sent and not yet seen back; `take` checks that what comes back is exactly the next of them. */
export class Expected {
  private chunks: Buffer[] = [];
  private at = 0;
  pending = 0;
  seen = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.pending += b.length;
  }

  take(got: Buffer): string | undefined {
    let off = 0;
    while (off < got.length) {
      const head = this.chunks[0];
      if (!head) return `${got.length - off} bytes came back that were never sent (after byte ${this.seen})`;
      const n = Math.min(head.length - this.at, got.length - off);
      if (head.compare(got, off, off + n, this.at, this.at + n) !== 0) {
        let i = 0;
        while (i < n && head[this.at + i] === got[off + i]) i++;
        const show = (b: Buffer, from: number) => b.subarray(from, from + 8).toString('hex');
        return `byte ${this.seen + i} differs: expected ${show(head, this.at + i)}…, got ${show(got, off + i)}… (chunk of ${got.length})`;
      }
      off += n;
      this.at += n;
      this.seen += n;
      this.pending -= n;
      if (this.at === head.length) {
        this.chunks.shift();
        this.at = 0;
      }
    }
    return undefined;
  }
}

/** Reads the stream header from the first bytes of a connection; `killAt` once known (0: never). */
export class HeaderReader {
  private head = Buffer.alloc(0);
  killAt = -1;
  seen = 0;

  /** Returns true when the connection should now be killed. */
  feed(chunk: Buffer, who: string): boolean {
    this.seen += chunk.length;
    if (this.killAt < 0) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, HEADER - this.head.length)]);
      if (this.head.length === HEADER) {
        if (this.head.readUInt32BE(0) !== MAGIC) failure('echo', `${who}: the stream header is garbled: ${this.head.toString('hex')}`);
        this.killAt = this.head.readUInt32BE(8);
      }
    }
    return this.killAt > 0 && this.seen >= this.killAt;
  }
}

let relaySeq = 0;

/** The next relay stream's id (relay streams, refused connects and hard-cap runs share the count). */
export const nextRelayId = (): number => ++relaySeq;
