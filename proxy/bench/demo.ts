/**
 * `make demo`: a throwaway PostgreSQL (max_connections 100), DBProxy in front of it with a pool of 20,
 * and 1,000 concurrent pgbench clients through it — ten times what PostgreSQL itself would accept —
 * then what the proxy did. DEMO_SECONDS (default 10), DEMO_CLIENTS (default 1000).
 */
import pg from 'pg';
import { startPostgres } from '../src/testing/postgres.js';
import { ensureOpenFiles } from './limits.js';
import { pgbench, type PgbenchRun } from './pgbench.js';
import { run, startDbproxy, type Proc } from './processes.js';

const CLIENTS = Number(process.env['DEMO_CLIENTS'] ?? 1000);
const SECONDS = Number(process.env['DEMO_SECONDS'] ?? 10);
const POOL = 20;
const MAX_CONNECTIONS = 100;
/** The role the demo's clients log in as: pg_stat_activity rows with it are the proxy's backends. */
const ROLE = 'demo';

const say = (s = '') => process.stdout.write(s + '\n');

interface Peaks {
  clients: number;
  backends: number;
  waiting: number;
}

interface ProxyStatus {
  clients: { total: number };
  pools: { waiting: number }[];
}

/** Samples the proxy's /status and pg_stat_activity while pgbench runs; prints a line every 2 s. */
function sampler(proxy: Proc, watcher: pg.Client): { peaks: Peaks; stop: () => void } {
  const peaks: Peaks = { clients: 0, backends: 0, waiting: 0 };
  const now = { clients: 0, backends: 0, waiting: 0 };
  const started = Date.now();
  let inFlight = false; // one pg_stat_activity query at a time on the one watcher connection
  const poll = setInterval(() => {
    if (!inFlight) {
      inFlight = true;
      watcher
        .query(`select count(*)::int as n from pg_stat_activity where usename = $1`, [ROLE])
        .then(
          (r) => (peaks.backends = Math.max(peaks.backends, (now.backends = r.rows[0].n as number))),
          () => undefined,
        )
        .finally(() => (inFlight = false));
    }
    fetch(`http://127.0.0.1:${proxy.adminPort}/status`)
      .then((r) => r.json() as Promise<ProxyStatus>)
      .then(
        (s) => {
          now.clients = s.clients.total;
          now.waiting = s.pools.reduce((n, p) => n + p.waiting, 0);
          peaks.clients = Math.max(peaks.clients, now.clients);
          peaks.waiting = Math.max(peaks.waiting, now.waiting);
        },
        () => undefined,
      );
  }, 200);
  const report = setInterval(() => {
    const t = Math.round((Date.now() - started) / 1000);
    say(
      `  ${String(t).padStart(3)}s   clients connected ${String(now.clients).padStart(5)}   database connections ${String(now.backends).padStart(3)}   clients waiting for one ${String(now.waiting).padStart(4)}`,
    );
  }, 2_000);
  return {
    peaks,
    stop: () => {
      clearInterval(poll);
      clearInterval(report);
    },
  };
}

function verdict(r: PgbenchRun, peaks: Peaks): void {
  const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
  say('');
  say('What the proxy did');
  say(`  client connections held at once     ${fmt(peaks.clients)}   (PostgreSQL accepts at most ${MAX_CONNECTIONS})`);
  say(`  database connections used (peak)    ${fmt(peaks.backends)}   (pool size ${POOL})`);
  say(`  multiplexing ratio                  ${peaks.backends ? (peaks.clients / peaks.backends).toFixed(0) : '?'} clients per database connection`);
  say(`  transactions                        ${fmt(r.processed)} in ${SECONDS} s = ${fmt(r.tps)} tps`);
  say(
    `  latency                             ${r.latencyAvgMs.toFixed(1)} ms average, ${r.latencyP99Ms?.toFixed(1) ?? '?'} ms p99 (clients queue for a connection)`,
  );
  say(`  failed transactions                 ${r.failed}${r.abortedClients ? `, ${r.abortedClients} clients aborted: ${r.firstError}` : ''}`);
  say('');
  const ok = r.ran && r.failed === 0 && r.abortedClients === 0 && peaks.backends <= POOL;
  say(
    ok ? `OK: ${fmt(CLIENTS)} clients shared ${peaks.backends} database connections without a single failed transaction.` : 'Something went wrong: see above.',
  );
  say('');
  say('Next: `make test` runs every test; `make bench` compares DBProxy with PgBouncer; `bin/dbproxy proxy --help`.');
}

async function main(): Promise<number> {
  ensureOpenFiles(CLIENTS * 2 + 1024); // pgbench holds one socket per client, so does the proxy
  say(`Starting a throwaway PostgreSQL 15 (max_connections ${MAX_CONNECTIONS}) and loading pgbench data…`);
  const db = await startPostgres({ authMethod: 'trust', settings: { max_connections: String(MAX_CONNECTIONS) } });
  let proxy: Proc | undefined;
  let outcome: { r: PgbenchRun; peaks: Peaks };
  try {
    await run('pgbench', ['-h', '127.0.0.1', '-p', String(db.port), '-U', 'postgres', '-i', '-s', '10', '-q', 'postgres']);
    await db.query(`create role ${ROLE} login superuser`);
    proxy = await startDbproxy(db.port, POOL);
    say(`DBProxy listening on 127.0.0.1:${proxy.port} → PostgreSQL on 127.0.0.1:${db.port}, pool of ${POOL} connections`);
    say(`  (while it runs: curl http://127.0.0.1:${proxy.adminPort}/status)`);
    say('');
    say(`Driving ${CLIENTS.toLocaleString('en-US')} concurrent pgbench clients (select-only) through it for ${SECONDS} s…`);
    const watcher = new pg.Client({ host: '127.0.0.1', port: db.port, user: 'postgres', database: 'postgres' });
    await watcher.connect();
    const s = sampler(proxy, watcher);
    const r = await pgbench({ port: proxy.port, user: ROLE, clients: CLIENTS, seconds: SECONDS, args: ['-S'] }).finally(() => s.stop());
    await watcher.end();
    outcome = { r, peaks: s.peaks };
  } finally {
    say('Cleaning up: stopping the proxy and PostgreSQL, removing their files…');
    await proxy?.stop();
    await db.stop();
  }
  verdict(outcome.r, outcome.peaks);
  const { r } = outcome;
  return r.ran && r.abortedClients === 0 && r.failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
