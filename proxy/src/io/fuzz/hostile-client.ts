// A hostile raw client socket to the proxy: loose reading of its replies, and a transcript to show.
import net from 'node:net';
import { serialize } from 'pg-protocol';
import { ScramClient } from '../../auth/scram.js';
import { HOSTILE_USER } from './knobs.js';
import { jitter, type Rng } from './random.js';
import { stats } from './report.js';

/** Hostile connections by local port: the proxy logs a client's address, so an error names its input. */
export const hostileByPort = new Map<number, Hostile>();

/** The hostile user's password when the proxy asks for SCRAM (the hostile-load test sets it; the ASAN fuzz runs trust). */
export const hostileAuth: { password: string | undefined } = { password: undefined };

/**
 * A raw client socket to the proxy that reads loosely (ReadyForQuery, BackendKeyData,
 * CopyInResponse) and keeps a short transcript of what went each way, shown when the proxy logs an
 * error about it.
 */
export class Hostile {
  readonly socket: net.Socket;
  scenario = '';
  private readonly born = Date.now();
  private readonly transcript: string[] = [];
  private noted = 0;
  connected = false;
  closed = false;
  /** Answers a SCRAM request with `hostileAuth.password`; an auth scenario turns it off to misbehave instead. */
  autoAuth = true;
  /** The last Authentication request's code (10 SASL, 11 SASLContinue, 12 SASLFinal, 0 OK), and its data. */
  authCode = -1;
  authData: Buffer = Buffer.alloc(0);
  private scram: ScramClient | undefined;
  ready = 0;
  copyIn = 0;
  key: { pid: number; secret: number } | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private sslAnswers = 0;
  private framing = true;

  constructor(port: number) {
    stats.hostile.connections++;
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.socket.on('connect', () => {
      this.connected = true;
      this.wake();
      hostileByPort.set(this.socket.localPort ?? 0, this);
      if (hostileByPort.size > 2_000) hostileByPort.delete(hostileByPort.keys().next().value!);
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closed = true;
      this.note('closed');
      this.wake();
    });
    this.socket.on('data', (d: Buffer) => {
      this.onData(d);
      this.wake();
    });
  }

  note(what: string, b?: Buffer): void {
    if (this.noted > 16_384) return;
    const shown = b ? ` ${b.subarray(0, 256).toString('hex')}${b.length > 256 ? `… (${b.length} bytes)` : ''}` : '';
    this.noted += shown.length;
    this.transcript.push(`+${Date.now() - this.born}ms ${what}${shown}`);
  }

  describe(): string {
    return `hostile ${this.scenario} from port ${this.socket.localPort}:\n    ${this.transcript.join('\n    ')}`;
  }

  write(p: Buffer): void {
    this.note('>', p);
    this.socket.write(p);
    stats.hostile.bytesOut += p.length;
  }

  /** An SSLRequest or GSSENCRequest went first: its answer is one byte. */
  expectSslAnswer(): void {
    this.sslAnswers++;
  }

  private onData(d: Buffer): void {
    stats.hostile.bytesIn += d.length;
    this.note('<', d);
    if (!this.framing) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let at = 0;
    while (at < this.buf.length) {
      if (this.sslAnswers > 0) {
        this.sslAnswers--;
        at++;
        continue;
      }
      if (this.buf.length - at < 5) break;
      const type = this.buf[at]!;
      const len = this.buf.readInt32BE(at + 1);
      if (len < 4) {
        this.framing = false;
        this.buf = Buffer.alloc(0);
        return;
      }
      if (this.buf.length - at < 1 + len) break;
      if (type === 0x52 && len >= 8) this.onAuth(this.buf.readInt32BE(at + 5), Buffer.from(this.buf.subarray(at + 9, at + 1 + len)));
      if (type === 0x5a) this.ready++;
      else if (type === 0x47) this.copyIn++;
      else if (type === 0x4b && len === 12) this.key = { pid: this.buf.readInt32BE(at + 5), secret: this.buf.readInt32BE(at + 9) };
      at += 1 + len;
    }
    this.buf = this.buf.subarray(at);
  }

  /** An Authentication request: answered as a well-behaved SCRAM client would, unless `autoAuth` is off. */
  private onAuth(code: number, data: Buffer): void {
    this.authCode = code;
    this.authData = data;
    const password = hostileAuth.password;
    if (!this.autoAuth || password === undefined) return;
    try {
      if (code === 10) {
        this.scram = new ScramClient(password);
        this.write(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', this.scram.clientFirst()));
      } else if (code === 11 && this.scram) {
        this.write(serialize.sendSCRAMClientFinalMessage(this.scram.handleServerFirst(data.toString('utf8'))));
      }
    } catch (err) {
      this.note(`scram: ${(err as Error).message}`);
      this.socket.destroy();
    }
  }

  /**
   * Waits up to `ms` for `pred` (or the close); what `pred` says then. Checked at each event of the
   * socket rather than polled: thousands of connections waiting at once cost no CPU.
   */
  async until(pred: () => boolean, ms: number): Promise<boolean> {
    if (ms <= 0 || pred() || this.closed) return pred();
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (pred() || this.closed) done();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(check);
    });
    return pred();
  }

  private readonly waiters = new Set<() => void>();

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Writes `bytes` cut at random points, with random pauses between the pieces. */
  async send(rng: Rng, bytes: Buffer): Promise<void> {
    for (const p of rng.pieces(bytes)) {
      if (this.closed || this.socket.destroyed) return;
      this.write(p);
      await jitter(rng);
    }
  }

  async login(rng: Rng): Promise<boolean> {
    await this.send(rng, serialize.startup({ user: HOSTILE_USER, database: 'postgres' }));
    const ok = await this.until(() => this.ready > 0, 5_000);
    if (ok) stats.hostile.logins++;
    return ok;
  }

  /** Leaves: destroy, RST, FIN, or Terminate + FIN; the socket is gone after this. */
  async leave(rng: Rng): Promise<void> {
    if (!this.socket.destroyed) {
      const how = rng.int(5);
      this.note(['leave: destroy', 'leave: destroy', 'leave: RST', 'leave: FIN', 'leave: Terminate + FIN'][how]!);
      try {
        if (how <= 1) this.socket.destroy();
        else if (how === 2) this.socket.resetAndDestroy();
        else if (how === 3) this.socket.end();
        else this.socket.end(serialize.end());
      } catch {
        this.socket.destroy();
      }
    }
    await this.until(() => this.closed, 300);
    this.socket.destroy();
  }
}

/** A hostile scenario: what one connection does to the proxy (`port`) before it leaves. */
export type Scenario = (h: Hostile, rng: Rng, port: number) => Promise<void>;
