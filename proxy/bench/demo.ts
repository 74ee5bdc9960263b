/**
 * `make demo`: a local PostgreSQL (max_connections 100), DBProxy in front of it with a pool of 20,
 * and 1,000 concurrent pgbench clients through it — more clients than PostgreSQL would even accept —
 * then what the proxy did.
 */
import pg from 'pg';
import { startPostgres } from '../src/testing/postgres.js';
import { run, startDbproxy } from './processes.js';

const CLIENTS = 1000;
const POOL = 20;
const SECONDS = Number(process.env['DEMO_SECONDS'] ?? 10);

async function main(): Promise<void> {
  const say = (s: string) => process.stdout.write(s + '\n');
  say('starting a throwaway PostgreSQL 15 (max_connections = 100)…');
  const db = await startPostgres({ authMethod: 'trust', settings: { max_connections: '100' } });
  const proxy = await startDbproxy(db.port, POOL).catch(async (e) => {
    await db.stop();
    throw e;
  });
  try {
    await run('pgbench', ['-h', '127.0.0.1', '-p', String(db.port), '-U', 'postgres', '-i', '-s', '10', '-q', 'postgres']);
    say(`DBProxy listening on 127.0.0.1:${proxy.port} (admin http://127.0.0.1:${proxy.adminPort}/status), pool of ${POOL}`);
    say(`driving ${CLIENTS} concurrent pgbench clients through it for ${SECONDS}s…`);
    const watcher = new pg.Client({ host: '127.0.0.1', port: db.port, user: 'postgres', database: 'postgres' });
    await watcher.connect();
    let peakBackends = 0;
    let peakClients = 0;
    const poll = setInterval(() => {
      watcher.query(`select count(*)::int as n from pg_stat_activity where application_name = 'pgbench'`).then((r) => (peakBackends = Math.max(peakBackends, r.rows[0].n as number)), () => undefined);
      fetch(`http://127.0.0.1:${proxy.adminPort}/status`)
        .then((r) => r.json() as Promise<{ clients: { total: number } }>)
        .then((s) => (peakClients = Math.max(peakClients, s.clients.total)), () => undefined);
    }, 250);
    const { stdout } = await run('pgbench', ['-h', '127.0.0.1', '-p', String(proxy.port), '-U', 'postgres', '-n', '-S', '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS), 'postgres'], { maxBuffer: 1 << 24 });
    clearInterval(poll);
    await watcher.end();
    const tps = /tps = ([\d.]+)/.exec(stdout)?.[1] ?? '?';
    const failed = /number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? '?';
    const processed = /actually processed: (\d+)/.exec(stdout)?.[1] ?? '?';
    say('');
    say('what the proxy did');
    say(`  client connections held at once:   ${peakClients}`);
    say(`  database connections used (peak):  ${peakBackends}   (PostgreSQL allows 100)`);
    say(`  multiplexing ratio:                ${peakBackends ? (peakClients / peakBackends).toFixed(0) : '?'} clients per database connection`);
    say(`  transactions:                      ${processed} at ${Number(tps).toFixed(0)} tps, ${failed} failed`);
    say('');
    say('next: `make test`, or run it yourself: bin/dbproxy proxy --help');
  } finally {
    await proxy.stop();
    await db.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
