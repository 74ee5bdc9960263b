// The proxy under fuzz: its database tables, its config, a log stream naming hostile clients, its start.
import type pg from 'pg';
import { pino } from 'pino';
import { parseConfig } from '../../../../contract/config/load.js';
import { ProxyServer } from '../../server.js';
import { hostileByPort } from './hostile-client.js';
import { LIMIT, LOG_LEVEL, PG_HOST, PG_PORT, PROXY_IO } from './knobs.js';
import { bump, stats } from './report.js';

/** Fresh tables for the workload and the hostile clients, and the hostile role. */
export async function prepareDatabase(direct: pg.Client): Promise<void> {
  await direct.query('drop table if exists fuzz_work; drop table if exists fuzz_hostile');
  await direct.query('create table fuzz_work (client int, seq int, payload text, primary key (client, seq)); create table fuzz_hostile (v text)');
  await direct.query(`do $$ begin create role fuzz_hostile login; exception when duplicate_object then null; end $$`);
  await direct.query('grant all on fuzz_hostile to fuzz_hostile');
}

/** Counts the proxy's log lines by level; prints the first 20 errors, with the hostile client each names. */
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

/** A started ProxyServer with io PROXY_IO in front of PGHOST:PGPORT, and the port it listens on. */
export async function startProxy(): Promise<{ server: ProxyServer; port: number }> {
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
  const server = new ProxyServer(config, pino({ level: LOG_LEVEL }, logStream));
  if (server.mover !== PROXY_IO) throw new Error(`the proxy chose the ${server.mover} mover with io: ${PROXY_IO}`);
  await server.start();
  return { server, port: Number(server.address().split(':').pop()) };
}
