// One checked relay stream: a client writes random bytes to an echo server and checks every byte back.
import net from 'node:net';
import { waitFor } from '../../testing/wait.js';
import type { ConnHandlers } from '../conn.js';
import { connectConn } from '../movers.js';
import type { EchoServer } from './echo-servers.js';
import { jitter, type Rng } from './random.js';
import { RelayEnd, type ClientState } from './relay-end.js';
import { Expected, HEADER, header, nextRelayId } from './relay-stream.js';
import { bump, failure, stats } from './report.js';

export type RelayMode = 'drain-end' | 'end-now' | 'destroy' | 'server-kill' | 'handover' | 'reset' | 'small';

/** The modes a stream may take for this pair of ends. */
function modesFor(client: 'native' | 'node', target: EchoServer): RelayMode[] {
  if (client === 'node') return ['drain-end', 'destroy', 'server-kill', 'reset'];
  if (target.kind === 'node') return ['drain-end', 'end-now', 'destroy', 'server-kill', 'handover'];
  return ['drain-end', 'destroy', 'server-kill', 'handover'];
}

const WAIT = { timeoutMs: 10_000, intervalMs: 1 };

/** One stream: its random shape, the bytes still expected back, its client end and its checks. */
class RelayStream {
  readonly id = nextRelayId();
  readonly exp = new Expected();
  readonly st: ClientState = { closed: false, err: undefined, connected: false, problem: false };
  readonly mode: RelayMode;
  readonly size: number;
  readonly killAt: number;
  readonly label: string;
  readonly handlers: Required<ConnHandlers>;
  readonly end: RelayEnd;

  constructor(rng: Rng, client: 'native' | 'node', target: EchoServer, forced?: RelayMode) {
    stats.relay.connections++;
    this.mode = forced ?? rng.pick(modesFor(client, target));
    bump(stats.relay.modes, `${client}->${target.kind}:${this.mode}`);
    this.size = this.mode === 'small' ? rng.int(2048) : rng.size();
    this.killAt = this.mode === 'server-kill' ? HEADER + rng.int(this.size + 1) : 0;
    const kill = this.killAt ? `, server kills at ${this.killAt}` : '';
    this.label = `relay #${this.id} (${client} client -> ${target.kind} echo server, ${this.mode}, ${this.size} bytes${kill})`;
    this.handlers = this.checkingHandlers();
    this.end = new RelayEnd(this.st, this.handlers);
  }

  /** Reports the stream's first problem (one is enough to find it again). */
  bad(msg: string): void {
    if (this.st.problem) return;
    this.st.problem = true;
    failure('echo', `${this.label}: ${msg}`);
  }

  private checkingHandlers(): Required<ConnHandlers> {
    const { st, exp } = this;
    return {
      data: (chunk) => {
        if (st.closed) this.bad('data after close');
        const p = exp.take(chunk);
        if (p) this.bad(p);
      },
      close: (err) => {
        if (st.closed) this.bad('close reported twice');
        st.closed = true;
        st.err = err;
      },
      connect: () => {
        if (st.connected) this.bad('connect reported twice');
        st.connected = true;
      },
    };
  }

  async open(rng: Rng, client: 'native' | 'node', port: number): Promise<void> {
    if (client === 'native') {
      this.end.conn = await connectConn('127.0.0.1', port, 'native', this.handlers);
      if (this.end.conn.mover !== 'native') this.bad(`connectConn gave the ${this.end.conn.mover} mover`);
      // Half the time the first bytes go while the connect is still in progress (the core queues them).
      if (rng.chance(0.5)) await waitFor(() => this.st.connected || this.st.closed, `${this.label}: connect`, WAIT);
    } else {
      const s = net.connect(port, '127.0.0.1');
      s.setNoDelay(true);
      s.once('connect', () => this.handlers.connect());
      this.end.attach(s);
    }
  }

  write(b: Buffer): boolean {
    this.exp.push(b);
    stats.relay.bytes += b.length;
    return this.end.write(b);
  }

  closed(what: string): Promise<unknown> {
    return waitFor(() => this.st.closed, `${this.label}: ${what}`, WAIT);
  }

  echoed(what: string | (() => string)): Promise<unknown> {
    return waitFor(() => this.exp.pending === 0 || this.st.closed, what, WAIT);
  }

  /** The header, then the payload in random pieces, stopping early to destroy or hand over. */
  async send(rng: Rng): Promise<void> {
    const respect = rng.chance(0.7); // else ignore "full" and keep writing (the core queues it)
    const destroyAt = this.mode === 'destroy' ? rng.int(this.size + 1) : -1;
    const handoverAt = this.mode === 'handover' ? rng.int(this.size + 1) : -1;
    this.write(header(this.id, this.killAt));
    let sent = 0;
    while (sent < this.size && !this.st.closed) {
      if (destroyAt >= 0 && sent >= destroyAt) break;
      if (handoverAt >= 0 && sent >= handoverAt) this.end.handover();
      const n = Math.min(this.size - sent, rng.pieceSize());
      const ok = this.write(rng.bytes(n));
      sent += n;
      if (!ok && respect) await this.end.drained(`${this.label}: drain after ${sent} bytes`);
      if (rng.chance(0.05)) this.end.pauseFor(rng.int(15));
      await jitter(rng);
    }
  }

  async finish(rng: Rng): Promise<void> {
    switch (this.mode) {
      case 'destroy':
      case 'reset':
        return this.finishDestroy(rng);
      case 'server-kill':
        // What came back is a prefix of what was sent (checked as it arrived); then one close.
        await this.closed('close after the server killed the connection');
        return;
      case 'end-now':
        return this.finishEndNow();
      default:
        return this.finishClean(rng);
    }
  }

  private async finishDestroy(rng: Rng): Promise<void> {
    if (this.mode === 'reset' && rng.chance(0.5)) await this.echoed(`${this.label}: echo`);
    this.end.destroy(this.mode === 'reset');
    await this.closed('close after destroy');
  }

  /** The last bytes may still be queued in the core: end() must send them before the FIN. */
  private async finishEndNow(): Promise<void> {
    this.end.end();
    await this.closed('close after end');
    if (this.exp.pending > 0) this.bad(`closed with ${this.exp.pending} of ${this.exp.seen + this.exp.pending} bytes never echoed`);
    if (this.st.err) this.bad(`closed with an error: ${this.st.err.message}`);
  }

  private async finishClean(rng: Rng): Promise<void> {
    const { exp, st, end } = this;
    await this.echoed(() => `${this.label}: echo (${exp.pending} bytes outstanding)`);
    if (st.closed) this.bad(`closed after ${exp.seen} of ${exp.seen + exp.pending} bytes came back (${st.err?.message ?? 'no error'})`);
    // Everything sent came back, so nothing is queued: the hand-over must be possible now.
    if (this.mode === 'handover' && !end.sock && !st.closed && !end.handover()) this.bad('toSocket() refused with nothing queued');
    if (this.mode === 'handover' && end.sock && !st.closed) {
      // A little more over the Node socket, to see the stream carries on in order.
      this.write(rng.bytes(rng.between(1, 70_000)));
      await this.echoed(`${this.label}: echo after the hand-over`);
    }
    end.end();
    await this.closed('close after end');
    if (st.err) this.bad(`closed with an error after a clean end: ${st.err.message}`);
  }
}

/** One relay stream from a `client` end to `target`, checked byte for byte; `forced` fixes its mode. */
export async function relayClient(rng: Rng, client: 'native' | 'node', target: EchoServer, forced?: RelayMode): Promise<void> {
  const stream = new RelayStream(rng, client, target, forced);
  await stream.open(rng, client, target.port);
  await stream.send(rng);
  await stream.finish(rng);
}
