/**
 * `make bench-failover`: clients run short write transactions in a loop while the primary is stopped
 * (`pg_ctl stop -m immediate`) and its streaming standby promoted; through DBProxy (standalone, both
 * servers as targets) and, for comparison, connected directly (reconnecting like libpq's
 * `target_session_attrs=read-write`). Reports the flip time (promotion → first commit on the new
 * writer), errors between and inside transactions, and dropped connections.
 * Writes .cache/bench/failover.{json,md}.
 *
 * FAILOVER_RUNS (default 3) failovers per mode; FAILOVER_CLIENTS (default 20);
 * FAILOVER_PROMOTE_AFTER_MS (default 500): how long after the stop the standby is promoted (the time
 * an HA manager takes to decide).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startPostgres, startStandby, type PgInstance } from '../src/testing/postgres.js';
import { failoverMarkdown, summarize, type FailoverRun } from './failover-report.js';
import { startDbproxy } from './processes.js';
import { promotionTime, Workload, type Connector } from './failover-workload.js';

const RUNS = Number(process.env['FAILOVER_RUNS'] ?? 3);
const CLIENTS = Number(process.env['FAILOVER_CLIENTS'] ?? 20);
const PROMOTE_AFTER_MS = Number(process.env['FAILOVER_PROMOTE_AFTER_MS'] ?? 500);
/** How long clients run before the primary is stopped, and at most after the promotion. */
const STEADY_MS = 2_000;
const SETTLE_MAX_MS = 15_000;
const OUT = path.resolve(import.meta.dirname, '../../../.cache/bench');

async function pair(): Promise<{ primary: PgInstance; standby: PgInstance }> {
  const primary = await startPostgres({ authMethod: 'trust', settings: { max_connections: '100' } });
  await primary.query('create table failover_log (id bigserial primary key, client int not null, at timestamptz not null default clock_timestamp())');
  const standby = await startStandby(primary);
  return { primary, standby };
}

/** `pg_ctl promote` of the standby; the moment it left recovery. */
const promote = (standby: PgInstance) =>
  promotionTime({ host: '127.0.0.1', port: standby.port, user: 'postgres', database: 'postgres' }, () => standby.promote());

async function once(mode: 'dbproxy' | 'direct', run: number): Promise<FailoverRun> {
  const { primary, standby } = await pair();
  const proxy = mode === 'dbproxy' ? await startDbproxy([primary.port, standby.port], CLIENTS) : undefined;
  try {
    const connector: Connector = proxy
      ? { endpoints: [{ host: '127.0.0.1', port: proxy.port }], requireWriter: false }
      : { endpoints: [primary, standby].map((p) => ({ host: p.host, port: p.port })), requireWriter: true };
    const w = new Workload(CLIENTS, connector, `${standby.host}:${standby.port}`);
    await w.start();
    await new Promise((r) => setTimeout(r, STEADY_MS));
    const stoppedAt = performance.now();
    w.markStop(stoppedAt);
    await primary.kill();
    await new Promise((r) => setTimeout(r, Math.max(0, PROMOTE_AFTER_MS - (performance.now() - stoppedAt))));
    const promotedAt = await promote(standby);
    await w.settle(promotedAt, SETTLE_MAX_MS);
    await w.stop();
    return { mode, run, clients: CLIENTS, promoteAfterMs: PROMOTE_AFTER_MS, ...w.result(promotedAt) };
  } finally {
    await proxy?.stop();
    await standby.stop();
    await primary.stop();
  }
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const runs: FailoverRun[] = [];
  for (let i = 1; i <= RUNS; i++) {
    for (const mode of ['dbproxy', 'direct'] as const) {
      process.stderr.write(`failover ${i}/${RUNS} ${mode}…\n`);
      const r = await once(mode, i);
      process.stderr.write(
        `  flip ${r.flipMs?.toFixed(0) ?? '—'} ms, all clients ${r.allClientsMs?.toFixed(0) ?? '—'} ms, errors ${r.errorsBetween}+${r.errorsInside}, drops ${r.drops}, stuck ${r.stuck.length}\n`,
      );
      runs.push(r);
    }
  }
  const md = failoverMarkdown(runs, summarize(runs));
  writeFileSync(path.join(OUT, 'failover.json'), JSON.stringify({ date: new Date().toISOString(), runs, summary: summarize(runs) }, null, 2) + '\n');
  writeFileSync(path.join(OUT, 'failover.md'), md);
  process.stdout.write(md + `\nwritten to ${OUT}/failover.{json,md}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench-failover failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
