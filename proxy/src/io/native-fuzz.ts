/**
 * A bounded fuzz run of the native I/O core (proxy/native/src/io.c), for a process that has its
 * AddressSanitizer build loaded (native-fuzz.int.test.ts starts it so: LD_PRELOAD of libasan,
 * DBPROXY_NATIVE_ADDON pointing at .cache/native-asan). Two things run side by side on the one core
 * for FUZZ_SECONDS (default 20), with choices from FUZZ_SEED (printed; random when not given):
 *
 *  - raw relay: native connections to a Node echo server and to an echo server on native-adopted
 *    accepted sockets, and Node clients to the latter; random payload sizes cut at random points,
 *    pause/resume, backpressure kept or ignored, end with bytes still queued, destroy mid-stream, the
 *    server killing the connection mid-stream, a hand-over to a Node socket (the TLS path), bursts
 *    that grow the core's connection table, refused connects and the queue's hard cap. Every byte
 *    echoed is checked, in order, as it arrives; close is reported once, nothing after it.
 *  - proxy: a ProxyServer with io 'native' in this process, in front of PostgreSQL at PGHOST:PGPORT
 *    (user postgres, trust). A few `pg` clients run a checked workload (selects, transactions,
 *    payloads larger than the read buffer) while hostile raw sockets send garbage, truncated,
 *    oversized and mutated protocol messages at random split points and stages, and vanish.
 *
 * The last line on stdout is a JSON summary. Exit 0 only when every echo check passed, the workload
 * had no failure, the proxy let go of every client and still answers a fresh `SELECT 1`. A watchdog
 * ends a hung run (FUZZ_SECONDS + 30 s) with exit 3. An ASAN report aborts the process by itself.
 * When the proxy logs an error about a hostile client, that client's transcript is printed with it.
 *
 * To narrow a finding down: FUZZ_PARTS (relay,hostile,workload), FUZZ_HOSTILE (scenario names),
 * FUZZ_PROXY_IO=node (the proxy part over Node's sockets: a failure there too is not the core's),
 * FUZZ_SEPARATE_POOL=1 (hostile clients in a pool of their own), FUZZ_LOG_LEVEL (the proxy's, default
 * warn); FUZZ_REQUIRE_ASAN=1 fails the run unless libasan and DBPROXY_NATIVE_ADDON are the ones mapped.
 */
import { createHash, randomInt } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import net from 'node:net';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { pino } from 'pino';
import { parseConfig } from '../config/load.js';
import { ProxyServer } from '../server.js';
import { freePort } from '../testing/ports.js';
import { waitFor } from '../testing/wait.js';
import type { Conn, ConnHandlers } from './conn.js';
import { clientConn, connectConn, resolveMover } from './movers.js';

const SECONDS = Number(process.env['FUZZ_SECONDS'] ?? 20);
const SEED = process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) >>> 0 : randomInt(0, 0xffffffff);
const PG_HOST = process.env['PGHOST'] ?? '127.0.0.1';
const PG_PORT = Number(process.env['PGPORT']);
/** The proxy's maxMessageLength here: small, so messages right at the limit can be sent whole. */
const LIMIT = 1 << 20;
/** FUZZ_PARTS=relay,hostile,workload (the default: all three) runs only some, to narrow a finding down. */
const PARTS = new Set((process.env['FUZZ_PARTS'] ?? 'relay,hostile,workload').split(','));
/**
 * The hostile clients' role: by default the workload's own, so they share its pool and every
 * backend a hostile client leaves behind serves a workload client next (this is how the fuzz found
 * a backend handed on while the server still skipped to Sync, and a backend left paused for a
 * client that had gone). FUZZ_SEPARATE_POOL=1 gives them their own pool, to tell such a finding
 * from one of the core's.
 */
const HOSTILE_USER = process.env['FUZZ_SEPARATE_POOL'] === '1' ? 'fuzz_hostile' : 'postgres';
/** FUZZ_PROXY_IO=node: the same proxy fuzz over Node's sockets, to tell a core bug from a proxy bug. */
const PROXY_IO = process.env['FUZZ_PROXY_IO'] === 'node' ? 'node' : 'native';
const RELAY_WORKERS = PARTS.has('relay') ? 6 : 0;
const WORKLOAD_CLIENTS = PARTS.has('workload') ? 4 : 0;
const HOSTILE_WORKERS = PARTS.has('hostile') ? 8 : 0;

// ------------------------------------------------------------------ bookkeeping

const stats = {
  relay: { connections: 0, bytes: 0, handovers: 0, bursts: 0, refused: 0, hardCap: '' as string, modes: {} as Record<string, number> },
  hostile: { connections: 0, bytesOut: 0, bytesIn: 0, logins: 0, scenarios: {} as Record<string, number> },
  workload: { transactions: 0, failures: 0 },
  proxyLogs: {} as Record<string, number>,
};
const failures: { kind: string; message: string }[] = [];
/** What each worker is doing now, for the watchdog's message. */
const doing = new Map<string, string>();

function failure(kind: 'echo' | 'workload' | 'proxy' | 'driver' | 'uncaught', message: string): void {
  failures.push({ kind, message });
  if (failures.length <= 30) process.stderr.write(`native-fuzz: FAIL [${kind}] ${message}\n`);
}

const bump = (m: Record<string, number>, k: string): void => void (m[k] = (m[k] ?? 0) + 1);

process.on('uncaughtException', (err) => failure('uncaught', err.stack ?? String(err)));
process.on('unhandledRejection', (err) => failure('uncaught', `unhandled rejection: ${(err as Error)?.stack ?? String(err)}`));

// ------------------------------------------------------------------ randomness

/** mulberry32: small, fast, seedable. Each worker has its own (fork), so its choices follow the seed. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** 0 ≤ n < k */
  int(k: number): number {
    return k <= 1 ? 0 : Math.floor((this.u32() / 0x100000000) * k);
  }
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  fork(): Rng {
    return new Rng(this.u32() ^ 0x9e3779b9);
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) b.writeUInt32LE(this.u32(), i);
    for (; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
  ascii(n: number): string {
    const b = this.bytes(n);
    for (let i = 0; i < n; i++) b[i] = 97 + (b[i]! % 26);
    return b.toString('latin1');
  }
  /** A payload size: mostly small, sometimes past the 64 KiB read buffer, now and then megabytes. */
  size(): number {
    const r = this.int(100);
    if (r < 50) return this.int(2049);
    if (r < 85) return this.int(128 * 1024 + 1);
    return this.int(2 * 1024 * 1024 + 1);
  }
  /** The size of one write. */
  pieceSize(): number {
    const r = this.int(100);
    if (r < 10) return 1;
    if (r < 40) return this.between(1, 100);
    if (r < 70) return this.between(100, 8192);
    if (r < 95) return this.between(8192, 128 * 1024);
    return this.between(128 * 1024, 1024 * 1024);
  }
  /** `buf` cut at random points (whole, byte by byte when short, or up to 16 pieces). */
  pieces(buf: Buffer): Buffer[] {
    if (buf.length <= 1) return [buf];
    const mode = this.int(5);
    if (mode === 0) return [buf];
    if (mode === 1 && buf.length <= 512) return Array.from({ length: buf.length }, (_, i) => buf.subarray(i, i + 1));
    const cuts = [...new Set(Array.from({ length: this.between(1, Math.min(16, buf.length - 1)) }, () => this.between(1, buf.length - 1)))].sort((a, b) => a - b);
    const out: Buffer[] = [];
    let at = 0;
    for (const c of cuts) {
      out.push(buf.subarray(at, c));
      at = c;
    }
    out.push(buf.subarray(at));
    return out;
  }
}

/** Nothing, the next turn of the loop, or a few milliseconds: where the split points land in time. */
async function jitter(rng: Rng): Promise<void> {
  const r = rng.int(10);
  if (r < 4) return;
  if (r < 8) await nextTurn();
  else await sleep(rng.int(4));
}

// ------------------------------------------------------------------ raw relay fuzz

/** Every relay stream starts with this header; the echo servers read it (and echo it like the rest). */
const HEADER = 16;
const MAGIC = 0x46555a5a;

function header(id: number, killAt: number): Buffer {
  const b = Buffer.alloc(HEADER);
  b.writeUInt32BE(MAGIC, 0);
  b.writeUInt32BE(id, 4);
  b.writeUInt32BE(killAt, 8);
  return b;
}

/** The bytes sent and not yet seen back; `take` checks that what comes back is exactly the next of them. */
class Expected {
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
class HeaderReader {
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

interface EchoServer {
  kind: 'node' | 'native' | 'sink';
  port: number;
  server: net.Server;
  sockets: Set<net.Socket>;
}

/** A Node echo server (half-open allowed: it ends after echoing everything once the client ends). */
async function nodeEchoServer(rng: Rng): Promise<EchoServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.setNoDelay(true);
    const hr = new HeaderReader();
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    s.on('data', (d: Buffer) => {
      const kill = hr.feed(d, 'node echo server');
      const ok = s.write(d);
      if (kill) {
        if (rng.chance(0.5)) s.resetAndDestroy();
        else s.destroy();
        return;
      }
      if (!ok) {
        s.pause();
        s.once('drain', () => s.resume());
      } else if (rng.chance(0.02)) {
        s.pause();
        setTimeout(() => s.resume(), rng.int(15));
      }
    });
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { kind: 'node', port: (server.address() as net.AddressInfo).port, server, sockets };
}

/** Native connections on the server side: accepted paused, adopted by the core, echoing what they read. */
let nativeServerOpen = 0;
async function nativeEchoServer(rng: Rng): Promise<EchoServer> {
  const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => {
    let c: Conn;
    try {
      c = clientConn(socket, 'native');
    } catch (err) {
      failure('echo', `native echo server: the core did not adopt an accepted socket: ${(err as Error).message}`);
      socket.destroy();
      return;
    }
    if (c.mover !== 'native') failure('echo', `native echo server: an accepted socket went to the ${c.mover} mover`);
    nativeServerOpen++;
    const hr = new HeaderReader();
    let closed = false;
    c.setHandlers({
      data: (chunk) => {
        if (closed) failure('echo', 'native echo server: data after close');
        const kill = hr.feed(chunk, 'native echo server');
        // The chunk is a view of the core's read buffer: written at once, the core copies what the kernel did not take.
        const ok = c.write(chunk);
        if (kill) return c.destroy();
        if (!ok) {
          c.pause();
          c.whenDrained(() => c.resume());
        } else if (rng.chance(0.02)) {
          c.pause();
          setTimeout(() => c.resume(), rng.int(15));
        }
      },
      close: () => {
        if (closed) failure('echo', 'native echo server: close reported twice');
        closed = true;
        nativeServerOpen--;
      },
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { kind: 'native', port: (server.address() as net.AddressInfo).port, server, sockets: new Set() };
}

/** A server that accepts and never reads: the client's queue only grows. */
async function sinkServer(): Promise<EchoServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.pause();
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { kind: 'sink', port: (server.address() as net.AddressInfo).port, server, sockets };
}

type RelayMode = 'drain-end' | 'end-now' | 'destroy' | 'server-kill' | 'handover' | 'reset' | 'small';

interface ClientState {
  closed: boolean;
  err: Error | undefined;
  connected: boolean;
  problem: boolean;
}

/** The client end of one relay stream: native (a Conn, maybe handed over to a Node socket) or Node. */
class RelayEnd {
  conn: Conn | undefined;
  sock: net.Socket | undefined;
  constructor(
    readonly st: ClientState,
    private readonly handlers: Required<ConnHandlers>,
  ) {}

  attach(sock: net.Socket): void {
    this.sock = sock;
    sock.on('data', this.handlers.data);
    sock.on('error', (e) => (this.st.err ??= e));
    sock.on('close', () => this.handlers.close(this.st.err));
  }
  write(b: Buffer): boolean {
    return this.sock ? this.sock.write(b) : this.conn!.write(b);
  }
  async drained(what: string): Promise<void> {
    let done = false;
    if (this.sock) this.sock.once('drain', () => (done = true));
    else this.conn!.whenDrained(() => (done = true));
    await waitFor(() => done || this.st.closed, what, { timeoutMs: 10_000, intervalMs: 1 });
  }
  pauseFor(ms: number): void {
    const t = this.sock ?? this.conn!;
    t.pause();
    setTimeout(() => t.resume(), ms);
  }
  end(): void {
    if (this.sock) this.sock.end();
    else this.conn!.end();
  }
  destroy(reset: boolean): void {
    if (this.sock) {
      if (reset && !this.sock.destroyed) this.sock.resetAndDestroy();
      else this.sock.destroy();
    } else this.conn!.destroy();
  }
  /** Native only: hands the connection to a Node socket when the core allows it (nothing queued). */
  handover(): boolean {
    if (this.sock || !this.conn) return false;
    let s: net.Socket;
    try {
      s = this.conn.toSocket();
    } catch {
      return false;
    }
    stats.relay.handovers++;
    this.attach(s);
    return true;
  }
}

let relaySeq = 0;

async function relayClient(rng: Rng, client: 'native' | 'node', target: EchoServer, forced?: RelayMode): Promise<void> {
  const id = ++relaySeq;
  stats.relay.connections++;
  const modes: RelayMode[] =
    client === 'node'
      ? ['drain-end', 'destroy', 'server-kill', 'reset']
      : target.kind === 'node'
        ? ['drain-end', 'end-now', 'destroy', 'server-kill', 'handover']
        : ['drain-end', 'destroy', 'server-kill', 'handover'];
  const mode = forced ?? rng.pick(modes);
  bump(stats.relay.modes, `${client}->${target.kind}:${mode}`);
  const size = mode === 'small' ? rng.int(2048) : rng.size();
  const killAt = mode === 'server-kill' ? HEADER + rng.int(size + 1) : 0;
  const label = `relay #${id} (${client} client -> ${target.kind} echo server, ${mode}, ${size} bytes${killAt ? `, server kills at ${killAt}` : ''})`;
  const exp = new Expected();
  const st: ClientState = { closed: false, err: undefined, connected: false, problem: false };
  const bad = (msg: string): void => {
    if (st.problem) return;
    st.problem = true;
    failure('echo', `${label}: ${msg}`);
  };
  const handlers: Required<ConnHandlers> = {
    data: (chunk) => {
      if (st.closed) bad('data after close');
      const p = exp.take(chunk);
      if (p) bad(p);
    },
    close: (err) => {
      if (st.closed) bad('close reported twice');
      st.closed = true;
      st.err = err;
    },
    connect: () => {
      if (st.connected) bad('connect reported twice');
      st.connected = true;
    },
  };
  const end = new RelayEnd(st, handlers);
  if (client === 'native') {
    end.conn = await connectConn('127.0.0.1', target.port, 'native', handlers);
    if (end.conn.mover !== 'native') bad(`connectConn gave the ${end.conn.mover} mover`);
    // Half the time the first bytes go while the connect is still in progress (the core queues them).
    if (rng.chance(0.5)) await waitFor(() => st.connected || st.closed, `${label}: connect`, { timeoutMs: 10_000, intervalMs: 1 });
  } else {
    const s = net.connect(target.port, '127.0.0.1');
    s.setNoDelay(true);
    s.once('connect', () => handlers.connect());
    end.attach(s);
  }
  const write = (b: Buffer): boolean => {
    exp.push(b);
    stats.relay.bytes += b.length;
    return end.write(b);
  };
  const closed = (what: string) => waitFor(() => st.closed, `${label}: ${what}`, { timeoutMs: 10_000, intervalMs: 1 });

  const respect = rng.chance(0.7); // else ignore "full" and keep writing (the core queues it)
  const destroyAt = mode === 'destroy' ? rng.int(size + 1) : -1;
  const handoverAt = mode === 'handover' ? rng.int(size + 1) : -1;
  write(header(id, killAt));
  let sent = 0;
  while (sent < size && !st.closed) {
    if (destroyAt >= 0 && sent >= destroyAt) break;
    if (handoverAt >= 0 && sent >= handoverAt) end.handover();
    const n = Math.min(size - sent, rng.pieceSize());
    const ok = write(rng.bytes(n));
    sent += n;
    if (!ok && respect) await end.drained(`${label}: drain after ${sent} bytes`);
    if (rng.chance(0.05)) end.pauseFor(rng.int(15));
    await jitter(rng);
  }

  switch (mode) {
    case 'destroy':
    case 'reset':
      if (mode === 'reset' && rng.chance(0.5)) await waitFor(() => exp.pending === 0 || st.closed, `${label}: echo`, { timeoutMs: 10_000, intervalMs: 1 });
      end.destroy(mode === 'reset');
      await closed('close after destroy');
      return;
    case 'server-kill':
      // What came back is a prefix of what was sent (checked as it arrived); then one close.
      await closed('close after the server killed the connection');
      return;
    case 'end-now':
      // The last bytes may still be queued in the core: end() must send them before the FIN.
      end.end();
      await closed('close after end');
      if (exp.pending > 0) bad(`closed with ${exp.pending} of ${exp.seen + exp.pending} bytes never echoed`);
      if (st.err) bad(`closed with an error: ${st.err.message}`);
      return;
    default: {
      await waitFor(() => exp.pending === 0 || st.closed, () => `${label}: echo (${exp.pending} bytes outstanding)`, { timeoutMs: 10_000, intervalMs: 1 });
      if (st.closed) bad(`closed after ${exp.seen} of ${exp.seen + exp.pending} bytes came back (${st.err?.message ?? 'no error'})`);
      // Everything sent came back, so nothing is queued: the hand-over must be possible now.
      if (mode === 'handover' && !end.sock && !st.closed && !end.handover()) bad('toSocket() refused with nothing queued');
      if (mode === 'handover' && end.sock && !st.closed) {
        // A little more over the Node socket, to see the stream carries on in order.
        write(rng.bytes(rng.between(1, 70_000)));
        await waitFor(() => exp.pending === 0 || st.closed, `${label}: echo after the hand-over`, { timeoutMs: 10_000, intervalMs: 1 });
      }
      end.end();
      await closed('close after end');
      if (st.err) bad(`closed with an error after a clean end: ${st.err.message}`);
    }
  }
}

/** Many native connections at once: the core's connection table grows (and its ids are reused). */
async function relayBurst(rng: Rng, servers: EchoServer[]): Promise<void> {
  stats.relay.bursts++;
  const n = rng.between(40, 150);
  await Promise.all(Array.from({ length: n }, () => relayClient(rng.fork(), 'native', rng.pick(servers), 'small')));
}

/** A connect to a closed port fails with ECONNREFUSED (or is destroyed while connecting): one close, no connect. */
async function relayRefused(rng: Rng, port: number): Promise<void> {
  stats.relay.refused++;
  const label = `refused connect #${++relaySeq} to port ${port}`;
  const st: ClientState = { closed: false, err: undefined, connected: false, problem: false };
  let conn: Conn;
  try {
    conn = await connectConn('127.0.0.1', port, 'native', {
      data: () => failure('echo', `${label}: data on a refused connection`),
      close: (err) => {
        if (st.closed) failure('echo', `${label}: close reported twice`);
        st.closed = true;
        st.err = err;
      },
      connect: () => (st.connected = true),
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'ECONNREFUSED') failure('echo', `${label}: connect threw ${code ?? (err as Error).message}`);
    return;
  }
  const destroy = rng.chance(0.4);
  if (rng.chance(0.5)) conn.write(rng.bytes(rng.int(100_000))); // queued while connecting, never sent
  if (destroy) conn.destroy();
  await waitFor(() => st.closed, `${label}: close`, { timeoutMs: 10_000, intervalMs: 1 });
  if (st.connected) failure('echo', `${label}: reported connected to a port nobody listens on`);
  const code = (st.err as { code?: string } | undefined)?.code;
  if (!destroy && code !== 'ECONNREFUSED') failure('echo', `${label}: closed with ${code ?? 'no error'}, expected ECONNREFUSED`);
}

/** Writes past the core's 64 MiB hard cap to a peer that never reads: the connection must fail with an error. */
async function relayHardCap(sink: EchoServer): Promise<void> {
  const label = `hard cap #${++relaySeq}`;
  const st: ClientState = { closed: false, err: undefined, connected: false, problem: false };
  const conn = await connectConn('127.0.0.1', sink.port, 'native', {
    data: () => undefined,
    close: (err) => {
      st.closed = true;
      st.err = err;
    },
    connect: () => (st.connected = true),
  });
  await waitFor(() => st.connected || st.closed, `${label}: connect`, { timeoutMs: 10_000, intervalMs: 1 });
  const chunk = Buffer.alloc(1 << 20, 0x61);
  for (let i = 0; i < 160 && !st.closed; i++) {
    conn.write(chunk);
    if (i % 8 === 7) await nextTurn();
  }
  await waitFor(() => st.closed, `${label}: close once the queue passed 64 MiB`, { timeoutMs: 10_000, intervalMs: 5 });
  const code = (st.err as { code?: string } | undefined)?.code;
  stats.relay.hardCap = code ?? 'none';
  if (!st.err) failure('echo', `${label}: the queue passed its hard cap and the connection closed without an error`);
  for (const s of sink.sockets) s.destroy();
}

let hardCapDone = false;

async function relayWorker(name: string, rng: Rng, servers: { node: EchoServer; native: EchoServer; sink: EchoServer }, refusedPort: number, deadline: number, start: number): Promise<void> {
  while (Date.now() < deadline) {
    const r = rng.int(100);
    const what =
      r < 28 ? 'native->node' : r < 52 ? 'native->native' : r < 82 ? 'node->native' : r < 89 ? 'burst' : r < 96 ? 'refused' : 'hardcap';
    doing.set(name, what);
    try {
      if (what === 'native->node') await relayClient(rng.fork(), 'native', servers.node);
      else if (what === 'native->native') await relayClient(rng.fork(), 'native', servers.native);
      else if (what === 'node->native') await relayClient(rng.fork(), 'node', servers.native);
      else if (what === 'burst') await relayBurst(rng.fork(), [servers.node, servers.native]);
      else if (what === 'refused') await relayRefused(rng.fork(), refusedPort);
      else if (!hardCapDone && Date.now() - start > 2_000) {
        hardCapDone = true;
        await relayHardCap(servers.sink);
      }
    } catch (err) {
      failure('echo', `${what}: ${(err as Error).message}`);
    }
  }
  doing.delete(name);
}

// ------------------------------------------------------------------ proxy fuzz: messages

const SQL = [
  'select 1',
  'begin',
  'commit',
  'rollback',
  "insert into fuzz_hostile values ('h')",
  'select pg_sleep(0.005)',
  "select repeat('x', 70000)",
  'select * from generate_series(1, 2000)',
  'copy fuzz_hostile(v) from stdin',
  'select $1::text',
  'show server_version',
  'select 1; select 2',
];
const TYPES = 'QPBEDSHCFdcfXp';
const PROTOCOLS = [196608, 196609, 131072, 80877103, 80877102, 80877104, 0, -1, 0x00040000];

function int32s(...vs: number[]): Buffer {
  const b = Buffer.alloc(4 * vs.length);
  vs.forEach((v, i) => b.writeInt32BE(v | 0, 4 * i));
  return b;
}

function interestingLength(rng: Rng, actual: number): number {
  return rng.pick([
    0, 1, 2, 3, 4, 5, 7, 8, 9, actual - 1, actual + 1, actual + rng.int(64), 255, 256, 9999, 10000, 10001, 65535, 65536,
    LIMIT - 1, LIMIT, LIMIT + 1, LIMIT + 4, 0x3fffffff, 0x40000000, 0x7fffffff, -1, -4, -0x80000000, rng.u32() | 0,
  ]);
}

function startupFrame(rng: Rng): Buffer {
  const params: Record<string, string> = { user: rng.chance(0.85) ? HOSTILE_USER : `fuzz_${rng.int(4)}`, database: 'postgres' };
  if (rng.chance(0.3)) params['application_name'] = `fz${rng.int(100)}`;
  return serialize.startup(params);
}

/** One valid frontend message (or a small valid batch). serialize's own buffers are never changed in place. */
function validFrame(rng: Rng): Buffer {
  const stmt = () => (rng.chance(0.3) ? `s${rng.int(3)}` : '');
  switch (rng.int(14)) {
    case 0:
    case 1:
      return serialize.query(rng.pick(SQL));
    case 2:
      return serialize.parse({ name: stmt(), text: rng.pick(SQL) });
    case 3:
      return serialize.bind({ statement: stmt(), portal: rng.chance(0.2) ? 'p' : '', values: rng.chance(0.5) ? ['x'] : [] });
    case 4:
      return serialize.describe({ type: rng.chance(0.5) ? 'S' : 'P', name: '' });
    case 5:
      return serialize.execute({ rows: rng.int(3) });
    case 6:
    case 7:
      return serialize.sync();
    case 8:
      return serialize.flush();
    case 9:
      return serialize.close({ type: 'S', name: `s${rng.int(3)}` });
    case 10:
      return serialize.copyData(rng.bytes(rng.int(300)));
    case 11:
      return rng.chance(0.5) ? serialize.copyDone() : serialize.copyFail('fuzz');
    case 12:
      return Buffer.concat([
        serialize.parse({ text: 'select $1::text' }),
        serialize.bind({ values: ['v'] }),
        serialize.describe({ type: 'P', name: '' }),
        serialize.execute({}),
        serialize.sync(),
      ]);
    default:
      return rng.chance(0.2) ? serialize.end() : serialize.password('nope');
  }
}

/** A copy of `frame` with 1–3 mutations; the length field is at `lenAt` (0 startup, 1 typed). */
function mutate(rng: Rng, frame: Buffer, lenAt: 0 | 1): Buffer {
  let b = Buffer.from(frame);
  for (let i = rng.between(1, 3); i > 0; i--) {
    switch (rng.int(9)) {
      case 0:
        if (b.length) {
          const at = rng.int(b.length);
          b[at] = b[at]! ^ (1 << rng.int(8));
        }
        break;
      case 1:
        if (b.length) b[rng.int(b.length)] = rng.int(256);
        break;
      case 2:
        if (b.length) b[0] = lenAt === 1 && rng.chance(0.5) ? TYPES.charCodeAt(rng.int(TYPES.length)) : rng.int(256);
        break;
      case 3:
        if (b.length >= lenAt + 4) b.writeInt32BE(interestingLength(rng, b.length - lenAt), lenAt);
        break;
      case 4:
        b = b.subarray(0, rng.int(b.length + 1));
        break;
      case 5: {
        const at = rng.int(b.length + 1);
        b = Buffer.concat([b.subarray(0, at), rng.bytes(rng.between(1, 64)), b.subarray(at)]);
        break;
      }
      case 6: {
        const at = rng.int(b.length + 1);
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.between(1, 16)))]);
        break;
      }
      case 7:
        b = Buffer.concat([b, b]);
        break;
      default: {
        const body = rng.bytes(rng.int(512));
        b = Buffer.concat([b.subarray(0, lenAt + 4), body]);
        if (rng.chance(0.5) && b.length >= lenAt + 4) b.writeInt32BE(body.length + 4, lenAt);
      }
    }
  }
  return b;
}

/** `n` frontend messages, each mutated with probability `p`. */
function frames(rng: Rng, n: number, p: number): Buffer {
  return Buffer.concat(Array.from({ length: n }, () => (rng.chance(p) ? mutate(rng, validFrame(rng), 1) : validFrame(rng))));
}

/** A valid Query whose length field is exactly `len` (a long comment pads it). */
function queryOfLength(len: number): Buffer {
  const text = 'select 1 --';
  const b = Buffer.alloc(1 + len, 0x78);
  b[0] = 0x51;
  b.writeInt32BE(len, 1);
  b.write(text, 5, 'latin1');
  b[len] = 0;
  return b;
}

// ------------------------------------------------------------------ proxy fuzz: hostile clients

/** Hostile connections by local port: the proxy logs a client's address, so an error names its input. */
const hostileByPort = new Map<number, Hostile>();

/**
 * A raw client socket to the proxy that reads loosely (ReadyForQuery, BackendKeyData,
 * CopyInResponse) and keeps a short transcript of what went each way, shown when the proxy logs an
 * error about it.
 */
class Hostile {
  readonly socket: net.Socket;
  scenario = '';
  private readonly born = Date.now();
  private readonly transcript: string[] = [];
  private noted = 0;
  connected = false;
  closed = false;
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
      hostileByPort.set(this.socket.localPort ?? 0, this);
      if (hostileByPort.size > 2_000) hostileByPort.delete(hostileByPort.keys().next().value!);
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closed = true;
      this.note('closed');
    });
    this.socket.on('data', (d: Buffer) => this.onData(d));
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
      if (type === 0x5a) this.ready++;
      else if (type === 0x47) this.copyIn++;
      else if (type === 0x4b && len === 12) this.key = { pid: this.buf.readInt32BE(at + 5), secret: this.buf.readInt32BE(at + 9) };
      at += 1 + len;
    }
    this.buf = this.buf.subarray(at);
  }

  /** Waits up to `ms` for `pred` (or the close); what `pred` says then. */
  async until(pred: () => boolean, ms: number): Promise<boolean> {
    if (ms <= 0) return pred();
    try {
      await waitFor(() => pred() || this.closed, 'a reply from the proxy', { timeoutMs: ms, intervalMs: 2 });
    } catch {
      /* no answer in time: the hostile client does not care */
    }
    return pred();
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

type Scenario = (h: Hostile, rng: Rng, port: number) => Promise<void>;

const q = (sql: string) => serialize.query(sql);

const HOSTILE: [string, number, Scenario][] = [
  [
    'garbage',
    8,
    async (h, rng) => {
      const bytes = rng.bytes(rng.between(1, 8192));
      if (rng.chance(0.3) && bytes.length >= 4) bytes.writeInt32BE(rng.between(8, 300), 0);
      await h.send(rng, bytes);
      await h.until(() => h.closed, rng.int(300));
    },
  ],
  [
    'pre-startup',
    12,
    async (h, rng) => {
      const parts: Buffer[] = [];
      switch (rng.int(7)) {
        case 0:
          parts.push(mutate(rng, startupFrame(rng), 0));
          break;
        case 1:
          h.expectSslAnswer();
          parts.push(serialize.requestSsl(), rng.chance(0.5) ? startupFrame(rng) : mutate(rng, startupFrame(rng), 0));
          break;
        case 2:
          h.expectSslAnswer();
          parts.push(int32s(8, 80877104), startupFrame(rng));
          break;
        case 3:
          parts.push(mutate(rng, serialize.cancel(rng.u32() | 0, rng.u32() | 0), 0));
          break;
        case 4: {
          const f = Buffer.from(startupFrame(rng));
          f.writeInt32BE(rng.pick(PROTOCOLS), 4);
          parts.push(f);
          break;
        }
        case 5: {
          const f = startupFrame(rng);
          parts.push(f.subarray(0, rng.int(f.length)));
          break;
        }
        default:
          parts.push(mutate(rng, serialize.requestSsl(), 0), startupFrame(rng));
      }
      await h.send(rng, Buffer.concat(parts));
      await h.until(() => h.ready > 0, rng.int(500));
      if (h.ready > 0 && rng.chance(0.5)) await h.send(rng, frames(rng, rng.between(1, 4), 0.5));
    },
  ],
  [
    'after-startup',
    16,
    async (h, rng) => {
      if (!(await h.login(rng))) return;
      await h.send(rng, frames(rng, rng.between(1, 10), 0.5));
      await h.until(() => h.closed, rng.int(400));
    },
  ],
  [
    'mid-transaction',
    14,
    async (h, rng) => {
      if (!(await h.login(rng))) return;
      await h.send(rng, q('begin'));
      if (!(await h.until(() => h.ready > 1, 3_000))) return;
      if (rng.chance(0.6)) {
        await h.send(rng, q("insert into fuzz_hostile values ('t')"));
        await h.until(() => h.ready > 2, 3_000);
      }
      switch (rng.int(5)) {
        case 0:
          await h.send(rng, frames(rng, rng.between(1, 8), 0.7));
          break;
        case 1: // an extended batch without its Sync
          await h.send(rng, Buffer.concat([serialize.parse({ text: 'select $1::int' }), serialize.bind({ values: ['1'] }), serialize.execute({})]));
          break;
        case 2: {
          const f = validFrame(rng);
          await h.send(rng, f.subarray(0, rng.int(f.length)));
          break;
        }
        case 3: // leaves while a statement runs
          await h.send(rng, q('select pg_sleep(2)'));
          await sleep(rng.int(200));
          break;
        default:
          await h.send(rng, rng.bytes(rng.between(1, 2048)));
      }
      await h.until(() => h.closed, rng.int(300));
    },
  ],
  [
    'mid-copy',
    10,
    async (h, rng) => {
      if (!(await h.login(rng))) return;
      await h.send(rng, q('copy fuzz_hostile(v) from stdin'));
      if (!(await h.until(() => h.copyIn > 0, 3_000))) return;
      const parts: Buffer[] = [];
      for (let i = rng.int(20); i > 0; i--) {
        const f = rng.chance(0.7) ? serialize.copyData(Buffer.from(`row ${i}\n`)) : serialize.copyData(rng.bytes(rng.int(4096)));
        parts.push(rng.chance(0.25) ? mutate(rng, f, 1) : f);
      }
      if (rng.chance(0.1)) {
        const len = rng.pick([LIMIT - 1, LIMIT, LIMIT + 1, 0x7fffffff]);
        parts.push(Buffer.concat([Buffer.from([0x64]), int32s(len), rng.bytes(Math.min(len - 4, rng.int(LIMIT + 10)))]));
      }
      const end = rng.int(5);
      if (end <= 1) parts.push(serialize.copyDone());
      else if (end === 2) parts.push(serialize.copyFail('fuzz'));
      else if (end === 3) parts.push(mutate(rng, serialize.copyDone(), 1));
      await h.send(rng, Buffer.concat(parts));
      await h.until(() => h.ready > 1, rng.int(1_000));
    },
  ],
  [
    'oversized',
    10,
    async (h, rng) => {
      if (rng.chance(0.25)) {
        const len = rng.pick([9999, 10000, 10001, 65536, 0x3fffffff, 0x7fffffff, 16 << 20]);
        const body = rng.bytes(Math.min(len - 8, rng.int(12_000)));
        await h.send(rng, Buffer.concat([int32s(len, 196608), body]));
      } else {
        if (!(await h.login(rng))) return;
        const type = rng.pick(['Q', 'Q', 'P', 'B', 'd', 'X', 'S', 'p', 'F']);
        const len = rng.pick([LIMIT - 1, LIMIT, LIMIT + 1, LIMIT + 5, 0x3fffffff, 0x7fffffff, 16 << 20, 65535, 65536, 65537, 131072]);
        const msg =
          type === 'Q' && len <= LIMIT && rng.chance(0.6)
            ? queryOfLength(len)
            : Buffer.concat([Buffer.from(type, 'latin1'), int32s(len), rng.bytes(Math.min(len - 4, rng.int(2 * LIMIT)))]);
        await h.send(rng, msg);
      }
      await h.until(() => h.closed, rng.int(2_000));
    },
  ],
  [
    'slow-reader',
    8,
    async (h, rng) => {
      if (!(await h.login(rng))) return;
      await h.send(rng, q(`select repeat('x', 100000) from generate_series(1, ${rng.between(5, 60)})`));
      h.socket.pause();
      await sleep(rng.between(10, 600));
      if (rng.chance(0.5)) {
        h.socket.resume();
        if (await h.until(() => h.ready > 1, 5_000)) {
          await h.send(rng, q('select 1'));
          await h.until(() => h.ready > 2, 3_000);
        }
      }
    },
  ],
  [
    'pipeline-and-vanish',
    8,
    async (h, rng) => {
      if (!(await h.login(rng))) return;
      const batch: Buffer[] = [];
      for (let i = rng.between(10, 300); i > 0; i--) {
        const r = rng.int(3);
        if (r === 0) batch.push(q('select 1'));
        else if (r === 1) batch.push(q("select repeat('y', 5000)"));
        else batch.push(serialize.parse({ text: 'select 2' }), serialize.bind({}), serialize.execute({}), serialize.sync());
      }
      h.write(Buffer.concat(batch));
      if (rng.chance(0.5)) await sleep(rng.int(5));
    },
  ],
  [
    'cancel',
    6,
    async (h, rng, port) => {
      if (!(await h.login(rng)) || !h.key) return;
      await h.send(rng, q('select pg_sleep(0.5)'));
      await sleep(rng.int(100));
      const c = new Hostile(port);
      if (await c.until(() => c.connected, 3_000)) {
        const msg = serialize.cancel(h.key.pid, h.key.secret);
        await c.send(rng, rng.chance(0.3) ? mutate(rng, msg, 0) : msg);
        await c.until(() => c.closed, 1_000);
      }
      c.socket.destroy();
      await h.until(() => h.ready > 1, 2_000);
    },
  ],
  [
    'one-byte-at-a-time',
    4,
    async (h, rng) => {
      const bytes = Buffer.concat([serialize.startup({ user: HOSTILE_USER, database: 'postgres' }), q('select 1'), validFrame(rng)]);
      const stop = rng.int(bytes.length + 1);
      for (let i = 0; i < stop && !h.closed; i++) {
        h.write(bytes.subarray(i, i + 1));
        await nextTurn();
      }
      await h.until(() => h.ready > 1, rng.int(500));
    },
  ],
];
/** FUZZ_HOSTILE=name,name: only those hostile scenarios (to narrow a finding down). */
const HOSTILE_ONLY = process.env['FUZZ_HOSTILE']?.split(',');
const HOSTILE_RUN = HOSTILE.filter(([name]) => !HOSTILE_ONLY || HOSTILE_ONLY.includes(name));
const HOSTILE_WEIGHT = HOSTILE_RUN.reduce((n, [, w]) => n + w, 0);

async function hostileWorker(name: string, rng: Rng, port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    let r = rng.int(HOSTILE_WEIGHT);
    const [scenario, , run] = HOSTILE_RUN.find(([, w]) => (r -= w) < 0)!;
    bump(stats.hostile.scenarios, scenario);
    doing.set(name, scenario);
    const h = new Hostile(port);
    h.scenario = scenario;
    // Every hostile connection lives a bounded, random time: it may be cut at any stage.
    const cap = setTimeout(() => {
      h.note('lifetime cap: destroy');
      h.socket.destroy();
    }, rng.between(100, 5_000));
    try {
      if (await h.until(() => h.connected, 3_000)) await run(h, rng, port);
    } catch (err) {
      failure('driver', `hostile ${scenario}: ${(err as Error).stack}`);
    } finally {
      await h.leave(rng);
      clearTimeout(cap);
    }
  }
  doing.delete(name);
}

// ------------------------------------------------------------------ proxy fuzz: the workload

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

/** A result as the check messages show it. */
const shown = (r: pg.QueryResult): string => JSON.stringify({ command: r.command, rowCount: r.rowCount, rows: r.rows.length > 3 ? `${r.rows.length} rows` : r.rows });

async function pgConnect(port: number, host = '127.0.0.1'): Promise<pg.Client> {
  const c = new pg.Client({ host, port, user: 'postgres', database: 'postgres', query_timeout: 10_000, connectionTimeoutMillis: 10_000 });
  c.on('error', () => undefined); // shows in the next query
  await c.connect();
  return c;
}

const KINDS = ['select', 'insert-tx', 'big', 'multi', 'rollback', 'error'] as const;

/** One workload client: checked statements in a loop; returns its id and the rows it knows it committed. */
async function workloadWorker(name: string, me: number, rng: Rng, port: number, deadline: number, direct: pg.Client): Promise<{ me: number; rows: number }> {
  let c: pg.Client | undefined;
  let rows = 0;
  let seq = 0;
  while (Date.now() < deadline) {
    const kind = rng.pick(KINDS);
    doing.set(name, kind);
    try {
      c ??= await pgConnect(port);
      switch (kind) {
        case 'select': {
          const n = rng.int(1_000_000);
          const r = await c.query('select $1::int * 2 as n', [n]);
          check(r.rows[0]?.n === n * 2, `select ${n} * 2 gave ${shown(r)}`);
          break;
        }
        case 'insert-tx': {
          await c.query('begin');
          await c.query('insert into fuzz_work values ($1, $2, $3)', [me, ++seq, rng.ascii(rng.int(200))]);
          const r = await c.query('select count(*)::int as n from fuzz_work where client = $1', [me]);
          check(r.rows[0]?.n === rows + 1, `count(*) inside the transaction gave ${shown(r)}, expected ${rows + 1}`);
          await c.query('commit');
          rows++;
          break;
        }
        case 'big': {
          const text = rng.ascii(rng.between(64 * 1024, 400 * 1024));
          await c.query('insert into fuzz_work values ($1, $2, $3)', [me, ++seq, text]);
          rows++;
          const r = await c.query('select payload, md5(payload) as h from fuzz_work where client = $1 and seq = $2', [me, seq]);
          const row = r.rows[0] as { payload?: string; h?: string } | undefined;
          check(r.rows.length === 1, `reading back a ${text.length}-byte payload gave ${shown(r)}`);
          check(row?.h === createHash('md5').update(text).digest('hex'), `md5 of a ${text.length}-byte payload differs on the server`);
          check(row?.payload === text, `a ${text.length}-byte payload came back different`);
          break;
        }
        case 'multi': {
          const r = (await c.query('select 1 as a; select 2 as b')) as unknown as pg.QueryResult[];
          check(r[0]?.rows[0]?.a === 1 && r[1]?.rows[0]?.b === 2, `multi-statement query gave ${JSON.stringify(r.map((x) => x.rows))}`);
          break;
        }
        case 'rollback': {
          await c.query('begin');
          await c.query('insert into fuzz_work values ($1, $2, $3)', [me, 1_000_000_000 + rng.int(1_000_000), 'rolled back']);
          await c.query('rollback');
          const r = await c.query('select count(*)::int as n from fuzz_work where client = $1', [me]);
          check(r.rows[0]?.n === rows, `count(*) after a rollback gave ${shown(r)}, expected ${rows}`);
          break;
        }
        case 'error': {
          const err = await c.query('select 1/0').then(
            () => undefined,
            (e: { code?: string }) => e,
          );
          check(err?.code === '22012', `select 1/0 gave ${JSON.stringify(err)}`);
          const r = await c.query('select 42 as n');
          check(r.rows[0]?.n === 42, `after an error, select 42 gave ${shown(r)}`);
          break;
        }
      }
      stats.workload.transactions++;
    } catch (err) {
      stats.workload.failures++;
      failure('workload', `client ${me} ${kind}: ${(err as Error).message}`);
      void c?.end().catch(() => undefined);
      c = undefined;
      const r = await direct.query('select count(*)::int as n, coalesce(max(seq), 0)::int as m from fuzz_work where client = $1 and seq < 1000000000', [me]);
      rows = r.rows[0].n;
      seq = r.rows[0].m;
    }
    if (c && rng.chance(0.02)) {
      await c.end();
      c = undefined;
    }
  }
  await c?.end();
  doing.delete(name);
  return { me, rows };
}

// ------------------------------------------------------------------ main

function progress(): string {
  return JSON.stringify({
    relay: stats.relay.connections,
    hostile: stats.hostile.connections,
    workload: stats.workload.transactions,
    failures: failures.length,
    doing: Object.fromEntries(doing),
  });
}

async function main(): Promise<number> {
  const start = Date.now();
  const deadline = start + SECONDS * 1000;
  setTimeout(() => {
    process.stderr.write(`native-fuzz: watchdog: the run did not finish ${SECONDS + 30} s after it started (seed ${SEED}); ${progress()}\n`);
    process.exit(3);
  }, (SECONDS + 30) * 1000);
  const ticker = setInterval(() => console.log(`native-fuzz: ${Math.round((Date.now() - start) / 1000)} s ${progress()}`), 5_000);
  ticker.unref();
  console.log(`native-fuzz: seed ${SEED} (FUZZ_SEED=${SEED} repeats its choices, not their timing), ${SECONDS} s`);
  if (!Number.isInteger(PG_PORT) || PG_PORT <= 0) {
    console.error('native-fuzz: PGPORT (and PGHOST, default 127.0.0.1) must name a PostgreSQL that trusts user postgres');
    return 2;
  }

  // (a) the native core is the one loaded, and (when asked) it is the ASAN build.
  const io = resolveMover('native'); // throws when the core cannot load
  if (io.mover !== 'native') throw new Error(`resolveMover('native') gave ${io.mover}`);
  const maps = readFileSync('/proc/self/maps', 'utf8');
  const asan = /libasan/.test(maps);
  const addon = process.env['DBPROXY_NATIVE_ADDON'];
  const addonMapped = addon !== undefined && maps.includes(realpathSync(addon));
  console.log(`native-fuzz: native core ${addon ?? '(default path)'} loaded${addonMapped ? '' : ' (NOT mapped from that path)'}; ASAN runtime ${asan ? 'present' : 'absent'}`);
  if (process.env['FUZZ_REQUIRE_ASAN'] === '1' && (!asan || !addonMapped)) {
    failure('driver', `FUZZ_REQUIRE_ASAN=1 but ${!asan ? 'libasan is not in the process' : `the addon at ${addon} is not the one mapped`}`);
    return 1;
  }

  const rng = new Rng(SEED);

  // The relay's servers.
  const servers = { node: await nodeEchoServer(rng.fork()), native: await nativeEchoServer(rng.fork()), sink: await sinkServer() };
  const refusedPort = await freePort();

  // The proxy and its database.
  const direct = await pgConnect(PG_PORT, PG_HOST);
  await direct.query('drop table if exists fuzz_work; drop table if exists fuzz_hostile');
  await direct.query('create table fuzz_work (client int, seq int, payload text, primary key (client, seq)); create table fuzz_hostile (v text)');
  await direct.query(`do $$ begin create role fuzz_hostile login; exception when duplicate_object then null; end $$`);
  await direct.query('grant all on fuzz_hostile to fuzz_hostile');
  const logStream = {
    printed: 0,
    write(line: string): void {
      const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
      bump(stats.proxyLogs, pino.levels.labels[level] ?? String(level));
      if (level < 50 || this.printed++ >= 20) return;
      process.stderr.write(`native-fuzz: proxy log: ${line}`);
      const h = hostileByPort.get(Number(/"client":"[^"]*:(\d+)"/.exec(line)?.[1]));
      if (h) process.stderr.write(`native-fuzz: that client was ${h.describe()}\n`);
    },
  };
  const config = parseConfig(
    {
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      targets: [{ host: PG_HOST, port: PG_PORT }],
      auth: { method: 'trust' },
      io: PROXY_IO,
      pool: { maxConnections: 16, borrowTimeout: '10s' },
      maxMessageLength: LIMIT,
      logLevel: 'warn',
    },
    'native-fuzz',
  );
  const server = new ProxyServer(config, pino({ level: process.env['FUZZ_LOG_LEVEL'] ?? 'warn' }, logStream));
  if (server.mover !== PROXY_IO) throw new Error(`the proxy chose the ${server.mover} mover with io: ${PROXY_IO}`);
  await server.start();
  const port = Number(server.address().split(':').pop());

  // Everything at once, on the one core, until the deadline.
  const [, , workload] = await Promise.all([
    Promise.all(Array.from({ length: RELAY_WORKERS }, (_, i) => relayWorker(`relay${i}`, rng.fork(), servers, refusedPort, deadline, start))),
    Promise.all(Array.from({ length: HOSTILE_WORKERS }, (_, i) => hostileWorker(`hostile${i}`, rng.fork(), port, deadline))),
    Promise.all(Array.from({ length: WORKLOAD_CLIENTS }, (_, i) => workloadWorker(`workload${i}`, i + 1, rng.fork(), port, deadline, direct))),
  ]);

  // Afterwards: every connection was let go of, the data is what the workload committed, and the proxy still answers.
  try {
    await waitFor(() => nativeServerOpen === 0, () => `the native echo server's ${nativeServerOpen} connections to close`, { timeoutMs: 10_000 });
  } catch (err) {
    failure('echo', (err as Error).message);
  }
  type Status = { clients: { total: number; byState: Record<string, number> }; databaseConnections: { active: number } };
  try {
    await waitFor(
      () => {
        const s = server.status() as Status;
        return s.clients.total === 0 && s.databaseConnections.active === 0;
      },
      () => `the proxy to let go of every client: ${JSON.stringify(server.status())}`,
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  } catch (err) {
    failure('proxy', (err as Error).message);
  }
  for (const { me, rows } of workload) {
    const r = await direct.query('select count(*)::int as n from fuzz_work where client = $1', [me]);
    if (r.rows[0].n !== rows) failure('workload', `client ${me}: the table has ${r.rows[0].n} of its rows, it committed ${rows}`);
  }
  let proxyAnswers = false;
  try {
    const c = await pgConnect(port);
    const r = await c.query('select 1 as n');
    await c.end();
    proxyAnswers = r.rows[0]?.n === 1;
    if (!proxyAnswers) failure('proxy', `a fresh SELECT 1 through the proxy gave ${JSON.stringify(r.rows)}`);
  } catch (err) {
    failure('proxy', `a fresh SELECT 1 through the proxy failed: ${(err as Error).message}; proxy status ${JSON.stringify(server.status())}`);
  }
  await direct.end();
  await server.shutdown(2_000);
  for (const s of Object.values(servers)) {
    for (const sock of s.sockets) sock.destroy();
    s.server.close();
  }

  const summary = {
    seed: SEED,
    seconds: Math.round((Date.now() - start) / 100) / 10,
    asan,
    iterations: stats.relay.connections + stats.hostile.connections + stats.workload.transactions,
    bytes: stats.relay.bytes + stats.hostile.bytesOut,
    relayConnections: stats.relay.connections,
    relayBytes: stats.relay.bytes,
    relayHandovers: stats.relay.handovers,
    relayBursts: stats.relay.bursts,
    relayRefused: stats.relay.refused,
    relayHardCap: stats.relay.hardCap || 'not reached',
    hostileConnections: stats.hostile.connections,
    hostileBytes: stats.hostile.bytesOut,
    hostileLogins: stats.hostile.logins,
    workloadTransactions: stats.workload.transactions,
    workloadFailures: stats.workload.failures,
    echoFailures: failures.filter((f) => f.kind === 'echo').length,
    otherFailures: failures.filter((f) => f.kind !== 'echo' && f.kind !== 'workload').length,
    proxyAnswers,
    proxyLogs: stats.proxyLogs,
    hostileScenarios: stats.hostile.scenarios,
    relayModes: stats.relay.modes,
  };
  console.log(JSON.stringify(summary));
  return failures.length === 0 && proxyAnswers ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`native-fuzz: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
