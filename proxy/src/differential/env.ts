/**
 * The environment the differential test files share: one PostgreSQL 15 (trust) with the scenario
 * schema, one in-process proxy with a pool of 2 in front of it, per-run users (a fresh pool each),
 * data reset, transcript dumps, and uncaught exceptions pinned to the test that caused them.
 * `useEnvironment()` registers the vitest hooks; call it once at the top of a test file.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Scenario, Target, Transcript } from '../testing/differential.js';
import { renderTranscript } from '../testing/differential.js';
import { startPostgres, type PgInstance } from '../testing/postgres.js';
import { startProxy, type TestProxy } from '../testing/start-proxy.js';
import { RESET_SQL, SETUP_SQL } from './schema.js';

export interface Run {
  transcript: Transcript;
  problems: string[];
}

export interface Environment {
  readonly db: PgInstance;
  /** One superuser session for the test's own queries (cheaper than a connection per query). */
  query(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  readonly proxy: TestProxy;
  /** A new login role: through the proxy a new (database, user) pool, so no run inherits another's damage. */
  freshUser(): Promise<string>;
  freshDatabase(): Promise<string>;
  /** Ends the user's server processes (through the proxy: its pool's backends) and drops the database. */
  cleanup(user: string | undefined, database: string | undefined): Promise<void>;
  /** Shared data back to its known state. */
  reset(): Promise<void>;
  direct(user?: string, database?: string): Target;
  viaProxy(user: string, database?: string): Target;
}

let seq = 0;

export function useEnvironment(): Environment {
  let db: PgInstance | undefined;
  let proxy: TestProxy | undefined;
  let admin: pg.Client | undefined;
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown): void => void uncaught.push(err);

  beforeAll(async () => {
    // The proxy runs in this process: an exception it does not catch would end a real proxy
    // process. Vitest reports it too, but only here is it pinned to the test that was running.
    process.on('uncaughtException', onUncaught);
    db = await startPostgres({ authMethod: 'trust', settings: { max_connections: '200' } });
    admin = new pg.Client({ host: db.host, port: db.port, user: db.superuser, database: 'postgres' });
    admin.on('error', () => undefined); // a failure shows in the next query
    await admin.connect();
    await admin.query(`set lock_timeout = '10s'`);
    await admin.query(SETUP_SQL);
    proxy = await startProxy({
      targets: [{ host: db.host, port: db.port }],
      auth: { method: 'trust' },
      pool: { maxConnections: 2, borrowTimeout: '5s' },
    });
  }, 120_000);

  afterAll(async () => {
    process.off('uncaughtException', onUncaught);
    await admin?.end();
    await proxy?.stop();
    await db?.stop();
  });

  afterEach(() => {
    const errs = uncaught.splice(0);
    if (errs.length > 0) {
      const stacks = errs.map((e) => (e instanceof Error ? e.stack : String(e))).join('\n');
      throw new Error(`the proxy threw ${errs.length} uncaught exception(s) during this test (a real proxy process would exit):\n${stacks}`);
    }
  });

  return {
    get db() {
      return db!;
    },
    get proxy() {
      return proxy!;
    },
    query: (sql, params) => admin!.query(sql, params),
    async freshUser() {
      const user = `diff_${++seq}`;
      await admin!.query(`create role ${user} superuser login`);
      return user;
    },
    async freshDatabase() {
      const name = `fresh_${++seq}`;
      await admin!.query(`create database ${name}`);
      return name;
    },
    async cleanup(user, database) {
      if (user) await admin!.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = $1', [user]);
      if (database) await admin!.query(`drop database ${database} with (force)`);
    },
    async reset() {
      await admin!.query(RESET_SQL);
    },
    direct: (user = 'postgres', database = 'postgres') => ({ host: db!.host, port: db!.port, user, database }),
    viaProxy: (user, database = 'postgres') => ({ host: proxy!.host, port: proxy!.port, user, database }),
  };
}

/** Fails the test with every problem found, each readable on its own. */
export function fail(problems: string[]): void {
  if (problems.length > 0) throw new Error(problems.join('\n\n'));
}

/** DIFF_DUMP=dir: where to write transcripts and outcomes for reading (unset: nothing is written). */
const DUMP = process.env['DIFF_DUMP'];

export function dumpRun(mode: string, s: Scenario, where: string, run: Run): void {
  if (!DUMP) return;
  const file = path.join(DUMP, mode, `${s.name.replace(/\//g, '__')}.${where}.txt`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, renderTranscript(run.transcript) + run.problems.map((p) => `bystander: ${p}\n`).join(''));
}

export function dumpLine(file: string, line: string): void {
  if (!DUMP) return;
  mkdirSync(DUMP, { recursive: true });
  appendFileSync(path.join(DUMP, file), line + '\n');
}
