/**
 * `make bench`: the same pgbench runs through DBProxy, PgBouncer (transaction mode, same pool size), a
 * plain Node.js relay and directly, in one run on one PostgreSQL. Reports tps, latency (avg, p99),
 * failures, peak backends, proxy CPU per transaction (the figure that matters, see PERFORMANCE.md) and
 * memory; ratios DBProxy/PgBouncer and DBProxy/direct. Writes .cache/bench/results.{json,md}.
 *
 * BENCH_SECONDS (default 15) per run; BENCH_QUICK=1 for a short subset; BENCH_IDLE_CLIENTS (10000).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startPostgres } from '../src/testing/postgres.js';
import { holdIdleClients } from './idle.js';
import { cpuMicros, rssKiB, run, startDbproxy, startPgbouncer, startRelay, type Proc } from './processes.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? (QUICK ? 5 : 15));
const POOL = 20;
const MAX_CONNECTIONS = 200;
const OUT = path.resolve(import.meta.dirname, '../../../.cache/bench');

interface Case {
  id: string;
  clients: number;
  args: string[];
}

interface Result {
  case: string;
  target: string;
  clients: number;
  tps: number;
  latencyAvgMs: number;
  latencyP99Ms: number | null;
  failed: number;
  processed: number;
  peakBackends: number;
  cpuMicrosPerTx: number | null;
  rssMiB: number | null;
}

const setScript = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-')), 'set.sql');
writeFileSync(
  setScript,
  ["\\set aid random(1, 100000 * :scale)", "SET application_name = 'bench-:client_id';", 'BEGIN;', "SET LOCAL statement_timeout = '5s';", 'SELECT abalance FROM pgbench_accounts WHERE aid = :aid;', 'END;', ''].join('\n'),
);

const ALL: Case[] = [
  { id: 'select-only, 50 clients', clients: 50, args: ['-S'] },
  { id: 'select-only, 1000 clients', clients: 1000, args: ['-S'] },
  { id: 'tpcb-like, 50 clients', clients: 50, args: [] },
  { id: 'tpcb-like, 1000 clients', clients: 1000, args: [] },
  { id: 'select-only -C (connect per tx), 50 clients', clients: 50, args: ['-S', '-C'] },
  { id: 'select-only -M prepared, 50 clients', clients: 50, args: ['-S', '-M', 'prepared'] },
  { id: 'SET + SET LOCAL per tx, 50 clients', clients: 50, args: ['-f', setScript] },
];
const CASES = QUICK ? ALL.filter((c) => /select-only(, | -M)/.test(c.id)) : ALL;

async function pgbench(port: number, c: Case, logDir: string): Promise<Omit<Result, 'case' | 'target' | 'clients' | 'peakBackends' | 'cpuMicrosPerTx' | 'rssMiB'>> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-n', '-c', String(c.clients), '-j', '2', '-T', String(SECONDS), ...c.args];
  args.push('--log', `--log-prefix=${logDir}/tx`, '--sampling-rate=0.05', 'postgres');
  const { stdout } = await run('pgbench', args, { maxBuffer: 1 << 26, cwd: logDir }).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: `${e.stdout ?? ''}\n${e.stderr ?? ''}` }));
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? NaN);
  const latencies: number[] = [];
  for (const f of readdirSync(logDir).filter((n) => n.startsWith('tx'))) {
    for (const line of readFileSync(path.join(logDir, f), 'utf8').split('\n')) {
      const us = Number(line.split(' ')[2]);
      if (Number.isFinite(us) && line) latencies.push(us / 1000);
    }
  }
  latencies.sort((a, b) => a - b);
  return {
    tps: num(/tps = ([\d.]+)/),
    latencyAvgMs: num(/latency average = ([\d.]+) ms/),
    latencyP99Ms: latencies.length ? latencies[Math.floor(latencies.length * 0.99)]! : null,
    failed: num(/number of failed transactions: (\d+)/) || (stdout.includes('tps =') ? 0 : c.clients),
    processed: num(/number of transactions actually processed: (\d+)/) || 0,
  };
}

async function measure(p: Proc | undefined, port: number, c: Case, watcher: pg.Client): Promise<Result> {
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'bench-log-'));
  let peak = 0;
  const poll = setInterval(() => {
    watcher
      .query(`select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()`)
      .then((r) => (peak = Math.max(peak, r.rows[0].n as number)), () => undefined);
  }, 200);
  const cpu0 = p ? cpuMicros(p.pid) : 0;
  const r = await pgbench(port, c, logDir);
  const cpu1 = p ? cpuMicros(p.pid) : 0;
  clearInterval(poll);
  return {
    case: c.id,
    target: p?.name ?? 'direct',
    clients: c.clients,
    ...r,
    peakBackends: peak,
    cpuMicrosPerTx: p && r.processed > 0 ? (cpu1 - cpu0) / r.processed : null,
    rssMiB: p ? rssKiB(p.pid) / 1024 : null,
  };
}

const fmt = (v: number | null, d = 1) => (v === null || Number.isNaN(v) ? '—' : v.toFixed(d));

function table(results: Result[], idle: unknown): string {
  const lines = [
    `# DBProxy benchmark — ${new Date().toISOString()}`,
    '',
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; Node ${process.version}; pgbench ${SECONDS}s per run, scale 10, pool ${POOL}, max_connections ${MAX_CONNECTIONS}, fsync off.`,
    '',
    '| case | target | tps | latency avg ms | p99 ms | failed | peak backends | proxy CPU µs/tx | proxy RSS MiB | ÷ PgBouncer | ÷ direct |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const bouncer = results.find((x) => x.case === r.case && x.target === 'pgbouncer');
    const direct = results.find((x) => x.case === r.case && x.target === 'direct');
    const ratio = (other?: Result) => (other && other.tps > 0 ? fmt(r.tps / other.tps, 2) : '—');
    lines.push(
      `| ${r.case} | ${r.target} | ${fmt(r.tps, 0)} | ${fmt(r.latencyAvgMs, 2)} | ${fmt(r.latencyP99Ms, 2)} | ${r.failed} | ${r.peakBackends} | ${fmt(r.cpuMicrosPerTx)} | ${fmt(r.rssMiB)} | ${r.target === 'dbproxy' ? ratio(bouncer) : ''} | ${r.target === 'dbproxy' ? ratio(direct) : ''} |`,
    );
  }
  lines.push('', '## Idle clients', '', '```json', JSON.stringify(idle, null, 2), '```', '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const db = await startPostgres({ authMethod: 'trust', settings: { max_connections: String(MAX_CONNECTIONS) } });
  const procs: Proc[] = [];
  try {
    await run('pgbench', ['-h', '127.0.0.1', '-p', String(db.port), '-U', 'postgres', '-i', '-s', '10', '-q', 'postgres']);
    const dbproxy = await startDbproxy(db.port, POOL);
    const bouncer = await startPgbouncer(db.port, POOL);
    const relay = await startRelay(db.port);
    procs.push(dbproxy, bouncer, relay);
    const watcher = new pg.Client({ host: '127.0.0.1', port: db.port, user: 'postgres', database: 'postgres' });
    await watcher.connect();
    const results: Result[] = [];
    for (const c of CASES) {
      const fitsDirect = c.clients <= MAX_CONNECTIONS - 20;
      const targets: (Proc | undefined)[] = [dbproxy, bouncer, ...(fitsDirect ? [relay, undefined] : [])];
      for (const t of targets) {
        const r = await measure(t, t?.port ?? db.port, c, watcher);
        results.push(r);
        process.stderr.write(`${c.id} via ${r.target}: ${fmt(r.tps, 0)} tps, ${r.failed} failed, ${fmt(r.cpuMicrosPerTx)} µs CPU/tx\n`);
      }
    }
    await watcher.end();
    const idleClients = Number(process.env['BENCH_IDLE_CLIENTS'] ?? (QUICK ? 2000 : 10_000));
    const idle = {
      dbproxy: await holdIdleClients(dbproxy, idleClients, db),
      pgbouncer: await holdIdleClients(bouncer, idleClients, db),
    };
    const md = table(results, idle);
    writeFileSync(path.join(OUT, 'results.json'), JSON.stringify({ seconds: SECONDS, pool: POOL, results, idle }, null, 2));
    writeFileSync(path.join(OUT, 'results.md'), md);
    process.stdout.write(md + `\nwritten to ${OUT}/results.{json,md}\n`);
  } finally {
    for (const p of procs) await p.stop();
    await db.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
