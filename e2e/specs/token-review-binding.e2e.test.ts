/**
 * The operator's one cluster-scoped child on the real apiserver: the ClusterRoleBinding that lets a
 * spec.kubernetesAuth DBProxy's pods create TokenReviews (operator/src/controller/token-review.ts).
 * It has no owner reference (a namespaced owner cannot own it), so the operator deletes it itself:
 * when kubernetesAuth is removed, when the DBProxy is deleted, and when it finds one whose DBProxy
 * is gone. The token login itself runs in identity-auth.e2e.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { selfSignedCert } from '../../proxy/src/testing/tls-cert.js';
import { IMAGE } from './support/env.js';
import { apply, getJson, installCrds, kubectl, run } from './support/kubectl.js';
import { createNamespace, deleteNamespace } from './support/namespace.js';
import { startOperator, type OperatorProcess } from './support/operator-process.js';
import { describeOnLocalPlane } from './support/plane.js';
import { waitFor } from './support/wait.js';

process.env['KUBECONFIG'] = inject('kubeconfig');

let ns = '';
let dir = '';
let operator: OperatorProcess | undefined;
const binding = () => `dbproxy:${ns}:orders:token-review`;

function dbproxy(kubernetesAuth: boolean) {
  return {
    apiVersion: 'dbproxy.io/v1alpha1',
    kind: 'DBProxy',
    metadata: { name: 'orders', namespace: ns },
    spec: {
      targets: [{ host: 'db.invalid' }],
      auth: [{ secretRef: { name: 'app-db' } }],
      tls: { secretRef: { name: 'orders-tls' } },
      replicas: 1,
      ...(kubernetesAuth ? { kubernetesAuth: { rules: [{ serviceAccount: { name: 'web' }, users: ['app'] }] } } : {}),
    },
  };
}

const exists = async (name: string) => (await run('kubectl', ['get', 'clusterrolebinding', name])).code === 0;
/** What `kubectl auth can-i --as` the proxy pods' ServiceAccount answers. */
const proxyMayReviewTokens = async () =>
  (await run('kubectl', ['auth', 'can-i', 'create', 'tokenreviews.authentication.k8s.io', '--as', `system:serviceaccount:${ns}:orders-proxy`])).stdout.trim();

beforeAll(async () => {
  ns = await createNamespace('dbp-bind');
  dir = mkdtempSync(path.join(tmpdir(), 'bind-e2e-'));
  await installCrds();
  const { cert, key } = selfSignedCert(dir);
  await kubectl(['-n', ns, 'create', 'secret', 'tls', 'orders-tls', `--cert=${cert}`, `--key=${key}`]);
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'app-db', '--from-literal=username=app', '--from-literal=password=app-password']);
  // Namespaced (as every spec runs it), with the bindings asked for: what the chart's tokenReviewBindings=true does.
  operator = await startOperator({ name: 'operator', namespace: ns, image: IMAGE, args: ['--token-review-bindings', 'true'] });
}, 120_000);

afterAll(async () => {
  if (ns) await run('kubectl', ['delete', 'dbproxies', '--all', '-n', ns, '--wait=false']);
  await operator?.kill();
  if (ns) await run('kubectl', ['delete', 'clusterrolebinding', binding(), `dbproxy:${ns}:ghost:token-review`, '--ignore-not-found']);
  if (ns) await deleteNamespace(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describeOnLocalPlane('the TokenReview ClusterRoleBinding of spec.kubernetesAuth', () => {
  it("binds the proxy pods' ServiceAccount to system:auth-delegator, so they may create TokenReviews", async () => {
    expect(await proxyMayReviewTokens()).toBe('no');
    await apply([dbproxy(true)]);
    await waitFor('the binding', () => exists(binding()), 60_000);
    const crb = await getJson<{ metadata: { ownerReferences?: unknown } }>(['get', 'clusterrolebinding', binding()]);
    expect(crb).toMatchObject({
      metadata: { labels: { 'app.kubernetes.io/managed-by': 'dbproxy-operator' }, annotations: { 'dbproxy.io/owner': `${ns}/orders` } },
      roleRef: { kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'ServiceAccount', name: 'orders-proxy', namespace: ns }],
    });
    expect(crb.metadata.ownerReferences).toBeUndefined();
    await waitFor('can-i create tokenreviews: yes', async () => (await proxyMayReviewTokens()) === 'yes', 30_000);
  });

  it('puts it back when someone deletes it', async () => {
    await kubectl(['delete', 'clusterrolebinding', binding()]);
    await waitFor('the binding re-created', () => exists(binding()), 60_000);
  });

  it('deletes it when spec.kubernetesAuth is removed, and makes it again when it returns', async () => {
    await apply([dbproxy(false)]);
    await waitFor('the binding gone', async () => !(await exists(binding())), 60_000);
    await waitFor('can-i create tokenreviews: no', async () => (await proxyMayReviewTokens()) === 'no', 30_000);
    await apply([dbproxy(true)]);
    await waitFor('the binding back', () => exists(binding()), 60_000);
  });

  it('deletes a binding whose DBProxy does not exist (deleted while no operator ran)', async () => {
    const ghost = `dbproxy:${ns}:ghost:token-review`;
    await apply([
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: {
          name: ghost,
          labels: { 'app.kubernetes.io/managed-by': 'dbproxy-operator' },
          annotations: { 'dbproxy.io/owner': `${ns}/ghost`, 'dbproxy.io/owner-uid': 'gone' },
        },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
        subjects: [{ kind: 'ServiceAccount', name: 'ghost-proxy', namespace: ns }],
      },
    ]);
    await waitFor('the orphan binding deleted', async () => !(await exists(ghost)), 60_000);
  });

  it('deletes it with the DBProxy', async () => {
    await kubectl(['-n', ns, 'delete', 'dbproxy', 'orders', '--wait=true', '--timeout=60s']);
    await waitFor('the binding gone', async () => !(await exists(binding())), 60_000);
  });
});
