/**
 * The hostile load: real pgbench through a proxy process while hostile workers (the fuzz's
 * scenarios, plus the SCRAM, startup-stall and borrow-queue ones) open thousands of connections
 * against it. Reports what pgbench counted, the rows it committed, the hostile side's counters and
 * the proxy's memory; hostile-load.int.test.ts asserts on them.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { PgInstance } from '../../testing/postgres.js';
import type { ProxyProcess } from '../../testing/proxy-process.js';
import { waitFor } from '../../testing/wait.js';
import { HOSTILE, hostileWorker, type ScenarioTable } from './hostile.js';
import { Rng } from './random.js';
import { failures, stats } from './report.js';
import { borrowQueue, midSasl, stallStartup } from './scenarios-auth.js';

const run = promisify(execFile);

/** The fuzz's scenarios and the ones for the stages a SCRAM proxy with limits adds. */
export const LOAD_SCENARIOS: ScenarioTable = [...HOSTILE, ['mid-sasl', 14, midSasl], ['stall-startup', 6, stallStartup], ['borrow-queue', 12, borrowQueue]];

export interface PgbenchReport {
  processed: number;
  failed: number;
  aborted: number;
  exitCode: number;
  output: string;
}

export interface LoadReport {
  pgbench: PgbenchReport;
  /** Rows pgbench_history gained: one per committed pgbench transaction. */
  historyRows: number;
  hostileConnections: number;
  hostileLogins: number;
  scenarios: Record<string, number>;
  /** Failures the hostile driver itself hit (a scenario that threw). */
  driverFailures: string[];
  /** Resident memory of the proxy: after the warm-up, its peak over the run, and once the run is over. */
  memory: { baseline: number; peak: number; after: number };
}

export interface LoadOptions {
  db: PgInstance;
  proxy: ProxyProcess;
  bench: { user: string; password: string };
  seconds: number;
  hostileWorkers: number;
  pgbenchClients: number;
  seed: number;
}

/** pgbench through the proxy for `seconds` (-T), its report read from stdout and stderr. */
export async function pgbenchThrough(o: LoadOptions, args: string[]): Promise<PgbenchReport> {
  const argv = ['-h', '127.0.0.1', '-p', String(o.proxy.port), '-U', o.bench.user, '-n', ...args, 'postgres'];
  const env = { ...process.env, PGPASSWORD: o.bench.password, PGCONNECT_TIMEOUT: '30' };
  const r = await run('pgbench', argv, { env, maxBuffer: 1 << 24 }).then(
    (x) => ({ ...x, code: 0 }),
    (e: { stdout?: string; stderr?: string; code?: number }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: e.code ?? -1 }),
  );
  const num = (re: RegExp) => Number(re.exec(r.stdout)?.[1] ?? NaN);
  return {
    processed: num(/number of transactions actually processed: (\d+)/),
    failed: num(/number of failed transactions: (\d+)/),
    aborted: (r.stderr.match(/client \d+ (script \d+ )?aborted/g) ?? []).length,
    exitCode: r.code,
    output: `${r.stdout}\n${r.stderr}`.slice(-4_000),
  };
}

async function historyCount(db: PgInstance): Promise<number> {
  return (await db.query('select count(*)::int as n from pgbench_history')).rows[0].n as number;
}

/** Runs pgbench and the hostile workers side by side for `seconds`. */
export async function hostileLoad(o: LoadOptions): Promise<LoadReport> {
  // Warm-up: the pools exist and the proxy has served both kinds of client once.
  await pgbenchThrough(o, ['-c', '2', '-j', '1', '-t', '20']);
  const warm = new Rng(o.seed);
  await Promise.all(Array.from({ length: 4 }, (_, i) => hostileWorker(`warm${i}`, warm.fork(), o.proxy.port, Date.now() + 1_000, LOAD_SCENARIOS)));
  const baseline = o.proxy.memory().rss;
  const before = { history: await historyCount(o.db), connections: stats.hostile.connections, logins: stats.hostile.logins, failures: failures.length };
  const scenariosBefore = { ...stats.hostile.scenarios };

  const rng = new Rng(o.seed ^ 0x5eed);
  let peak = baseline;
  const sampler = setInterval(() => {
    if (o.proxy.alive()) peak = Math.max(peak, o.proxy.memory().peak);
  }, 250);
  try {
    // pgbench first: once its first transaction committed, all its clients are connected (it
    // connects them before it starts); the hostile window then lies inside its run.
    const bench = pgbenchThrough(o, ['-c', String(o.pgbenchClients), '-j', '2', '-T', String(o.seconds + 5)]);
    let benchDone = false;
    void bench.finally(() => (benchDone = true));
    await waitFor(async () => benchDone || (await historyCount(o.db)) > before.history, 'pgbench to start its transactions', {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    const deadline = Date.now() + o.seconds * 1000;
    const [pgbench] = await Promise.all([
      bench,
      Promise.all(Array.from({ length: o.hostileWorkers }, (_, i) => hostileWorker(`hostile${i}`, rng.fork(), o.proxy.port, deadline, LOAD_SCENARIOS))),
    ]);
    if (o.proxy.alive()) peak = Math.max(peak, o.proxy.memory().peak);
    const scenarios: Record<string, number> = {};
    for (const [k, v] of Object.entries(stats.hostile.scenarios)) if (v - (scenariosBefore[k] ?? 0) > 0) scenarios[k] = v - (scenariosBefore[k] ?? 0);
    return {
      pgbench,
      historyRows: (await historyCount(o.db)) - before.history,
      hostileConnections: stats.hostile.connections - before.connections,
      hostileLogins: stats.hostile.logins - before.logins,
      scenarios,
      driverFailures: failures.slice(before.failures).map((f) => `[${f.kind}] ${f.message}`),
      memory: { baseline, peak, after: o.proxy.alive() ? o.proxy.memory().rss : Number.NaN },
    };
  } finally {
    clearInterval(sampler);
  }
}
