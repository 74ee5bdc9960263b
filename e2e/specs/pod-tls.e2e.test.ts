/**
 * Client TLS and Kubernetes identity auth with the proxy in the operator's pod on the local plane:
 * the spec.tls Secret reaches the pod as a Secret volume (e2e/agent/pod-volumes.ts), a rotation of
 * it is served to new connections while a connected client keeps its session, plaintext is refused
 * under requireTLS, a ServiceAccount token logs in as the user the rules map it to, and a pod whose
 * Secret is missing waits (CreateContainerConfigError) until it exists.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { signedCert, testCa } from '../../proxy/src/testing/tls-cert.js';
import { startDbCluster } from './support/db-cluster.js';
import { IMAGE } from './support/env.js';
import { apply, getJson, installCrds, kubectl, run } from './support/kubectl.js';
import { createNamespace, deleteNamespace } from './support/namespace.js';
import { startOperator, type OperatorProcess } from './support/operator-process.js';
import { describeOnLocalPlane } from './support/plane.js';
import { withPodLogs } from './support/pod-logs.js';
import { waitFor } from './support/wait.js';

process.env['KUBECONFIG'] = inject('kubeconfig');

const USER = 'app';
const PASSWORD = 'app-pod-tls-password';
let ns = '';
let dir = '';
let operator: OperatorProcess | undefined;
let servername = '';
const pems: { ca1: string; ca2: string; cert1: string; cert2: string } = { ca1: '', ca2: '', cert1: '', cert2: '' };
const open: pg.Client[] = [];

interface ProxyPod {
  metadata: { name: string };
  status?: { podIP?: string; containerStatuses?: { ready: boolean; restartCount: number }[] };
}

const proxyPods = async () =>
  (await getJson<{ items: ProxyPod[] }>(['-n', ns, 'get', 'pods', '-l', 'app.kubernetes.io/instance=shop,app.kubernetes.io/component=proxy'])).items;

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

/** A cert-manager-shaped Secret: the server certificate, its key and the CA that signed it. */
function tlsSecret(certFile: string, keyFile: string, caFile: string): object {
  const b64 = (f: string) => readFileSync(f).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name: 'shop-tls', namespace: ns },
    data: { 'tls.crt': b64(certFile), 'tls.key': b64(keyFile), 'ca.crt': b64(caFile) },
  };
}

/** A verify-full connection (trusting `ca`, checking `servername`) to the pod; `served` is the certificate it was shown. */
async function connect(host: string, ca: string, password = PASSWORD, ssl = true): Promise<{ client: pg.Client; served: () => PeerCertificate | undefined }> {
  let served: PeerCertificate | undefined;
  const client = new pg.Client({
    host,
    port: 5432,
    user: USER,
    password,
    database: 'postgres',
    connectionTimeoutMillis: 15_000,
    ssl: ssl
      ? {
          ca,
          servername,
          checkServerIdentity: (name, cert) => {
            served = cert;
            return checkServerIdentity(name, cert);
          },
        }
      : false,
  });
  client.on('error', () => {}); // a refused login is reported by connect()
  open.push(client);
  await client.connect();
  return { client, served: () => served };
}

/** One login: current_user, or the SQLSTATE it was refused with. */
async function login(host: string, password: string, ssl = true): Promise<{ user?: string; code?: string; message?: string }> {
  try {
    const { client } = await connect(host, `${pems.ca1}${pems.ca2}`, password, ssl);
    const r = await client.query<{ current_user: string }>('select current_user');
    await client.end();
    return { user: r.rows[0]!.current_user };
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { code: e.code ?? 'none', message: e.message };
  }
}

const readyPod = () =>
  waitFor('a ready proxy pod', async () => {
    const ready = (await proxyPods()).filter((p) => p.status?.podIP && p.status.containerStatuses?.[0]?.ready);
    return ready.length === 1 && ready[0];
  });

beforeAll(async () => {
  ns = await createNamespace('dbp-podtls');
  dir = mkdtempSync(path.join(tmpdir(), 'pod-tls-e2e-'));
  servername = `shop.${ns}.svc`;
  const ca1 = testCa(dir, 'first');
  const ca2 = testCa(dir, 'second');
  const c1 = signedCert(ca1, dir, 'shop-1', servername, false, `DNS:${servername}`);
  const c2 = signedCert(ca2, dir, 'shop-2', servername, false, `DNS:${servername}`);
  Object.assign(pems, {
    ca1: readFileSync(ca1.cert, 'utf8'),
    ca2: readFileSync(ca2.cert, 'utf8'),
    cert1: readFileSync(c1.cert, 'utf8'),
    cert2: readFileSync(c2.cert, 'utf8'),
  });
  await installCrds();
  const db = await startDbCluster(ns, { name: 'db', user: USER, password: PASSWORD });
  const host = await db.startMember(0);
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'app-db', `--from-literal=username=${USER}`, `--from-literal=password=${PASSWORD}`]);
  await kubectl(['-n', ns, 'create', 'serviceaccount', 'web']);
  await apply([tlsSecret(c1.cert, c1.key, ca1.cert)]);
  operator = await startOperator({ name: 'operator', namespace: ns, image: IMAGE, args: ['--token-review-bindings', 'true'] });
  await apply([
    {
      apiVersion: 'dbproxy.io/v1alpha1',
      kind: 'DBProxy',
      metadata: { name: 'shop', namespace: ns },
      spec: {
        engineFamily: 'POSTGRESQL',
        targets: [{ host, port: 5432 }],
        auth: [{ secretRef: { name: 'app-db' } }],
        clientPasswordAuthType: 'SCRAM_SHA_256',
        tls: { secretRef: { name: 'shop-tls' } },
        requireTLS: true,
        kubernetesAuth: { rules: [{ serviceAccount: { name: 'web' }, users: [USER] }], cacheTtl: '1s' },
        replicas: 1,
      },
    },
  ]);
}, 240_000);

afterAll(async () => {
  await Promise.all(open.map((c) => c.end().catch(() => {})));
  if (ns) await run('kubectl', ['delete', 'dbproxies', '--all', '-n', ns, '--wait=false']);
  await operator?.kill();
  if (ns) await run('kubectl', ['delete', 'clusterrolebinding', `dbproxy:${ns}:shop:token-review`, '--ignore-not-found']);
  if (ns) await deleteNamespace(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describeOnLocalPlane("client TLS from a Secret volume in the operator's proxy pod", () => {
  it('rotating the tls Secret: new connections get the new certificate, a connected client keeps its session, the pod is not restarted', async () => {
    const pod = await withPodLogs(ns, readyPod);
    const host = pod.status!.podIP!;
    const first = await connect(host, pems.ca1);
    expect(first.served()?.fingerprint256).toBe(fingerprint(pems.cert1));
    await first.client.query('begin');
    await first.client.query('create temp table kept (n int)');
    await first.client.query('insert into kept values (1)');
    const pid = (await first.client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;

    await apply([tlsSecret(path.join(dir, 'shop-2.crt'), path.join(dir, 'shop-2.key'), path.join(dir, 'second-ca.crt'))]);
    const rotated = await withPodLogs(ns, () =>
      waitFor('a new connection served the second certificate', async () => {
        const c = await connect(host, `${pems.ca1}${pems.ca2}`);
        const seen = c.served()?.fingerprint256;
        await c.client.end();
        return seen === fingerprint(pems.cert2) && seen;
      }),
    );
    expect(rotated).not.toBe(fingerprint(pems.cert1));
    // A client trusting only the second CA now verifies; the first client's connection still works, in the same backend session.
    await (await connect(host, pems.ca2)).client.end();
    expect((await first.client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid).toBe(pid);
    expect((await first.client.query<{ n: number }>('select count(*)::int as n from kept')).rows[0]!.n).toBe(1);
    await first.client.query('commit');
    await first.client.end();

    const after = await proxyPods();
    expect(after.map((p) => p.metadata.name)).toEqual([pod.metadata.name]);
    expect(after[0]!.status?.containerStatuses?.[0]?.restartCount).toBe(0);
  }, 300_000);

  it('spec.requireTLS: a plaintext client is refused (28000), a TLS one logs in', async () => {
    const host = (await readyPod()).status!.podIP!;
    expect(await login(host, PASSWORD, false)).toMatchObject({ code: '28000' });
    expect(await login(host, PASSWORD)).toEqual({ user: USER });
  });

  it('spec.kubernetesAuth: a ServiceAccount token for the DBProxy audience logs in as the mapped user; another audience is refused (28P01)', async () => {
    const host = (await readyPod()).status!.podIP!;
    const token = async (audience: string) => (await kubectl(['-n', ns, 'create', 'token', 'web', '--audience', audience, '--duration', '10m'])).trim();
    const web = await token(`dbproxy.io/${ns}/shop`);
    // The operator's ClusterRoleBinding reaches the apiserver's authorizer through a watch: wait for it.
    const ok = await withPodLogs(ns, () =>
      waitFor('a login with the web ServiceAccount token', async () => {
        const r = await login(host, web);
        return r.user !== undefined && r;
      }),
    );
    expect(ok).toEqual({ user: USER });
    expect(await login(host, await token('https://kubernetes.default.svc'))).toMatchObject({
      code: '28P01',
      message: `password authentication failed for user "${USER}"`,
    });
  }, 180_000);

  it('a pod whose Secret volume names a missing Secret waits with CreateContainerConfigError, and starts once the Secret exists', async () => {
    type Status = {
      status?: { containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } }; lastState?: { terminated?: { exitCode?: number } } }[] };
    };
    const status = async () => (await getJson<Status>(['-n', ns, 'get', 'pod', 'needs-secret'])).status?.containerStatuses?.[0];
    await apply([
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'needs-secret', namespace: ns },
        spec: {
          // `dbproxy version` prints and exits: a started container shows as a terminated run with exit code 0.
          containers: [{ name: 'c', image: IMAGE, args: ['version'], volumeMounts: [{ name: 's', mountPath: '/etc/dbproxy/e2e-needs-secret' }] }],
          volumes: [{ name: 's', secret: { secretName: 'not-yet' } }],
        },
      },
    ]);
    const waiting = await waitFor('CreateContainerConfigError', async () => {
      const w = (await status())?.state?.waiting;
      return w?.reason === 'CreateContainerConfigError' && w;
    });
    expect(waiting.message).toContain(`secret "${ns}/not-yet" not found`);
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'not-yet', '--from-literal=k=v']);
    await withPodLogs(ns, () => waitFor('the container run', async () => (await status())?.lastState?.terminated?.exitCode === 0));
    await kubectl(['-n', ns, 'delete', 'pod', 'needs-secret', '--grace-period=0', '--force', '--wait=false']);
  }, 180_000);
});
