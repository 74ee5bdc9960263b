/**
 * TLS on the client leg against real PostgreSQL and real psql: verify-full against a test CA, the
 * minimum version, client certificates (verify-ca, verify-full), and certificate rotation — a
 * kubelet-style swap and a plain overwrite — while a connected client keeps working.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../contract/config/load.js';
import { PG_BIN, startPostgres, type PgInstance } from '../testing/postgres.js';
import { SecretMount } from '../testing/secret-mount.js';
import { startProxy, type TestProxy } from '../testing/start-proxy.js';
import { signedCert, testCa, type TestCa } from '../testing/tls-cert.js';
import { waitFor } from '../testing/wait.js';

const APP = { username: 'app', password: 'app-secret' };
const POLL = { timeoutMs: 30_000, intervalMs: 100 };
const dir = mkdtempSync(path.join(os.tmpdir(), 'dbproxy-client-tls-int-'));
const ca = testCa(dir, 'ca');
const strangerCa = testCa(dir, 'stranger-ca');
const serverA = signedCert(ca, dir, 'server-a');
const serverB = signedCert(ca, dir, 'server-b');
const serverC = signedCert(ca, dir, 'server-c');
const fp = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256;

/** A client certificate (CN `cn`) psql accepts: libpq refuses a key others may read. */
function clientCert(issuer: TestCa, name: string, cn: string): { cert: string; key: string } {
  const c = signedCert(issuer, dir, name, cn, true);
  chmodSync(c.key, 0o600);
  return c;
}

/** psql's output, or its error output when it fails; the proxy runs in this process, so not execFileSync. */
function psql(conninfo: string, command: string): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, PGPASSWORD: APP.password, PGCONNECT_TIMEOUT: '10', HOME: dir };
    execFile(path.join(PG_BIN, 'psql'), [conninfo, '-Atc', command], { env, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ ok: !err, out: `${stdout}${stderr}` }),
    );
  });
}

/** SSLRequest by hand, then a TLS handshake with `options`: the server certificate's fingerprint, or the error. */
function tlsHandshake(port: number, options: tls.ConnectionOptions = {}): Promise<{ fingerprint?: string; error?: string }> {
  return new Promise((resolve) => {
    const raw = net.connect(port, '127.0.0.1');
    raw.once('error', (err) => resolve({ error: err.message }));
    raw.once('connect', () => raw.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])));
    raw.once('data', (answer) => {
      if (answer.toString() !== 'S') return resolve({ error: `answer ${answer.toString()}` });
      const s = tls.connect({ socket: raw, servername: 'localhost', ca: readFileSync(ca.cert), ...options });
      s.once('secureConnect', () => {
        resolve({ fingerprint: s.getPeerCertificate().fingerprint256 });
        s.destroy();
      });
      s.once('error', (err) => {
        resolve({ error: err.message });
        raw.destroy();
      });
    });
  });
}

let db: PgInstance;
beforeAll(async () => {
  db = await startPostgres({
    users: [
      { name: APP.username, password: APP.password },
      { name: 'other', password: APP.password },
    ],
  });
}, 120_000);
afterAll(async () => {
  await db?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a certificate from a test CA, TLS required, TLS 1.3 at least', () => {
  let proxy: TestProxy;
  const plain = mkdtempSync(path.join(dir, 'plain-'));
  const certFile = path.join(plain, 'tls.crt');
  const keyFile = path.join(plain, 'tls.key');
  beforeAll(async () => {
    copyFileSync(serverA.cert, certFile);
    copyFileSync(serverA.key, keyFile);
    proxy = await startProxy({
      targets: [{ host: db.host, port: db.port }],
      auth: { method: 'scram', users: [APP] },
      tls: { certFile, keyFile, require: true, minVersion: 'TLSv1.3' },
    });
  });
  afterAll(() => proxy?.stop());

  it('psql sslmode=verify-full against the test CA connects over TLS', async () => {
    const r = await psql(`host=localhost port=${proxy.port} user=app dbname=postgres sslmode=verify-full sslrootcert=${ca.cert}`, '\\conninfo');
    expect(r.out).toMatch(/SSL connection \(protocol: TLSv1\.3/);
    expect(r.ok).toBe(true);
    const q = await psql(`host=localhost port=${proxy.port} user=app dbname=postgres sslmode=verify-full sslrootcert=${ca.cert}`, 'select 7');
    expect(q).toEqual({ ok: true, out: '7\n' });
  });

  it('psql sslmode=verify-full against another CA refuses the proxy', async () => {
    const r = await psql(`host=localhost port=${proxy.port} user=app dbname=postgres sslmode=verify-full sslrootcert=${strangerCa.cert}`, 'select 1');
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/certificate verify failed/);
  });

  it('refuses plaintext when TLS is required', async () => {
    const r = await psql(`host=localhost port=${proxy.port} user=app dbname=postgres sslmode=disable`, 'select 1');
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/requires TLS/);
  });

  it('refuses a client that speaks TLS 1.2 at most, and takes one that speaks 1.3', async () => {
    const old = await tlsHandshake(proxy.port, { maxVersion: 'TLSv1.2' });
    expect(old.error).toMatch(/protocol version|alert/i);
    expect(await tlsHandshake(proxy.port, { maxVersion: 'TLSv1.3' })).toEqual({ fingerprint: fp(serverA.cert) });
  });

  it('serves a certificate overwritten in place to new connections', async () => {
    writeFileSync(keyFile, readFileSync(serverB.key));
    writeFileSync(certFile, readFileSync(serverB.cert));
    await waitFor(async () => (await tlsHandshake(proxy.port)).fingerprint === fp(serverB.cert), 'new handshakes to get certificate b', POLL);
  });
});

describe('client certificates', () => {
  let proxy: TestProxy;
  const appCert = clientCert(ca, 'client-app', 'app');
  const otherCert = clientCert(ca, 'client-other', 'other');
  const strangerCert = clientCert(strangerCa, 'client-stranger', 'app');
  const conninfo = (extra: string) => `host=localhost port=${proxy.port} user=app dbname=postgres sslmode=verify-full sslrootcert=${ca.cert} ${extra}`;
  const tlsConfig = (clientCertificates: string) => ({ certFile: serverA.cert, keyFile: serverA.key, caFile: ca.cert, clientCertificates });
  beforeAll(async () => {
    proxy = await startProxy({ targets: [{ host: db.host, port: db.port }], auth: { method: 'scram', users: [APP] }, tls: tlsConfig('verify-full') });
  });
  afterAll(() => proxy?.stop());

  it.each([
    ['no certificate', '', /connection requires a valid client certificate/],
    ['a certificate of another CA', `sslcert=${strangerCert.cert} sslkey=${strangerCert.key}`, /does not verify/],
    ['a certificate for another user', `sslcert=${otherCert.cert} sslkey=${otherCert.key}`, /certificate authentication failed for user "app".*CN is "other"/],
  ])('verify-full refuses a client with %s', async (_name, extra, message) => {
    const r = await psql(conninfo(extra), 'select 1');
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(message);
  });

  it('verify-full refuses a plaintext client too', async () => {
    const r = await psql(`host=localhost port=${proxy.port} user=app dbname=postgres sslmode=disable`, 'select 1');
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/connection requires a valid client certificate/);
  });

  it('verify-full takes the certificate for the user', async () => {
    expect(await psql(conninfo(`sslcert=${appCert.cert} sslkey=${appCert.key}`), 'select 7')).toEqual({ ok: true, out: '7\n' });
  });

  it('verify-ca, after a config reload, takes any certificate of the CA and still refuses none', async () => {
    const next = { listen: '127.0.0.1:0', admin: { listen: '127.0.0.1:0' }, logLevel: 'warn', targets: [{ host: db.host, port: db.port }] };
    proxy.server.applyConfig(parseConfig({ ...next, auth: { method: 'scram', users: [APP] }, tls: tlsConfig('verify-ca') }, 'test'));
    expect(await psql(conninfo(`sslcert=${otherCert.cert} sslkey=${otherCert.key}`), 'select 8')).toEqual({ ok: true, out: '8\n' });
    const r = await psql(conninfo(''), 'select 1');
    expect(r.out).toMatch(/connection requires a valid client certificate/);
  });
});

describe('certificate rotation, as kubelet updates a mounted Secret', () => {
  let proxy: TestProxy;
  const mount = new SecretMount(path.join(dir, 'secret'));
  beforeAll(async () => {
    mount.write({ 'tls.crt': readFileSync(serverA.cert), 'tls.key': readFileSync(serverA.key), 'ca.crt': readFileSync(ca.cert) });
    proxy = await startProxy({
      targets: [{ host: db.host, port: db.port }],
      auth: { method: 'scram', users: [APP] },
      tls: { certFile: mount.path('tls.crt'), keyFile: mount.path('tls.key'), require: true },
    });
  });
  afterAll(() => proxy?.stop());

  it('new handshakes get the new certificate; a connected client keeps its connection and works on', async () => {
    const old = new pg.Client({ connectionString: proxy.url(APP.username, APP.password), ssl: { ca: readFileSync(ca.cert), servername: 'localhost' } });
    await old.connect();
    let transactions = 0;
    let failure: unknown;
    let running = true;
    const loop = (async () => {
      try {
        while (running) {
          await old.query('begin');
          await old.query('select pg_backend_pid()');
          await old.query('commit');
          transactions++;
        }
      } catch (err) {
        failure = err;
      }
    })();
    try {
      await waitFor(() => transactions > 3, 'the old client to run transactions', POLL);
      mount.write({ 'tls.crt': readFileSync(serverB.cert), 'tls.key': readFileSync(serverB.key), 'ca.crt': readFileSync(ca.cert) });
      await waitFor(async () => (await tlsHandshake(proxy.port)).fingerprint === fp(serverB.cert), 'new handshakes to get certificate b', POLL);
      const seen = transactions;
      await waitFor(() => transactions > seen + 3 || failure !== undefined, 'the old client to go on after the rotation', POLL);
      expect(failure).toBeUndefined();
      const stream = (old as unknown as { connection: { stream: tls.TLSSocket } }).connection.stream;
      expect(stream.getPeerCertificate().fingerprint256).toBe(fp(serverA.cert));
      const status = JSON.parse((await proxy.admin('/status')).text);
      expect(status.tls).toMatchObject({ fingerprint256: fp(serverB.cert), subject: 'CN=localhost' });
    } finally {
      running = false;
      await loop;
      await old.end();
    }
  });

  it('a broken replacement is refused and the running certificate stays', async () => {
    const reloads = async (result: string) => {
      const m = (await proxy.admin('/metrics')).text.match(new RegExp(`^dbproxy_tls_certificate_reloads_total\\{result="${result}"\\} (\\d+)`, 'm'));
      return Number(m?.[1]);
    };
    const failuresBefore = await reloads('failure');
    mount.write({ 'tls.crt': readFileSync(serverC.cert), 'tls.key': readFileSync(serverA.key), 'ca.crt': readFileSync(ca.cert) });
    await waitFor(async () => (await reloads('failure')) === failuresBefore + 1, 'the broken pair to be refused', POLL);
    expect(await tlsHandshake(proxy.port)).toEqual({ fingerprint: fp(serverB.cert) });
    const status = JSON.parse((await proxy.admin('/status')).text);
    expect(status.tls.lastReloadError).toMatch(/key values mismatch/);
    const c = new pg.Client({ connectionString: proxy.url(APP.username, APP.password), ssl: { ca: readFileSync(ca.cert), servername: 'localhost' } });
    await c.connect();
    expect((await c.query('select 1 as n')).rows[0].n).toBe(1);
    await c.end();
  });
});
