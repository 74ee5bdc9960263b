/**
 * Secrets stay out of the log (needs `npm run build`): `bin/dbproxy proxy` at trace level, with a
 * config holding passwords and the admin status token, through wrong and right passwords, SCRAM to
 * a real PostgreSQL, /status with wrong and right tokens, and refused configs; then the whole
 * captured output (and /config) is searched for every secret.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from './testing/postgres.js';
import { spawnDbproxy } from './testing/proxy-process.js';
import { waitFor } from './testing/wait.js';

const PASSWORD = 'pw-Quokka-7731-secret';
const WRONG = 'pw-Wombat-9902-guess';
const TOKEN = 'tok-Narwhal-4417-0123456789abcdef';
const WRONG_TOKEN = 'tok-Dingo-5528-0123456789abcdef';
const BROKEN = 'pw-Axolotl-6643-broken';
const NUMERIC = 736455463728;
const SECRETS = [PASSWORD, WRONG, TOKEN, WRONG_TOKEN, BROKEN, String(NUMERIC), Buffer.from(PASSWORD).toString('base64')];

let db: PgInstance;
let child: ChildProcess | undefined;
const dir = mkdtempSync(path.join(os.tmpdir(), 'dbproxy-secrets-'));

beforeAll(async () => {
  db = await startPostgres({ authMethod: 'scram-sha-256', users: [{ name: 'app', password: PASSWORD }] });
}, 120_000);
afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  await db?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function configText(extra = ''): string {
  return [
    'listen: 127.0.0.1:0',
    'admin:',
    '  listen: 127.0.0.1:0',
    `  statusToken: ${TOKEN}`,
    '  trustLoopback: false', // the token is asked of this loopback caller as of one from the network
    `targets: ["127.0.0.1:${db.port}"]`,
    'auth:',
    '  method: scram',
    `  users: [{ username: app, password: "${PASSWORD}" }]`,
    'logLevel: trace',
    extra,
  ].join('\n');
}

describe('secrets in the proxy log', () => {
  it('never prints a password or token, at trace level, whatever happens', async () => {
    const file = path.join(dir, 'dbproxy.yaml');
    writeFileSync(file, configText());
    const proxy = await spawnDbproxy(['--config', file]);
    child = proxy.child;
    const port = proxy.port;
    const admin = `http://127.0.0.1:${proxy.adminPort}`;

    // A wrong password: refused as PostgreSQL would (28P01).
    const wrong = new pg.Client({ host: '127.0.0.1', port, user: 'app', password: WRONG, database: 'postgres' });
    const err = (await wrong.connect().catch((e: unknown) => e)) as { code?: string };
    expect(err.code).toBe('28P01');
    // The right one, with a query: the proxy logs in to PostgreSQL with SCRAM too.
    const ok = new pg.Client({ host: '127.0.0.1', port, user: 'app', password: PASSWORD, database: 'postgres', application_name: 'secrets-test' });
    await ok.connect();
    expect((await ok.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await ok.end();

    // /status from the network: the wrong token is refused, the right one answers.
    expect((await fetch(`${admin}/status`, { headers: { authorization: `Bearer ${WRONG_TOKEN}` } })).status).toBe(401);
    expect((await fetch(`${admin}/status`)).status).toBe(401);
    const st = await fetch(`${admin}/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(st.status).toBe(200);
    expect(await st.text()).not.toContain(PASSWORD);

    // Refused configs: broken YAML on the password's line, then a password of the wrong type.
    writeFileSync(file, configText().replace(`password: "${PASSWORD}"`, `password: "${BROKEN}`));
    await waitFor(
      () => proxy.output().includes('config file rejected'),
      () => `the broken config to be refused:\n${proxy.output()}`,
      { timeoutMs: 20_000 },
    );
    writeFileSync(file, configText().replace(`password: "${PASSWORD}"`, `password: ${NUMERIC}`));
    await waitFor(
      () => proxy.output().split('config file rejected').length > 2,
      () => `the mistyped config to be refused:\n${proxy.output()}`,
      { timeoutMs: 20_000 },
    );
    const report = await (await fetch(`${admin}/config`)).text();
    expect(report).toContain('auth.users.0.password: expected a string, got a number');

    for (const s of SECRETS) {
      expect(proxy.output(), `the log holds ${s}`).not.toContain(s);
      expect(report, `/config holds ${s}`).not.toContain(s);
    }
    // The searched log is the real one: it has the start and both refusals.
    expect(proxy.output()).toContain('proxy listening');
    expect(proxy.output()).toContain('not valid YAML or JSON: Missing closing');
  }, 60_000);
});
