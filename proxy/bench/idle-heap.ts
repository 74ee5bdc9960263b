/**
 * What an idle client costs the proxy, without the garbage and reserved heap that RSS includes.
 * One PostgreSQL (trust auth); for each mover (native, node) a fresh process (this file, `measure`
 * mode) runs an in-process ProxyServer (pool 20) in front of it and warms it with one client; a
 * child of that (this file, `clients` mode, so the clients' memory is not counted) opens N
 * raw-protocol clients that each log in, run `select 1` and stay idle. process.memoryUsage() after
 * two forced GCs, before and with the clients, gives heap, external and RSS KiB per client.
 *
 *   node --expose-gc dist/proxy/bench/idle-heap.js     (BENCH_IDLE_CLIENTS, default 10000)
 *
 * Progress goes to stderr; the last line of stdout is the JSON result, keyed by mover.
 * BENCH_IDLE_HEAP_MOVERS=node,native picks the movers and their order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { pino } from 'pino';
import { parseConfig } from '../../contract/config/load.js';
import { ProxyServer } from '../src/server.js';
import { startPostgres } from '../src/testing/postgres.js';
import { waitFor } from '../src/testing/wait.js';
import { idleClient } from './idle.js';
import { ensureOpenFiles } from './limits.js';
import type { IdleHeapResult } from './report.js';

type Mover = 'native' | 'node';

const POOL = 20;
/** Clients connecting at once in the child (as idle.ts). */
const BATCH = 500;
/** Descriptors beyond the clients, for PostgreSQL connections, libraries and the like. */
const SPARE_FILES = 2048;
/** Per-client connect/login bound in the child. */
const CLIENT_TIMEOUT_MS = 60_000;

// ------------------------------------------------------------------ the child: the clients

type ToChild = 'open' | 'close';
type FromChild = { type: 'ready' } | { type: 'idle'; held: number; failed: number; firstError?: string } | { type: 'closed'; lostWhileIdle: number };

async function childMain(port: number, n: number): Promise<void> {
  const send = (m: FromChild) => process.send!(m);
  const sockets: net.Socket[] = [];
  let lost = 0;
  let closing = false;
  const destroyAll = () => {
    closing = true;
    for (const s of sockets) s.destroy();
  };
  // The parent went away (crashed, killed): nothing to report to, just go.
  process.on('disconnect', () => {
    destroyAll();
    process.exit(0);
  });
  process.on('message', (m: ToChild) => {
    if (m === 'open') void open();
    else if (m === 'close') void close();
  });
  async function open(): Promise<void> {
    let failed = 0;
    let firstError: string | undefined;
    for (let i = 0; i < n; i += BATCH) {
      const got = await Promise.allSettled(Array.from({ length: Math.min(BATCH, n - i) }, () => idleClient(port, 'postgres', CLIENT_TIMEOUT_MS)));
      for (const g of got) {
        if (g.status === 'fulfilled') {
          const s = g.value;
          s.on('error', () => undefined);
          s.on('close', () => {
            if (!closing) lost++;
          });
          sockets.push(s);
        } else {
          failed++;
          firstError ??= (g.reason as Error).message;
        }
      }
    }
    send({ type: 'idle', held: sockets.length, failed, ...(firstError ? { firstError } : {}) });
  }
  async function close(): Promise<void> {
    const lostWhileIdle = lost;
    const closed = sockets.map((s) => (s.closed ? Promise.resolve() : new Promise((r) => s.once('close', r))));
    destroyAll();
    await Promise.race([Promise.all(closed), sleep(10_000)]);
    send({ type: 'closed', lostWhileIdle });
    process.disconnect();
  }
  send({ type: 'ready' });
}

// ------------------------------------------------------------------ the parent: proxy and measurement

/** The child, driven over IPC; every wait is bounded and the child is killed if this process exits. */
class Clients {
  private readonly inbox: FromChild[] = [];
  private waiter: (() => void) | undefined;
  private readonly exited: Promise<void>;
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: FromChild) => {
      this.inbox.push(m);
      this.waiter?.();
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4096)));
    this.exited = new Promise((r) => child.once('exit', () => r()));
    void this.exited.then(() => this.waiter?.());
  }

  static async start(port: number, n: number): Promise<Clients> {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'clients', String(port), String(n)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    const c = new Clients(child);
    await c.next('ready', 15_000);
    return c;
  }

  /** The next message of `type`, or an error after `timeoutMs` or if the child exits first. */
  async next<T extends FromChild['type']>(type: T, timeoutMs: number): Promise<Extract<FromChild, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Extract<FromChild, { type: T }>;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`the clients' process exited (${this.child.exitCode ?? this.child.signalCode}) before "${type}": ${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the clients' process did not report "${type}" within ${timeoutMs} ms: ${this.stderr}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
      this.waiter = undefined;
    }
  }

  send(m: ToChild): void {
    this.child.send(m);
  }

  /** Asks the child to close its clients and exit; kills it if it does not within `timeoutMs`. */
  async close(timeoutMs: number): Promise<{ lostWhileIdle: number }> {
    try {
      this.send('close');
      return await this.next('closed', timeoutMs);
    } finally {
      await Promise.race([this.exited, sleep(5_000)]);
      this.kill();
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Memory after two full GCs, with a turn of the event loop after each for finalizers and weak callbacks. */
async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 2; i++) {
    globalThis.gc!();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage();
}

interface Status {
  clients: { total: number };
  databaseConnections: { idle: number; active: number; opening: number };
}

async function measure(mover: Mover, dbPort: number, n: number): Promise<IdleHeapResult> {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  const config = parseConfig(
    {
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      targets: [`127.0.0.1:${dbPort}`],
      auth: { method: 'trust' },
      pool: { maxConnections: POOL },
      logLevel: 'silent',
      io: mover,
    },
    'idle-heap',
  );
  const server = new ProxyServer(config, pino({ level: 'silent' }));
  const status = () => server.status() as Status;
  let clients: Clients | undefined;
  try {
    await server.start();
    if (server.mover !== mover) throw new Error(`asked for io: ${mover}, the proxy runs ${server.mover}`);
    const port = Number(server.address().split(':').pop());
    // Warm-up: one client through the whole path (pool created, one backend opened), then gone.
    (await idleClient(port, 'postgres', CLIENT_TIMEOUT_MS)).destroy();
    await waitFor(() => status().clients.total === 0, 'the warm-up client to leave', { timeoutMs: 10_000 });
    clients = await Clients.start(port, n);
    const before = await settledMemory();
    clients.send('open');
    const idle = await clients.next('idle', 30_000 + 15 * n);
    if (idle.failed) process.stderr.write(`  ${mover}: ${idle.failed} clients failed (${idle.firstError ?? '?'})\n`);
    // The last ReadyForQuery left the proxy before its own bookkeeping finished: let it settle.
    await sleep(500);
    const after = await settledMemory();
    const s = status();
    const sessions = s.clients.total;
    const backendConnections = s.databaseConnections.idle + s.databaseConnections.active + s.databaseConnections.opening;
    const pgBackends = await countBackends(dbPort);
    const { lostWhileIdle } = await clients.close(20_000);
    if (lostWhileIdle) process.stderr.write(`  ${mover}: ${lostWhileIdle} idle clients were closed by the proxy before the end\n`);
    const held = idle.held;
    const per = (k: keyof NodeJS.MemoryUsage) => (held ? Math.round(((after[k] - before[k]) / 1024 / held) * 100) / 100 : 0);
    const mib = (v: number) => (v / 2 ** 20).toFixed(1);
    process.stderr.write(
      `  ${mover}: ${held} idle clients; heapUsed ${mib(before.heapUsed)} → ${mib(after.heapUsed)} MiB (of ${mib(before.heapTotal)} → ${mib(after.heapTotal)} MiB reserved), external ${mib(before.external)} → ${mib(after.external)} MiB, ` +
        `rss ${mib(before.rss)} → ${mib(after.rss)} MiB; ${sessions} sessions, ${backendConnections} backends (PostgreSQL: ${pgBackends})\n`,
    );
    await waitFor(() => status().clients.total === 0, 'the proxy to see the clients leave', { timeoutMs: 20_000 });
    return {
      clients: held,
      failed: idle.failed,
      heapKiBPerClient: per('heapUsed'),
      externalKiBPerClient: per('external'),
      arrayBuffersKiBPerClient: per('arrayBuffers'),
      rssKiBPerClient: per('rss'),
      sessions,
      backendConnections,
      pgBackends,
    };
  } finally {
    clients?.kill();
    await server.shutdown(2_000);
  }
}

/** Client backends PostgreSQL has, not counting the one asking. */
async function countBackends(dbPort: number): Promise<number> {
  const c = new pg.Client({ host: '127.0.0.1', port: dbPort, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 10_000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    const r = await c.query(`select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()`);
    return r.rows[0].n as number;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * One mover in a fresh process: in a process that had already held the other mover's clients, RSS
 * barely grows (the allocator reuses what they freed), so its RSS delta would say nothing.
 */
function measureInChild(mover: Mover, dbPort: number, n: number, timeoutMs: number): Promise<IdleHeapResult> {
  const args = [...new Set([...process.execArgv, '--expose-gc'])];
  const child = spawn(process.execPath, [...args, fileURLToPath(import.meta.url), 'measure', mover, String(dbPort), String(n)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise<IdleHeapResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`measuring ${mover} took over ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      process.off('exit', killOnExit);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`measuring ${mover} failed (${code ?? signal})`));
      try {
        resolve(JSON.parse(last) as IdleHeapResult);
      } catch {
        reject(new Error(`measuring ${mover}: no JSON result on the last line of its output: ${last}`));
      }
    });
  });
}

function movers(): Mover[] {
  const v = process.env['BENCH_IDLE_HEAP_MOVERS'];
  const list = v ? v.split(',').map((m) => m.trim()) : ['native', 'node'];
  for (const m of list) if (m !== 'native' && m !== 'node') throw new Error(`BENCH_IDLE_HEAP_MOVERS: unknown mover "${m}" (native, node)`);
  return list as Mover[];
}

async function main(): Promise<void> {
  const wanted = Number(process.env['BENCH_IDLE_CLIENTS'] ?? 10_000);
  if (!Number.isInteger(wanted) || wanted < 1) throw new Error(`BENCH_IDLE_CLIENTS must be a positive integer, not ${process.env['BENCH_IDLE_CLIENTS']}`);
  // The measuring process holds the proxy's side of every client, its child the other; both inherit the limit.
  const limit = ensureOpenFiles(wanted + SPARE_FILES);
  const n = Math.max(1, Math.min(wanted, limit - SPARE_FILES));
  if (n < wanted) process.stderr.write(`open-files limit ${limit}: ${n} idle clients instead of ${wanted}\n`);
  const list = movers();
  process.stderr.write(`idle-heap: starting PostgreSQL; ${n} idle clients per mover (${list.join(', ')})…\n`);
  const db = await startPostgres({ authMethod: 'trust' });
  const out: Partial<Record<Mover, IdleHeapResult>> = {};
  try {
    for (const m of list) out[m] = await measureInChild(m, db.port, n, 90_000 + 25 * n);
  } finally {
    await db.stop();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

/** Ends the process with `f`'s outcome; signals become an exit, so exit hooks (PostgreSQL, children) run. */
function runMain(f: () => Promise<void>): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  f().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`idle-heap failed: ${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'clients') {
  void childMain(Number(rest[0]), Number(rest[1]));
} else if (mode === 'measure') {
  const [mover, dbPort, n] = rest;
  if (mover !== 'native' && mover !== 'node') throw new Error(`measure: unknown mover ${mover}`);
  runMain(async () => {
    const r = await measure(mover, Number(dbPort), Number(n));
    process.stdout.write(JSON.stringify(r) + '\n');
  });
} else {
  runMain(main);
}
