/**
 * The Helm chart: lint, render for Kubernetes 1.36, server-side dry-run against the real apiserver,
 * a real install whose operator pods run (through the node agent here, kubelets on kind), and RBAC:
 * every call the operator makes is granted to its ServiceAccount, and nothing broader. The real
 * install is the namespaced mode (watchNamespaces: Roles, nothing cluster-wide); the cluster-wide
 * mode's ClusterRole is applied for a second ServiceAccount and checked the same way.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import path from 'node:path';
import { IMAGE, ON_KIND, ROOT } from './support/env.js';
import { describeOnPlane } from './support/plane.js';
import { apply, getJson, kubectl, must, run } from './support/kubectl.js';
import { startDbCluster } from './support/db-cluster.js';
import { createNamespace, deleteNamespace } from './support/namespace.js';
import { operatorPermissions } from './support/permissions.js';
import { withPodLogs } from './support/pod-logs.js';
import { holderName } from './support/operator-process.js';
import { waitFor } from './support/wait.js';

process.env['KUBECONFIG'] = inject('kubeconfig');

const CHART = path.join(ROOT, 'charts/dbproxy-operator');
const RELEASE = 'dbp';
const [IMAGE_REPO, IMAGE_TAG] = IMAGE.includes(':') ? [IMAGE.slice(0, IMAGE.lastIndexOf(':')), IMAGE.slice(IMAGE.lastIndexOf(':') + 1)] : [IMAGE, 'latest'];
let ns = '';
/** Watched too (a second namespace of the namespaced install). */
let ns2 = '';
/** Not watched: a DBProxy here must be ignored, and nothing may be granted here. */
let other = '';
const CLUSTER_RELEASE = 'dbpc';

const imageValues = ['--set', `image.repository=${IMAGE_REPO}`, '--set', `image.tag=${IMAGE_TAG}`, '--set', 'image.pullPolicy=IfNotPresent'];

type Doc = {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: any;
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[];
};

async function render(extra: string[] = []): Promise<Doc[]> {
  const out = await must('helm', ['template', RELEASE, CHART, '--kube-version', '1.36.3', '--namespace', ns || 'default', ...imageValues, ...extra]);
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Doc)
    .filter(Boolean);
}

type Review = { namespace: string; verb: string; group: string; resource: string; name?: string };

/** One SubjectAccessReview per check for `user` (a ServiceAccount of namespace saNs), created in one kubectl call. */
async function allowed(user: string, saNs: string, checks: Review[]): Promise<boolean[]> {
  const reviews = checks.map((c) => ({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${saNs}`, 'system:authenticated'],
      resourceAttributes: {
        namespace: c.namespace,
        verb: c.verb,
        group: c.group,
        resource: c.resource.split('/')[0],
        subresource: c.resource.split('/')[1] ?? '',
        name: c.name ?? '',
      },
    },
  }));
  // kubectl prints one document per created object, in order.
  const text = await kubectl(['create', '-o', 'yaml', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: reviews }));
  const answers = parseAllDocuments(text).map((d) => d.toJS() as { status: { allowed: boolean } });
  expect(answers).toHaveLength(checks.length);
  return answers.map((a) => a.status.allowed);
}

type Grant = { group: string; resource: string; verbs: string[]; resourceNames?: string[] };
/** One check per verb (and per resource name, for a rule limited to names). */
const asChecks = (permissions: Grant[], namespace: string): Review[] =>
  permissions.flatMap((p) =>
    p.verbs.flatMap((verb) =>
      (p.resourceNames ?? [undefined]).map((name) => ({ namespace, verb, group: p.group, resource: p.resource, ...(name ? { name } : {}) })),
    ),
  );
const named = (c: Review) => `${c.verb} ${c.resource}${c.name ? `/${c.name}` : ''} (${c.group || 'core'}) in ${c.namespace || 'all namespaces'}`;

/** Every (group|resource|verb) a set of RBAC rules grants. */
function grants(rules: Doc['rules']): Set<string> {
  const out = new Set<string>();
  for (const rule of rules ?? [])
    for (const g of rule.apiGroups)
      for (const r of rule.resources) for (const v of rule.verbs) out.add(`${g}|${r}|${v}|${(rule.resourceNames ?? []).join(',')}`);
  return out;
}
const keys = (ps: Grant[]) => new Set(ps.flatMap((p) => p.verbs.map((v) => `${p.group}|${p.resource}|${v}|${(p.resourceNames ?? []).join(',')}`)));

beforeAll(async () => {
  ns = await createNamespace('dbp-chart');
  ns2 = await createNamespace('dbp-chart-b');
  other = await createNamespace('dbp-chart-other');
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', path.join(ROOT, 'crds')]);
});

afterAll(async () => {
  if (ns) {
    await run('helm', ['uninstall', RELEASE, '--namespace', ns, '--wait', '--timeout', '60s']);
    await run('kubectl', ['delete', 'dbproxies', '--all', '-n', other, '--wait=false']);
    await run('kubectl', ['delete', 'clusterrolebinding,clusterrole', `${CLUSTER_RELEASE}-dbproxy-operator`, '--ignore-not-found']);
    for (const n of [ns, ns2, other]) if (n) await deleteNamespace(n);
  }
});

describeOnPlane('charts/dbproxy-operator', () => {
  it('passes helm lint', async () => {
    const out = await must('helm', ['lint', CHART]);
    expect(out).toMatch(/0 chart\(s\) failed/);
  });

  it('renders for Kubernetes 1.36 with the operator Deployment the issue asks for', async () => {
    const docs = await render();
    expect(docs.map((d) => d.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    const deploy = docs.find((d) => d.kind === 'Deployment')!;
    expect(deploy.spec.replicas).toBe(2);
    const c = deploy.spec.template.spec.containers[0];
    expect(c.args.slice(0, 3)).toEqual(['operator', '--lease-namespace', '$(POD_NAMESPACE)']);
    expect(c.env.map((e: { name: string }) => e.name)).toEqual(expect.arrayContaining(['POD_NAMESPACE', 'POD_NAME']));
    expect(c.ports).toEqual([expect.objectContaining({ name: 'metrics', containerPort: 8080 })]);
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(deploy.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    expect(deploy.spec.template.spec.topologySpreadConstraints).toEqual([
      expect.objectContaining({ topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' }),
    ]);
    expect(docs.find((d) => d.kind === 'PodDisruptionBudget')!.spec).toMatchObject({ maxUnavailable: 1 });
    const monitors = await render(['--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.podMonitor.enabled=true']);
    expect(monitors.map((d) => d.kind)).toEqual(expect.arrayContaining(['ServiceMonitor', 'PodMonitor']));
  });

  it('renders the namespaced mode: a Role per watched namespace and one for the Lease, no ClusterRole', async () => {
    const docs = await render(['--set', 'watchNamespaces={shop,billing}', '--set', 'watchNamespace=legacy']);
    expect(docs.map((d) => d.kind)).not.toContain('ClusterRole');
    expect(docs.map((d) => d.kind)).not.toContain('ClusterRoleBinding');
    const roles = docs.filter((d) => d.kind === 'Role').map((d) => `${d.metadata.namespace}/${d.metadata.name}`);
    expect(roles.sort()).toEqual([
      'billing/dbp-dbproxy-operator',
      `${ns}/dbp-dbproxy-operator-leader-election`,
      'legacy/dbp-dbproxy-operator',
      'shop/dbp-dbproxy-operator',
    ]);
    expect(docs.filter((d) => d.kind === 'RoleBinding')).toHaveLength(4);
    const args = docs.find((d) => d.kind === 'Deployment')!.spec.template.spec.containers[0].args as string[];
    expect(args[args.indexOf('--watch-namespaces') + 1]).toBe('billing,legacy,shop');
    expect(args[args.indexOf('--operator-pod-labels') + 1]).toBe('app.kubernetes.io/name=dbproxy-operator,app.kubernetes.io/instance=dbp');
    // The deprecated value alone is the namespaced mode too.
    const legacy = await render(['--set', 'watchNamespace=legacy']);
    expect(
      legacy
        .filter((d) => d.kind === 'Role')
        .map((d) => d.metadata.namespace)
        .sort(),
    ).toEqual([ns, 'legacy'].sort());
    // And without either: the cluster-wide mode, no Roles.
    const cluster = await render();
    expect(cluster.map((d) => d.kind)).not.toContain('Role');
    expect(cluster.find((d) => d.kind === 'Deployment')!.spec.template.spec.containers[0].args).not.toContain('--watch-namespaces');
  });

  it('takes overrides: security contexts key by key (a false beats a default true), extra args, no PDB for one replica', async () => {
    const docs = await render([
      '--set',
      'replicas=1',
      '--set',
      'securityContext.readOnlyRootFilesystem=false',
      '--set',
      'podSecurityContext.fsGroup=65532',
      '--set',
      'extraArgs[0]=--concurrency',
      '--set-string',
      'extraArgs[1]=8',
    ]);
    expect(docs.map((d) => d.kind)).not.toContain('PodDisruptionBudget');
    const pod = docs.find((d) => d.kind === 'Deployment')!.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, fsGroup: 65532 });
    expect(pod.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: false, allowPrivilegeEscalation: false });
    expect(pod.containers[0].args.slice(-2)).toEqual(['--concurrency', '8']);
    const mismatch = await run('helm', ['template', RELEASE, CHART, '--kube-version', '1.36.3', '--set', 'metrics.listen=0.0.0.0:9090']);
    expect(mismatch.code).not.toBe(0);
    expect(mismatch.stderr).toMatch(/metrics\.port is 8080/);
  });

  it("passes the proxy pods' pull policy and pull Secrets to the operator", async () => {
    const docs = await render(['--set', 'proxyImagePullPolicy=Always', '--set', 'proxyImagePullSecrets={reg-a,reg-b}']);
    const args = docs.find((d) => d.kind === 'Deployment')!.spec.template.spec.containers[0].args as string[];
    expect(args.slice(args.indexOf('--proxy-image-pull-policy'), args.indexOf('--proxy-image-pull-policy') + 4)).toEqual([
      '--proxy-image-pull-policy',
      'Always',
      '--proxy-image-pull-secrets',
      'reg-a,reg-b',
    ]);
    expect((await render([])).find((d) => d.kind === 'Deployment')!.spec.template.spec.containers[0].args).not.toContain('--proxy-image-pull-policy');
    const bad = await run('helm', ['template', RELEASE, CHART, '--kube-version', '1.36.3', '--set', 'proxyImagePullPolicy=always']);
    expect(bad.code).not.toBe(0);
  });

  it('refuses values the schema forbids', async () => {
    const r = await run('helm', ['template', RELEASE, CHART, '--kube-version', '1.36.3', '--set', 'replicas=-1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/replicas/);
  });

  it('is accepted by the apiserver (server-side dry run)', async () => {
    const out = await must('helm', ['template', RELEASE, CHART, '--kube-version', '1.36.3', '--namespace', ns, ...imageValues]);
    const applied = await kubectl(['apply', '--server-side', '--dry-run=server', '--field-manager=e2e', '-n', ns, '-f', '-'], out);
    expect(applied).toMatch(/deployment.apps\/dbp-dbproxy-operator serverside-applied \(server dry run\)/);
  });

  it('installs for real, and the operator pods run and become ready', async () => {
    await must('helm', ['install', RELEASE, CHART, '--namespace', ns, ...imageValues, '--set', `watchNamespaces={${ns},${ns2}}`]);
    await withPodLogs(ns, () =>
      waitFor(
        '2 ready operator replicas',
        async () => (await getJson(['-n', ns, 'get', 'deployment', 'dbp-dbproxy-operator'])).status?.readyReplicas === 2,
        150_000,
      ),
    );
    const holder = await waitFor(
      'the operator Lease',
      async () => (await getJson(['-n', ns, 'get', 'lease', 'dbproxy-operator'])).spec?.holderIdentity as string | undefined,
    );
    const pods = await getJson<{ items: { metadata: { name: string } }[] }>(['-n', ns, 'get', 'pods', '-l', `app.kubernetes.io/instance=${RELEASE}`]);
    expect(pods.items.map((p) => p.metadata.name)).toContain(holderName(holder));
  });

  it('grants the operator ServiceAccount every call the operator makes, in each watched namespace', async () => {
    const { source, namespaced, lease } = await operatorPermissions();
    const user = `system:serviceaccount:${ns}:dbp-dbproxy-operator`;
    // One SubjectAccessReview per (resource, verb): what `auth can-i --as` asks. The Lease lives in ns.
    // The TokenReview bindings are off by default in this mode (nothing cluster-wide).
    const checks = [...asChecks([...namespaced, ...lease], ns), ...asChecks(namespaced, ns2)];
    const answers = await allowed(user, ns, checks);
    const denied = checks.filter((_, i) => !answers[i]).map(named);
    expect(denied, `checked against ${source}`).toEqual([]);
  });

  it('grants the namespaced install nothing cluster-wide and nothing in a namespace it does not watch', async () => {
    const { permissions } = await operatorPermissions();
    const user = `system:serviceaccount:${ns}:dbp-dbproxy-operator`;
    // Namespace "" is a cluster-wide request (list/watch across all namespaces).
    const checks = [...asChecks(permissions, other), ...asChecks(permissions, ''), { namespace: '', verb: 'list', group: '', resource: 'namespaces' }];
    const answers = await allowed(user, ns, checks);
    expect(checks.filter((_, i) => answers[i]).map(named)).toEqual([]);
    expect((await getJson<{ items: unknown[] }>(['get', 'clusterrolebindings', '-l', `app.kubernetes.io/instance=${RELEASE}`])).items).toEqual([]);
  });

  it('grants the cluster-wide mode exactly the list, in any namespace', async () => {
    // Its ClusterRole, ClusterRoleBinding and ServiceAccount only (no second operator running).
    const { source, permissions } = await operatorPermissions();
    const out = await must('helm', ['template', CLUSTER_RELEASE, CHART, '--kube-version', '1.36.3', '--namespace', other, ...imageValues]);
    const rbac = parseAllDocuments(out)
      .map((d) => d.toJS() as Doc)
      .filter((d) => d && ['ClusterRole', 'ClusterRoleBinding', 'ServiceAccount'].includes(d.kind));
    expect(rbac.map((d) => d.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ServiceAccount']);
    await kubectl(['apply', '--server-side', '--field-manager=e2e', '-n', other, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }));
    const user = `system:serviceaccount:${other}:${CLUSTER_RELEASE}-dbproxy-operator`;
    const checks = [
      ...asChecks(permissions, ns2),
      ...asChecks(
        permissions.filter((p) => p.verbs.includes('list')).map((p) => ({ ...p, verbs: ['list', 'watch'] })),
        '',
      ),
    ];
    const answers = await allowed(user, other, checks);
    expect(checks.filter((_, i) => !answers[i]).map(named), `checked against ${source}`).toEqual([]);
    // It may bind system:auth-delegator (the TokenReview bindings) and no other role.
    const escalations: Review[] = ['cluster-admin', 'admin', 'edit'].map((name) => ({
      namespace: '',
      verb: 'bind',
      group: 'rbac.authorization.k8s.io',
      resource: 'clusterroles',
      name,
    }));
    const granted = await allowed(user, other, escalations);
    expect(escalations.filter((_, i) => granted[i]).map(named)).toEqual([]);
  });

  it('lets the installed operator reconcile a DBProxy with only its ServiceAccount', async () => {
    // The strongest RBAC check: the operator pods hold the chart's ServiceAccount token, so a missing
    // verb (or the Role-escalation rule) shows up as a DBProxy that never becomes Ready.
    const target = ON_KIND
      ? { host: process.env['DBPROXY_E2E_PG_HOST'] ?? 'postgres.e2e-db.svc', port: Number(process.env['DBPROXY_E2E_PG_PORT'] ?? 5432) }
      : { host: await (await startDbCluster(ns, { name: 'db', user: 'app', password: 'app-e2e-password' })).startMember(0), port: 5432 };
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'app-db', '--from-literal=username=app', '--from-literal=password=app-e2e-password']);
    await apply([
      {
        apiVersion: 'dbproxy.io/v1alpha1',
        kind: 'DBProxy',
        metadata: { name: 'chart-check', namespace: ns },
        spec: { targets: [target], auth: [{ secretRef: { name: 'app-db' } }], replicas: 1 },
      },
    ]);
    await withPodLogs(ns, () =>
      waitFor(
        'DBProxy chart-check Ready=True',
        async () => {
          const s = (await getJson(['-n', ns, 'get', 'dbp', 'chart-check'])).status;
          return s?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
        },
        150_000,
      ),
    );
  });

  it('lets the namespaced operator ignore a DBProxy in a namespace it does not watch', async () => {
    await kubectl(['-n', other, 'create', 'secret', 'generic', 'app-db', '--from-literal=username=app', '--from-literal=password=x']);
    await apply([
      {
        apiVersion: 'dbproxy.io/v1alpha1',
        kind: 'DBProxy',
        metadata: { name: 'unwatched', namespace: other },
        spec: { targets: [{ host: 'db.invalid' }], auth: [{ secretRef: { name: 'app-db' } }], replicas: 1 },
      },
    ]);
    // The same spec in ns2 (watched): the operator writes its status (a Secret is missing there), which
    // shows it reconciles both watched namespaces and has seen everything applied so far.
    await apply([
      {
        apiVersion: 'dbproxy.io/v1alpha1',
        kind: 'DBProxy',
        metadata: { name: 'watched-too', namespace: ns2 },
        spec: { targets: [{ host: 'db.invalid' }], auth: [{ secretRef: { name: 'app-db' } }], replicas: 1 },
      },
    ]);
    await waitFor(
      'a status on watched-too in the second watched namespace',
      async () => (await getJson(['-n', ns2, 'get', 'dbp', 'watched-too'])).status?.conditions,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await getJson(['-n', other, 'get', 'dbp', 'unwatched'])).status).toBeUndefined();
    expect((await run('kubectl', ['-n', other, 'get', 'secret', 'unwatched-proxy-config'])).code).not.toBe(0);
  });

  it('grants nothing beyond that list', async () => {
    const { permissions, namespaced, lease, tokenReview } = await operatorPermissions();
    const role = (await render()).find((d) => d.kind === 'ClusterRole')!;
    const needed = keys(permissions);
    const extra = [...grants(role.rules)].filter((k) => !needed.has(k));
    expect(extra).toEqual([]);
    expect([...grants((await render(['--set', 'tokenReviewBindings=false'])).find((d) => d.kind === 'ClusterRole')!.rules)].sort()).toEqual(
      [...keys(permissions.filter((p) => !tokenReview.includes(p)))].sort(),
    );
    // Namespaced with tokenReviewBindings: one ClusterRole holding exactly the bindings' rows.
    const small = (await render(['--set', 'watchNamespaces={shop}', '--set', 'tokenReviewBindings=true'])).filter((d) => d.kind === 'ClusterRole');
    expect(small.map((d) => [d.metadata.name, [...grants(d.rules)].sort()])).toEqual([
      [`${RELEASE}-dbproxy-operator-token-review-bindings`, [...keys(tokenReview)].sort()],
    ]);
    // The namespaced mode: each watched namespace's Role is exactly the namespaced list, the Lease's the Lease's.
    const roles = (await render(['--set', 'watchNamespaces={shop,billing}'])).filter((d) => d.kind === 'Role');
    for (const r of roles) {
      const want = r.metadata.name.endsWith('-leader-election') ? keys(lease) : keys(namespaced);
      expect([...grants(r.rules)].sort(), `${r.metadata.namespace}/${r.metadata.name}`).toEqual([...want].sort());
    }
    const sa = `system:serviceaccount:${ns}:dbp-dbproxy-operator`;
    for (const [verb, resource] of [
      ['delete', 'dbproxies.dbproxy.io'],
      ['create', 'clusterroles.rbac.authorization.k8s.io'],
      ['get', 'nodes'],
      ['create', 'pods'],
    ] as const) {
      expect((await run('kubectl', ['auth', 'can-i', verb, resource, '--as', sa, '-n', ns])).stdout.trim(), `${verb} ${resource}`).toBe('no');
    }
  });
});
