/**
 * Real, throwaway PostgreSQL 15 clusters for tests: initdb into a temp dir owned by the postgres
 * system user (PostgreSQL refuses to run as root), a free loopback port, fsync off. Also streaming
 * standbys (pg_basebackup -R) and promotion, for failover tests.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.js';

const run = promisify(execFile);
export const PG_BIN = process.env['PG_BIN'] ?? '/usr/lib/postgresql/15/bin';
const SUPERUSER = 'postgres';
const SUPERUSER_PASSWORD = 'postgres-test-password';

export interface PgUser {
  name: string;
  password: string;
  superuser?: boolean;
}

export interface PgOptions {
  settings?: Record<string, string>;
  hba?: string[];
  users?: PgUser[];
  authMethod?: 'trust' | 'scram-sha-256' | 'md5';
  /**
   * ssl = on with this server certificate and key (testing/tls-cert.ts): copied into the data
   * directory, as PostgreSQL wants a key only its user can read. The helpers' own connections then
   * use TLS too, so `hba` may accept hostssl only.
   */
  ssl?: { cert: string; key: string };
}

export interface PgInstance {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly dataDir: string;
  readonly superuser: string;
  readonly superuserPassword: string;
  connectionString(user?: string, password?: string, db?: string): string;
  query(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  stop(): Promise<void>;
  /** Immediate shutdown, as a crash would look to clients. */
  kill(): Promise<void>;
  promote(): Promise<void>;
}

/** Running instances and the directories to remove with them. */
const live = new Map<PgInstance, string[]>();
let exitHook = false;

function asPostgres(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const isRoot = process.getuid?.() === 0;
  return isRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args);
}

function makeDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  if (process.getuid?.() === 0) {
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  return dir;
}

let ids: { uid: number; gid: number } | undefined;
function postgresIds(): { uid: number; gid: number } {
  if (ids) return ids;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no "postgres" system user: run bin/install-deps');
  const f = line.split(':');
  ids = { uid: Number(f[2]), gid: Number(f[3]) };
  return ids;
}

function startServer(dataDir: string, port: number): ChildProcess {
  const args = ['-D', dataDir, '-p', String(port), '-k', dataDir, '-c', 'listen_addresses=127.0.0.1'];
  const isRoot = process.getuid?.() === 0;
  const child = isRoot
    ? spawn('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, 'postgres'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(path.join(PG_BIN, 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-8192);
  });
  (child as ChildProcess & { log: () => string }).log = () => log;
  return child;
}

/** How the helpers' own connections talk to a server started with `ssl` (no certificate check: they are not under test). */
type HelperSsl = false | { rejectUnauthorized: false };

async function waitReady(port: number, child: ChildProcess, password: string, ssl: HelperSsl = false): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`postgres exited with ${child.exitCode}: ${(child as ChildProcess & { log: () => string }).log()}`);
    }
    const c = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres', ssl });
    try {
      await c.connect();
      await c.end();
      return;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres on port ${port} not ready: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function instance(dataDir: string, port: number, child: ChildProcess, cleanupDirs: string[], ssl: HelperSsl = false): PgInstance {
  const stopWith = async (mode: 'fast' | 'immediate') => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      await asPostgres(path.join(PG_BIN, 'pg_ctl'), ['-D', dataDir, '-m', mode, '-w', 'stop']).catch(() => child.kill('SIGKILL'));
      await exited;
    }
  };
  const inst: PgInstance = {
    host: '127.0.0.1',
    port,
    dataDir,
    superuser: SUPERUSER,
    superuserPassword: SUPERUSER_PASSWORD,
    connectionString: (user = SUPERUSER, password = SUPERUSER_PASSWORD, db = 'postgres') =>
      `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`,
    async query(sql, params) {
      const c = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password: SUPERUSER_PASSWORD, database: 'postgres', ssl });
      c.on('error', () => undefined); // a server killed mid-test: the query rejects, no stray event
      try {
        await c.connect();
        return await c.query(sql, params);
      } finally {
        await c.end().catch(() => undefined);
      }
    },
    async stop() {
      live.delete(inst);
      await stopWith('fast');
      for (const d of cleanupDirs) rmSync(d, { recursive: true, force: true });
    },
    async kill() {
      await stopWith('immediate');
    },
    async promote() {
      await asPostgres(path.join(PG_BIN, 'pg_ctl'), ['-D', dataDir, '-w', 'promote']);
    },
  };
  live.set(inst, cleanupDirs);
  if (!exitHook) {
    exitHook = true;
    // Best effort when a test run ends without stop(): take the servers down and their files with them.
    process.once('exit', () => {
      for (const [i, dirs] of live) {
        try {
          process.kill(Number(readFileSync(path.join(i.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]), 'SIGQUIT');
        } catch {
          /* already gone */
        }
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
      }
    });
  }
  return inst;
}

export async function startPostgres(opts: PgOptions = {}): Promise<PgInstance> {
  const root = makeDir('dbproxy-pg-');
  const dataDir = path.join(root, 'data');
  const pwfile = path.join(root, 'pwfile');
  writeFileSync(pwfile, SUPERUSER_PASSWORD + '\n');
  if (process.getuid?.() === 0) chownSync(pwfile, postgresIds().uid, postgresIds().gid);
  const method = opts.authMethod ?? 'scram-sha-256';
  await asPostgres(path.join(PG_BIN, 'initdb'), ['-D', dataDir, '-U', SUPERUSER, `--pwfile=${pwfile}`, '-A', method, '--no-sync', '-E', 'UTF8', '--locale=C']);
  const settings: Record<string, string> = {
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '100',
    shared_buffers: '64MB',
    password_encryption: method === 'md5' ? 'md5' : 'scram-sha-256',
    wal_level: 'replica',
    max_wal_senders: '5',
    log_min_messages: 'warning',
    ...(opts.ssl ? sslSettings(dataDir, opts.ssl) : {}),
    ...opts.settings,
  };
  appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    Object.entries(settings)
      .map(([k, v]) => `${k} = '${v}'\n`)
      .join(''),
  );
  const hba = opts.hba ?? [`host all all 127.0.0.1/32 ${method}`, `host replication all 127.0.0.1/32 ${method}`];
  writeFileSync(path.join(dataDir, 'pg_hba.conf'), [`local all all trust`, `local replication all trust`, ...hba].join('\n') + '\n');
  const port = await freePort();
  const child = startServer(dataDir, port);
  const helperSsl: HelperSsl = opts.ssl ? { rejectUnauthorized: false } : false;
  await waitReady(port, child, SUPERUSER_PASSWORD, helperSsl);
  const inst = instance(dataDir, port, child, [root], helperSsl);
  for (const u of opts.users ?? []) {
    const pw = u.password.replace(/'/g, "''");
    await inst.query(`create role "${u.name}" login ${u.superuser ? 'superuser' : ''} password '${pw}'`);
  }
  return inst;
}

/** Copies the server certificate and key into the data directory (owned by postgres, key 0600); the settings that turn ssl on. */
function sslSettings(dataDir: string, ssl: { cert: string; key: string }): Record<string, string> {
  const cert = path.join(dataDir, 'server.crt');
  const key = path.join(dataDir, 'server.key');
  copyFileSync(ssl.cert, cert);
  copyFileSync(ssl.key, key);
  chmodSync(key, 0o600);
  if (process.getuid?.() === 0) for (const f of [cert, key]) chownSync(f, postgresIds().uid, postgresIds().gid);
  return { ssl: 'on', ssl_cert_file: cert, ssl_key_file: key };
}

/** A streaming standby of `primary` (pg_basebackup -R), on its own port. */
export async function startStandby(primary: PgInstance): Promise<PgInstance> {
  const root = makeDir('dbproxy-pg-standby-');
  const dataDir = path.join(root, 'data');
  const env = { PGPASSWORD: primary.superuserPassword };
  const args = ['-h', '127.0.0.1', '-p', String(primary.port), '-U', primary.superuser, '-D', dataDir, '-R', '-X', 'stream', '--no-sync'];
  if (process.getuid?.() === 0) {
    await run('runuser', ['-u', 'postgres', '--', 'env', `PGPASSWORD=${env.PGPASSWORD}`, path.join(PG_BIN, 'pg_basebackup'), ...args]);
  } else {
    await run(path.join(PG_BIN, 'pg_basebackup'), args, { env: { ...process.env, ...env } });
  }
  const port = await freePort();
  const child = startServer(dataDir, port);
  await waitReady(port, child, primary.superuserPassword);
  return instance(dataDir, port, child, [root]);
}
