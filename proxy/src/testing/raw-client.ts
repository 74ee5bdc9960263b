/**
 * Test support: a PostgreSQL frontend on a raw socket (trust auth only), for the message sequences
 * drivers hide — unnamed statements across round trips, batches without Sync, Terminate in the same
 * write as a Query, cancel keys. Messages are written with pg-protocol's `serialize`.
 */
import net from 'node:net';
import { serialize } from 'pg-protocol';

export { serialize };

export interface Msg {
  /** The type byte as a character: '1' ParseComplete, 'E' ErrorResponse, 'Z' ReadyForQuery, … */
  type: string;
  body: Buffer;
}

/** Messages that answer nothing (NoticeResponse, ParameterStatus, NotificationResponse). */
const ASYNC = new Set(['N', 'S', 'A']);

export class RawClient {
  processId = 0;
  secretKey = 0;
  /** Resolves when the connection is closed (by either side). */
  readonly closed: Promise<void>;
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private gone = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.gone = true;
        this.wake?.();
        resolve();
      }),
    );
  }

  /** Connects and logs in as `user` (the server must trust it); resolves at the first ReadyForQuery. */
  static async connect(port: number, user = 'postgres', database = 'postgres'): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const c = new RawClient(socket);
    c.send(serialize.startup({ user, database }));
    for (;;) {
      const m = await c.next();
      if (m.type === 'E') throw new Error(`login failed: ${errorOf(m).code} ${errorOf(m).message}`);
      if (m.type === 'R' && m.body.readInt32BE(0) !== 0) throw new Error('the server asked for a password: RawClient does trust auth only');
      if (m.type === 'K') {
        c.processId = m.body.readInt32BE(0);
        c.secretKey = m.body.readInt32BE(4);
      }
      if (m.type === 'Z') return c;
    }
  }

  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages));
  }

  /** The next message; fails when none comes within `timeoutMs` or the connection closes first. */
  async next(timeoutMs = 10_000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buf.length >= 5 && this.buf.length >= 1 + this.buf.readInt32BE(1)) {
        const len = this.buf.readInt32BE(1);
        const m = { type: String.fromCharCode(this.buf[0]!), body: this.buf.subarray(5, 1 + len) };
        this.buf = this.buf.subarray(1 + len);
        return m;
      }
      if (this.gone) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message from the server within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Messages up to and including the next ReadyForQuery, notices and parameter reports left out. */
  async untilReady(timeoutMs?: number): Promise<Msg[]> {
    const out: Msg[] = [];
    for (;;) {
      const m = await this.next(timeoutMs);
      if (!ASYNC.has(m.type)) out.push(m);
      if (m.type === 'Z') return out;
    }
  }

  /** Sends `messages` and returns `summary` of the replies up to ReadyForQuery. */
  async roundTrip(...messages: Buffer[]): Promise<string[]> {
    this.send(...messages);
    return summary(await this.untilReady());
  }

  end(): void {
    this.socket.destroy();
  }
}

function fields(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  for (let at = 0; at < body.length && body[at] !== 0; ) {
    const end = body.indexOf(0, at + 1);
    out.set(String.fromCharCode(body[at]!), body.toString('utf8', at + 1, end));
    at = end + 1;
  }
  return out;
}

export function errorOf(m: Msg): { code: string; message: string } {
  const f = fields(m.body);
  return { code: f.get('C') ?? '', message: f.get('M') ?? '' };
}

/** The text values of a DataRow, NULL as null. */
export function dataRow(m: Msg): (string | null)[] {
  const values: (string | null)[] = [];
  let at = 2;
  for (let i = m.body.readInt16BE(0); i > 0; i--) {
    const len = m.body.readInt32BE(at);
    at += 4;
    values.push(len < 0 ? null : m.body.toString('utf8', at, at + len));
    if (len > 0) at += len;
  }
  return values;
}

/**
 * A reply sequence in a compact, comparable form: the type byte, with the SQLSTATE of an error
 * ('E:26000'), the values of a row ('D:42,ok', NULL as 'NULL'), the tag of a CommandComplete
 * ('C:SELECT 1') and the status of ReadyForQuery ('Z:I').
 */
export function summary(msgs: Msg[]): string[] {
  return msgs.map((m) => {
    switch (m.type) {
      case 'E':
        return `E:${errorOf(m).code}`;
      case 'D':
        return `D:${dataRow(m)
          .map((v) => v ?? 'NULL')
          .join(',')}`;
      case 'C':
        return `C:${m.body.toString('utf8', 0, m.body.length - 1)}`;
      case 'Z':
        return `Z:${String.fromCharCode(m.body[0]!)}`;
      default:
        return m.type;
    }
  });
}

/** Sends a CancelRequest for (processId, secretKey) on a new connection; resolves when it is closed. */
export async function sendCancel(port: number, processId: number, secretKey: number): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.setTimeout(5_000, () => socket.destroy());
  await new Promise<void>((resolve) => {
    socket.once('connect', () => socket.end(serialize.cancel(processId, secretKey)));
    socket.once('close', () => resolve());
  });
}
