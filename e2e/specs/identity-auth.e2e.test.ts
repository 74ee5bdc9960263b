/**
 * Kubernetes identity auth (proxy/src/auth/kube-identity.ts) against the real apiserver: clients give
 * TokenRequest tokens as their password, the proxy (with a ServiceAccount of its own, bound to
 * system:auth-delegator) checks them with TokenReview and logs in to PostgreSQL as the mapped user.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { startPostgres, type PgInstance } from '../../proxy/src/testing/postgres.js';
import { startProxy, type TestProxy } from '../../proxy/src/testing/start-proxy.js';
import { selfSignedCert } from '../../proxy/src/testing/tls-cert.js';
import { kubectl } from './support/kubectl.js';
import { createNamespace, deleteNamespace } from './support/namespace.js';
import { describeOnPlane } from './support/plane.js';
import { waitFor } from './support/wait.js';

const APP = { name: 'app', password: 'app-password' };
const ETL = { name: 'etl', password: 'etl-password' };
const PLAIN = { name: 'plain', password: 'plain-password' };

let ns: string;
let audience: string;
let db: PgInstance;
let proxy: TestProxy;
let dir: string;
let binding: string;

const token = async (sa: string, aud = audience): Promise<string> =>
  (await kubectl(['-n', ns, 'create', 'token', sa, '--audience', aud, '--duration', '10m'])).trim();

/** One login through the proxy: current_user, or the SQLSTATE it was refused with. */
async function login(user: string, password: string, ssl = true): Promise<{ user?: string; code?: string; message?: string }> {
  const client = new pg.Client({
    host: proxy.host,
    port: proxy.port,
    user,
    password,
    database: 'postgres',
    ssl: ssl ? { rejectUnauthorized: false } : false,
    connectionTimeoutMillis: 15_000,
  });
  try {
    await client.connect();
    const r = await client.query<{ current_user: string }>('select current_user');
    return { user: r.rows[0]!.current_user };
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { code: e.code ?? 'none', message: e.message };
  } finally {
    await client.end().catch(() => {});
  }
}

/** A kubeconfig for the proxy's own ServiceAccount: the proxy reviews tokens as that, not as admin. */
async function proxyKubeconfig(): Promise<string> {
  const admin = new KubeConfig();
  admin.loadFromFile(inject('kubeconfig'));
  const cluster = admin.getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...cluster, name: 'plane' }],
    users: [{ name: 'proxy', token: (await kubectl(['-n', ns, 'create', 'token', 'proxy', '--duration', '1h'])).trim() }],
    contexts: [{ name: 'proxy', cluster: 'plane', user: 'proxy' }],
    currentContext: 'proxy',
  });
  const file = path.join(dir, 'proxy.kubeconfig');
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'identity-e2e-'));
  ns = await createNamespace('kid');
  audience = `dbproxy.io/${ns}/db`;
  binding = `${ns}-proxy-tokenreview`;
  for (const sa of ['proxy', 'web', 'reporter', 'stranger', 'gone']) await kubectl(['-n', ns, 'create', 'serviceaccount', sa]);
  db = await startPostgres({ authMethod: 'scram-sha-256', users: [APP, ETL, PLAIN] });
  const { cert, key } = selfSignedCert(dir);
  const kubeconfigFile = await proxyKubeconfig();
  const saved = process.env['KUBECONFIG'];
  process.env['KUBECONFIG'] = kubeconfigFile; // read when the proxy makes its apiserver client
  try {
    proxy = await startProxy({
      targets: [`127.0.0.1:${db.port}`],
      tls: { certFile: cert, keyFile: key },
      auth: {
        method: 'scram',
        users: [APP, ETL, PLAIN].map((u) => ({ username: u.name, password: u.password })),
        kubernetes: {
          audience,
          cacheTtl: '1s',
          rules: [
            { serviceAccount: { namespace: ns, name: 'web' }, users: ['app'] },
            { serviceAccount: { namespace: ns, name: 'gone' }, users: ['app'] },
            { serviceAccount: { namespace: ns, name: 'reporter' }, users: ['etl'] },
          ],
        },
      },
    });
  } finally {
    if (saved === undefined) delete process.env['KUBECONFIG'];
    else process.env['KUBECONFIG'] = saved;
  }
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
  if (binding) await kubectl(['delete', 'clusterrolebinding', binding, '--ignore-not-found']).catch(() => {});
  if (ns) await deleteNamespace(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describeOnPlane('Kubernetes identity auth through the proxy', () => {
  it('without create tokenreviews the proxy refuses with 08006; with system:auth-delegator the mapped user logs in', async () => {
    const web = await token('web');
    expect(await login('app', web)).toMatchObject({ code: '08006' });
    await kubectl(['create', 'clusterrolebinding', binding, '--clusterrole=system:auth-delegator', `--serviceaccount=${ns}:proxy`]);
    // RBAC changes reach the apiserver's authorizer through its watch: wait for it.
    const ok = await waitFor(
      'a login with the web ServiceAccount token',
      async () => {
        const r = await login('app', web);
        return r.user !== undefined && r;
      },
      45_000,
    );
    expect(ok.user).toBe('app');
    expect((await login('etl', await token('reporter'))).user).toBe('etl');
  }, 60_000);

  it('refuses a token for another audience (28P01)', async () => {
    expect(await login('app', await token('web', 'https://kubernetes.default.svc'))).toMatchObject({
      code: '28P01',
      message: 'password authentication failed for user "app"',
    });
  });

  it('refuses a ServiceAccount no rule maps to the user (28000)', async () => {
    expect(await login('app', await token('stranger'))).toMatchObject({ code: '28000', message: expect.stringContaining(`ServiceAccount ${ns}/stranger`) });
    expect(await login('etl', await token('web'))).toMatchObject({ code: '28000' });
  });

  it('refuses a forged token and a garbage JWT (28P01)', async () => {
    const web = await token('web');
    const [h, p] = web.split('.');
    const forgedSig = `${h}.${p}.${Buffer.from('not the signature').toString('base64url')}`;
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forgedClaims = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: `system:serviceaccount:${ns}:web`, exp: 4_102_444_800 })).toString('base64url')}.${web.split('.')[2]}`;
    const garbage = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.x`;
    for (const t of [forgedSig, forgedClaims, garbage]) expect(await login('app', t)).toMatchObject({ code: '28P01' });
  });

  it('refuses the token of a deleted ServiceAccount (28P01) once its cached review expires', async () => {
    const gone = await token('gone');
    expect((await login('app', gone)).user).toBe('app');
    await kubectl(['-n', ns, 'delete', 'serviceaccount', 'gone']);
    const refused = await waitFor(
      'the deleted ServiceAccount’s token refused',
      async () => {
        const r = await login('app', gone);
        return r.code !== undefined && r;
      },
      45_000,
    );
    expect(refused).toMatchObject({ code: '28P01', message: 'password authentication failed for user "app"' });
  });

  it('passwords still work: right and wrong for a user the rules name, wrong for one they do not (28P01)', async () => {
    expect((await login('app', APP.password)).user).toBe('app');
    expect(await login('app', 'wrong')).toMatchObject({ code: '28P01', message: 'password authentication failed for user "app"' });
    expect((await login('plain', PLAIN.password)).user).toBe('plain');
    expect(await login('plain', 'wrong')).toMatchObject({ code: '28P01' });
    // A token for a user outside the rules is just a wrong password (scram).
    expect(await login('plain', await token('web'))).toMatchObject({ code: '28P01' });
  });

  it('on a connection without TLS the proxy does not ask for the token: it gets scram and the token fails as a password', async () => {
    expect(await login('app', await token('web'), false)).toMatchObject({ code: '28P01' });
    expect((await login('app', APP.password, false)).user).toBe('app');
  });
});
