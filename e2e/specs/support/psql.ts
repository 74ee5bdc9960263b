/** Runs one SQL statement with psql: from this host locally, or inside the cluster's PostgreSQL pod on kind. */
import { execFile } from 'node:child_process';
import { ON_KIND } from './env.js';
import { kubectl } from './kubectl.js';

const PSQL = '/usr/lib/postgresql/15/bin/psql';

export async function psql(opts: { host: string; port: number; user: string; password: string; sql: string; database?: string }): Promise<string> {
  const conn = `host=${opts.host} port=${opts.port} user=${opts.user} dbname=${opts.database ?? 'postgres'} connect_timeout=10 sslmode=disable`;
  if (ON_KIND) {
    // Pod IPs are reachable only inside the cluster: run psql in the PostgreSQL pod (e2e/kind/run.sh).
    return kubectl([
      '-n',
      process.env['DBPROXY_E2E_PG_NAMESPACE'] ?? 'e2e-db',
      'exec',
      'deploy/postgres',
      '--',
      'env',
      `PGPASSWORD=${opts.password}`,
      'psql',
      conn,
      '-XAtc',
      opts.sql,
    ]);
  }
  return new Promise((resolve, reject) => {
    execFile(PSQL, [conn, '-XAtc', opts.sql], { env: { ...process.env, PGPASSWORD: opts.password }, timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`psql ${conn}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}
