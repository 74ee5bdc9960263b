/**
 * The proxy's Kubernetes mode (proxy/src/config/kube-source.ts) against the real apiserver: the
 * config Secret is delivered at start and on every change, identical content is skipped, and a
 * ServiceAccount token limited by a Role to that one Secret (what the operator grants the proxy
 * pods) is enough — while it cannot read any other Secret.
 */
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1Secret } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { describeOnPlane } from './support/plane.js';
import { classifyApiError } from '../../contract/kube/errors.js';
import { getJson } from '../../contract/kube/request.js';
import { watchConfigSecret } from '../../proxy/src/config/kube-source.js';
import { createNamespace, deleteNamespace } from './support/namespace.js';
import { waitFor } from './support/wait.js';

const log = pino({ level: process.env['E2E_LOG_LEVEL'] ?? 'silent' });

let kc: KubeConfig;
let core: CoreV1Api;
let ns: string;
const stoppers: Array<() => void> = [];

beforeAll(async () => {
  kc = new KubeConfig();
  kc.loadFromFile(inject('kubeconfig'));
  core = kc.makeApiClient(CoreV1Api);
  ns = await createNamespace('ks');
});

afterAll(async () => {
  for (const s of stoppers) s();
  await deleteNamespace(ns);
});

const secret = (name: string, config: string, labels: Record<string, string> = {}): V1Secret => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: ns, labels },
  data: { 'config.yaml': Buffer.from(config).toString('base64') },
});

async function putSecret(s: V1Secret): Promise<void> {
  const name = s.metadata!.name!;
  try {
    const cur = await core.readNamespacedSecret({ name, namespace: ns });
    await core.replaceNamespacedSecret({ name, namespace: ns, body: { ...s, metadata: { ...s.metadata, resourceVersion: cur.metadata?.resourceVersion } } });
  } catch (err) {
    if (classifyApiError(err).kind !== 'NotFound') throw err;
    await core.createNamespacedSecret({ namespace: ns, body: s });
  }
}

/** Runs the source the way the proxy does and records what it delivers. */
function watch(client: KubeConfig, name: string) {
  const configs: string[] = [];
  const errors: string[] = [];
  const src = watchConfigSecret({
    kc: client,
    namespace: ns,
    name,
    log,
    onConfig: (t) => configs.push(t),
    onError: (e) => errors.push(e.message),
    // Short server-side watch timeout: the updates below also cross watch restarts.
    watchTimeoutSeconds: 2,
  });
  stoppers.push(() => src.stop());
  return { src, configs, errors };
}

/** Exercises one client: initial config, an update, a no-op change, another update. */
async function deliversChanges(client: KubeConfig, name: string): Promise<void> {
  await putSecret(secret(name, 'listen: 127.0.0.1:6432\n'));
  await putSecret(secret(`${name}-neighbour`, 'not: mine\n'));
  const w = watch(client, name);
  await w.src.ready;
  expect(w.configs).toEqual(['listen: 127.0.0.1:6432\n']);

  await putSecret(secret(name, 'listen: 127.0.0.1:6433\n'));
  await waitFor('the updated config', async () => w.configs.length === 2, 30_000, 100);
  // Same data, different metadata: no reload. The next real change proves the event was processed.
  await putSecret(secret(name, 'listen: 127.0.0.1:6433\n', { touched: 'yes' }));
  await new Promise((r) => setTimeout(r, 2_500)); // across at least one watch restart
  await putSecret(secret(`${name}-neighbour`, 'still: not mine\n'));
  await putSecret(secret(name, 'listen: 127.0.0.1:6434\n'));
  await waitFor('the third config', async () => w.configs.length >= 3, 30_000, 100);
  expect(w.configs).toEqual(['listen: 127.0.0.1:6432\n', 'listen: 127.0.0.1:6433\n', 'listen: 127.0.0.1:6434\n']);
  expect(w.errors).toEqual([]);
}

describeOnPlane('watchConfigSecret', () => {
  it('delivers the config at start and on each change, skipping identical content (admin credentials)', async () => {
    await deliversChanges(kc, 'admin-proxy-config');
  });

  it('reports a missing key and a deleted Secret, keeps running, and picks the Secret up again', async () => {
    await putSecret({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'odd', namespace: ns }, data: { other: Buffer.from('x').toString('base64') } });
    const w = watch(kc, 'odd');
    await waitFor('the missing-key error', async () => w.errors.some((e) => e.includes('has no key config.yaml')), 30_000, 100);
    await core.deleteNamespacedSecret({ name: 'odd', namespace: ns });
    await waitFor('the deletion error', async () => w.errors.some((e) => e.includes('was deleted')), 30_000, 100);
    await putSecret(secret('odd', 'listen: 127.0.0.1:7000\n'));
    await w.src.ready;
    expect(w.configs).toEqual(['listen: 127.0.0.1:7000\n']);
  });

  it('works with a ServiceAccount token whose Role grants get/list/watch on that one Secret only', async () => {
    const name = 'pod-proxy-config';
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'proxy' } } });
    // The rule the operator renders for X-proxy (operator/src/controller/desired.ts).
    await rbac.createNamespacedRole({
      namespace: ns,
      body: { metadata: { name: 'proxy' }, rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [name], verbs: ['get', 'list', 'watch'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'proxy' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'proxy' },
        subjects: [{ kind: 'ServiceAccount', name: 'proxy', namespace: ns }],
      },
    });
    const tr = await core.createNamespacedServiceAccountToken({ name: 'proxy', namespace: ns, body: { spec: { expirationSeconds: 3600, audiences: [] } } });
    const token = tr.status?.token;
    expect(token).toBeTruthy();
    const cluster = kc.getCurrentCluster()!;
    const sa = new KubeConfig();
    sa.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'proxy', token }],
      contexts: [{ name: 'proxy', cluster: cluster.name, user: 'proxy', namespace: ns }],
      currentContext: 'proxy',
    });

    // The Role is narrow: listing all Secrets or reading the neighbour is refused.
    await putSecret(secret(`${name}-neighbour`, 'x: 1\n'));
    const listAll = await getJson(sa, `/api/v1/namespaces/${ns}/secrets`, {}).catch((e: unknown) => e);
    expect(classifyApiError(listAll).kind).toBe('Forbidden');
    const neighbour = await sa
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ name: `${name}-neighbour`, namespace: ns })
      .catch((e: unknown) => e);
    expect(classifyApiError(neighbour).kind).toBe('Forbidden');

    await deliversChanges(sa, name);
  });
});
