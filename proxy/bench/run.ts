/**
 * `make bench`: the same pgbench runs through DBProxy on its native I/O core (`dbproxy`) and on Node's
 * sockets (`dbproxy-node`), PgBouncer (transaction mode, same pool size), a plain Node.js relay and directly, in one run on one PostgreSQL. Reports tps, latency (avg, p99),
 * failures, peak backends, proxy CPU per transaction (the figure that matters, see PERFORMANCE.md) and
 * memory; ratios DBProxy/PgBouncer and DBProxy/direct. Writes .cache/bench/results.{json,md}.
 *
 * BENCH_SECONDS (default 15) per run; BENCH_QUICK=1 for a short subset (5 s); BENCH_IDLE_CLIENTS
 * (default 10000, 2000 quick); BENCH_CASES=regex to pick cases by name.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startPostgres } from '../src/testing/postgres.js';
import { holdIdleClients } from './idle.js';
import { ensureOpenFiles } from './limits.js';
import { pgbench } from './pgbench.js';
import { cpuTimes, rssKiB, run, startDbproxy, startPgbouncer, startRelay, type Proc } from './processes.js';
import { markdown, type IdleHeapResult, type IdleResult, type Result } from './report.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? (QUICK ? 5 : 15));
const IDLE_CLIENTS = Number(process.env['BENCH_IDLE_CLIENTS'] ?? (QUICK ? 2000 : 10_000));
const POOL = 20;
const MAX_CONNECTIONS = 200;
const SCALE = 10;
const OUT = path.resolve(import.meta.dirname, '../../../.cache/bench');

interface Case {
  id: string;
  clients: number;
  args: string[];
  quick?: boolean;
}

/** A session-state-heavy script: a session SET and a SET LOCAL in every transaction. */
function setScript(dir: string): string {
  const file = path.join(dir, 'set.sql');
  const sql = [
    '\\set aid random(1, 100000 * :scale)',
    "SET application_name = 'bench-:client_id';",
    'BEGIN;',
    "SET LOCAL statement_timeout = '5s';",
    'SELECT abalance FROM pgbench_accounts WHERE aid = :aid;',
    'END;',
  ];
  writeFileSync(file, sql.join('\n') + '\n');
  return file;
}

function cases(scriptDir: string): Case[] {
  const all: Case[] = [
    { id: 'select-only, 50 clients', clients: 50, args: ['-S'], quick: true },
    { id: 'select-only, 1000 clients', clients: 1000, args: ['-S'], quick: true },
    { id: 'tpcb-like, 50 clients', clients: 50, args: [] },
    { id: 'tpcb-like, 1000 clients', clients: 1000, args: [] },
    { id: 'select-only -C (connect per tx), 50 clients', clients: 50, args: ['-S', '-C'], quick: true },
    { id: 'select-only -M prepared, 50 clients', clients: 50, args: ['-S', '-M', 'prepared'] },
    { id: 'SET + SET LOCAL per tx, 50 clients', clients: 50, args: ['-f', setScript(scriptDir)] },
  ];
  const pick = process.env['BENCH_CASES'];
  if (pick) return all.filter((c) => new RegExp(pick).test(c.id));
  return QUICK ? all.filter((c) => c.quick) : all;
}

/** Each target connects as its own role, so pg_stat_activity tells whose backends are whose. */
const roleOf = (target: string) => `via_${target.replace(/-/g, '_')}`;

/** Sum of dbproxy_session_pins_total over all reasons, from the proxy's /metrics. */
async function pinsTotal(adminPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^dbproxy_session_pins_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

async function measure(p: Proc | undefined, port: number, c: Case, watcher: pg.Client): Promise<Result> {
  const user = roleOf(p?.name ?? 'direct');
  let peak = 0;
  // Distinct backend pids seen: more than the pool size means backends were closed and reopened.
  const seen = new Set<number>();
  let inFlight = false; // one poll at a time: a busy server may answer slower than the interval
  const poll = setInterval(() => {
    if (inFlight) return;
    inFlight = true;
    watcher
      .query(`select pid from pg_stat_activity where usename = $1`, [user])
      .then(
        (r) => {
          peak = Math.max(peak, r.rows.length);
          for (const row of r.rows) seen.add(row.pid as number);
        },
        () => undefined,
      )
      .finally(() => (inFlight = false));
  }, 200);
  const pins0 = p?.adminPort ? await pinsTotal(p.adminPort) : null;
  const cpu0 = p ? cpuTimes(p.pid) : undefined;
  const r = await pgbench({ port, user, clients: c.clients, seconds: SECONDS, args: c.args });
  const cpu1 = p ? cpuTimes(p.pid) : undefined;
  clearInterval(poll);
  const pins1 = p?.adminPort ? await pinsTotal(p.adminPort) : null;
  const perTx = (k: 'user' | 'sys' | 'both') => {
    if (!cpu0 || !cpu1 || r.processed === 0) return null;
    const d = (f: 'user' | 'sys') => cpu1[f] - cpu0[f];
    return (k === 'both' ? d('user') + d('sys') : d(k)) / r.processed;
  };
  return {
    case: c.id,
    target: p?.name ?? 'direct',
    clients: c.clients,
    tps: r.tps,
    latencyAvgMs: r.latencyAvgMs,
    latencyP99Ms: r.latencyP99Ms,
    failed: r.failed,
    abortedClients: r.ran ? r.abortedClients : c.clients,
    firstError: r.firstError,
    processed: r.processed,
    peakBackends: peak,
    backendsSeen: seen.size,
    pins: pins0 !== null && pins1 !== null ? pins1 - pins0 : null,
    cpuMicrosPerTx: perTx('both'),
    cpuUserMicrosPerTx: perTx('user'),
    cpuSysMicrosPerTx: perTx('sys'),
    rssMiB: p ? rssKiB(p.pid) / 1024 : null,
  };
}

async function runCases(db: { port: number }, procs: { dbproxy: Proc; dbproxyNode: Proc; bouncer: Proc; relay: Proc }, list: Case[]): Promise<Result[]> {
  const watcher = new pg.Client({ host: '127.0.0.1', port: db.port, user: 'postgres', database: 'postgres' });
  await watcher.connect();
  const results: Result[] = [];
  try {
    for (const c of list) {
      // The relay is 1:1 and direct needs one backend per client: only where max_connections allows.
      const fits = c.clients <= MAX_CONNECTIONS - 20;
      const targets: (Proc | undefined)[] = [procs.dbproxy, procs.dbproxyNode, procs.bouncer, ...(fits ? [procs.relay, undefined] : [])];
      for (const t of targets) {
        const r = await measure(t, t?.port ?? db.port, c, watcher);
        results.push(r);
        const cpu = r.cpuMicrosPerTx === null ? '' : `, ${r.cpuMicrosPerTx.toFixed(1)} µs CPU/tx`;
        const aborted = r.abortedClients ? `, ${r.abortedClients} clients aborted (${r.firstError ?? '?'})` : '';
        process.stderr.write(`  ${c.id} via ${r.target}: ${r.tps.toFixed(0)} tps, ${r.failed} failed${aborted}${cpu}\n`);
      }
    }
  } finally {
    await watcher.end();
  }
  return results;
}

/** The proxy's heap per idle client after forced GCs, per mover (idle-heap.ts); undefined if that failed. */
async function idleHeap(n: number): Promise<Record<string, IdleHeapResult> | undefined> {
  try {
    const r = await run(process.execPath, ['--expose-gc', path.join(import.meta.dirname, 'idle-heap.js')], {
      env: { ...process.env, BENCH_IDLE_CLIENTS: String(n) },
      timeout: 20 * 60_000,
      maxBuffer: 16 << 20,
    });
    process.stderr.write(r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Record<string, IdleHeapResult>;
  } catch (err) {
    process.stderr.write(`idle heap measurement failed: ${(err as Error).message}\n`);
    return undefined;
  }
}

async function main(): Promise<void> {
  // Idle clients: one descriptor each, here and (separately) in the proxy, which inherits the limit.
  const limit = ensureOpenFiles(IDLE_CLIENTS + 2048);
  const idleClients = Math.max(0, Math.min(IDLE_CLIENTS, limit - 2048));
  if (idleClients < IDLE_CLIENTS) process.stderr.write(`open-files limit ${limit}: holding ${idleClients} idle clients instead of ${IDLE_CLIENTS}\n`);
  mkdirSync(OUT, { recursive: true });
  const scriptDir = mkdtempSync(path.join(os.tmpdir(), 'bench-scripts-'));
  process.stderr.write(`starting PostgreSQL (max_connections ${MAX_CONNECTIONS}) and pgbench -i -s ${SCALE}…\n`);
  const db = await startPostgres({ authMethod: 'trust', settings: { max_connections: String(MAX_CONNECTIONS) } });
  const started: Proc[] = [];
  try {
    await run('pgbench', ['-h', '127.0.0.1', '-p', String(db.port), '-U', 'postgres', '-i', '-s', String(SCALE), '-q', 'postgres']);
    for (const t of ['dbproxy', 'dbproxy-node', 'pgbouncer', 'relay', 'direct']) await db.query(`create role ${roleOf(t)} login superuser`);
    const dbproxy = await startDbproxy(db.port, POOL, 'native');
    started.push(dbproxy);
    const dbproxyNode = await startDbproxy(db.port, POOL, 'node');
    started.push(dbproxyNode);
    const bouncer = await startPgbouncer(db.port, POOL, [roleOf('pgbouncer')]);
    started.push(bouncer);
    const relay = await startRelay(db.port);
    started.push(relay);
    const results = await runCases(db, { dbproxy, dbproxyNode, bouncer, relay }, cases(scriptDir));
    process.stderr.write(`holding ${idleClients} idle clients through each proxy…\n`);
    const idle: Record<string, IdleResult> = {
      dbproxy: await holdIdleClients(dbproxy, roleOf('dbproxy'), idleClients, db),
      'dbproxy-node': await holdIdleClients(dbproxyNode, roleOf('dbproxy-node'), idleClients, db),
      pgbouncer: await holdIdleClients(bouncer, roleOf('pgbouncer'), idleClients, db),
    };
    process.stderr.write(`measuring the proxy's heap after GC with ${idleClients} idle clients per mover…\n`);
    const heap = idleClients > 0 ? await idleHeap(idleClients) : undefined;
    const info = { seconds: SECONDS, pool: POOL, maxConnections: MAX_CONNECTIONS, scale: SCALE };
    const md = markdown(info, results, idle, heap);
    writeFileSync(path.join(OUT, 'results.json'), JSON.stringify({ date: new Date().toISOString(), ...info, results, idle, idleHeap: heap }, null, 2) + '\n');
    writeFileSync(path.join(OUT, 'results.md'), md);
    process.stdout.write(md + `\nwritten to ${OUT}/results.{json,md}\n`);
  } finally {
    for (const p of started) await p.stop();
    await db.stop();
    rmSync(scriptDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
