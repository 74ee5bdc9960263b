/**
 * "Reconcile twice changes nothing": decide → apply into an in-memory apiserver (which, like the
 * real one, adds uids, resourceVersions, defaults and status) → decide again → no actions, equal status.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { TargetHealth } from '../../../contract/health/writer.js';
import type { DBProxy } from '../api/v1alpha1/schema.js';
import { decide, type Observed } from './decide.js';
import { changes, type Action } from './plan.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const secrets: Record<string, { data: Record<string, string> }> = {
  'orders-app': { data: { username: b64('app'), password: b64('s3cret') } },
  tls: { data: { 'tls.crt': b64('c'), 'tls.key': b64('k') } },
  // An MD5 hash cannot check SCRAM logins: the proxy refuses such a users list.
  'db-ca': { data: { 'ca.crt': b64(CA_PEM), 'other.pem': b64('not a certificate') } },
  'orders-md5': { data: { username: b64('app'), password: b64(`md5${'0123456789abcdef'.repeat(2)}`) } },
};

/** A tiny apiserver: server-side apply stores the object plus what the server adds on its own. */
class FakeApiserver {
  objects = new Map<string, KubernetesObject>();
  private rv = 1;
  apply(actions: Action[]): void {
    for (const a of actions) {
      if (a.type === 'delete') this.objects.delete(`${a.ref.kind}/${a.ref.name}`);
      if (a.type !== 'create' && a.type !== 'patch') continue;
      const o = structuredClone(a.object) as KubernetesObject & { spec?: Record<string, unknown>; status?: unknown };
      o.metadata = {
        ...o.metadata,
        uid: `uid-${this.rv}`,
        resourceVersion: String(this.rv++),
        generation: 1,
        creationTimestamp: new Date('2026-01-01T00:00:00Z'),
      };
      if (o.kind === 'Service') o.spec = { ...o.spec, clusterIP: '10.96.0.10', sessionAffinity: 'None' };
      if (o.kind === 'Deployment') {
        const replicas = (o.spec?.['replicas'] as number) ?? 1;
        o.spec = { ...o.spec, revisionHistoryLimit: 10, progressDeadlineSeconds: 600 };
        o.status = { replicas, readyReplicas: replicas, updatedReplicas: replicas, availableReplicas: replicas, observedGeneration: 1 };
      }
      this.objects.set(`${o.kind}/${o.metadata!.name}`, o);
    }
  }
}

function observe(dbproxy: DBProxy & { metadata: { uid: string } }, server: FakeApiserver, healths: TargetHealth[], now: string): Observed {
  return {
    dbproxy,
    children: [...server.objects.values()],
    secret: (n) => secrets[n],
    endpointSlices: [],
    health: (e) => healths.find((h) => h.endpoint === e),
    now,
    defaultImage: 'ghcr.io/dbproxy/dbproxy:0.1.0',
  };
}

const dbp = (spec: unknown): DBProxy & { metadata: { uid: string } } => ({
  apiVersion: 'dbproxy.io/v1alpha1',
  kind: 'DBProxy',
  metadata: { name: 'orders', namespace: 'shop', uid: 'u-1', generation: 1 },
  spec,
});
const spec = { targets: [{ host: '10.0.0.1' }, { host: '10.0.0.2' }], auth: [{ secretRef: { name: 'orders-app' } }], tls: { secretRef: { name: 'tls' } } };
const up = (endpoint: string, role: 'WRITER' | 'READER', max = 200): TargetHealth => ({
  endpoint,
  role,
  state: 'AVAILABLE',
  consecutiveFailures: 0,
  maxConnections: max,
});
const gone = (endpoint: string): TargetHealth => ({ endpoint, role: 'UNKNOWN', state: 'UNAVAILABLE', consecutiveFailures: 2, reason: 'UNREACHABLE' });

/** Runs decide and "applies" its actions and status; returns the decision. */
function pass(x: DBProxy & { metadata: { uid: string } }, server: FakeApiserver, healths: TargetHealth[], now: string) {
  const d = decide(observe(x, server, healths, now));
  server.apply(d.actions);
  x.status = d.status;
  return d;
}

const configOf = (server: FakeApiserver) =>
  Buffer.from((server.objects.get('Secret/orders-proxy-config') as unknown as { data: Record<string, string> }).data['config.yaml']!, 'base64').toString();

describe('reconcile (decide) against an in-memory apiserver', () => {
  it('reconciling an unchanged world changes nothing: no actions, equal status, no events', () => {
    const server = new FakeApiserver();
    const x = dbp(spec);
    const healths = [up('10.0.0.1:5432', 'WRITER'), up('10.0.0.2:5432', 'READER')];
    const first = pass(x, server, healths, '2026-01-01T00:00:00Z');
    expect(changes(first.actions)).toHaveLength(8);
    expect(first.events.map((e) => e.reason)).toEqual(['TargetChanged']);
    const second = pass(x, server, healths, '2026-01-01T00:05:00Z');
    expect(changes(second.actions)).toEqual([]);
    expect(second.events).toEqual([]);
    // The second pass sees the Deployment's status for the first time (Progressing → False); the
    // third sees nothing new and must change nothing at all.
    const third = pass(x, server, healths, '2026-01-01T00:06:00Z');
    expect(changes(third.actions)).toEqual([]);
    expect(third.statusChanged).toBe(false);
    expect(third.events).toEqual([]);
    expect(x.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('counts the pods on the config Secret version last written, and asks again until all are', () => {
    const server = new FakeApiserver();
    const x = dbp(spec);
    const healths = [up('10.0.0.1:5432', 'WRITER'), up('10.0.0.2:5432', 'READER')];
    const ask = (podConfigs: Observed['podConfigs']) => {
      const d = decide({ ...observe(x, server, healths, '2026-01-01T00:00:00Z'), podConfigs });
      server.apply(d.actions);
      x.status = d.status;
      return d;
    };
    // First pass writes the Secret: its version is not known yet.
    const first = ask([]);
    expect(first.status.conditions?.find((c) => c.type === 'ConfigApplied')).toMatchObject({ status: 'Unknown', reason: 'Writing' });
    expect(first.requeueAfterMs).toBeGreaterThan(0);
    const version = server.objects.get('Secret/orders-proxy-config')!.metadata!.resourceVersion!;
    const behind = ask([
      { pod: 'orders-proxy-a', version },
      { pod: 'orders-proxy-b', version: '0' },
    ]);
    expect(behind.status).toMatchObject({ configVersion: version, podsOnCurrentConfig: 1 });
    expect(behind.status.conditions?.find((c) => c.type === 'ConfigApplied')).toMatchObject({ status: 'False', reason: 'PodsBehind' });
    expect(behind.requeueAfterMs).toBeGreaterThan(0);
    const all = ask([
      { pod: 'orders-proxy-a', version },
      { pod: 'orders-proxy-b', version },
    ]);
    expect(all.status).toMatchObject({ configVersion: version, podsOnCurrentConfig: 2 });
    expect(all.status.conditions?.find((c) => c.type === 'ConfigApplied')).toMatchObject({ status: 'True', reason: 'AllPodsCurrent' });
    expect(all.requeueAfterMs).toBeUndefined();
    const refused = ask([
      { pod: 'orders-proxy-a', version },
      { pod: 'orders-proxy-b', version: '0', refused: { version, problems: ['tls.certFile: cannot read'] } },
    ]);
    expect(refused.status.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'PodRefusedConfig' });
    expect(refused.status.conditions?.find((c) => c.type === 'Degraded')?.message).toContain('pod orders-proxy-b refused config version');
  });

  it('a failover re-renders only the config Secret, with a higher generation, and records TargetChanged', () => {
    const server = new FakeApiserver();
    const x = dbp(spec);
    pass(x, server, [up('10.0.0.1:5432', 'WRITER'), up('10.0.0.2:5432', 'READER')], '2026-01-01T00:00:00Z');
    const d = pass(x, server, [gone('10.0.0.1:5432'), up('10.0.0.2:5432', 'WRITER')], '2026-01-01T00:01:00Z');
    expect(changes(d.actions).map((a) => `${a.type} ${'object' in a ? a.object.kind : ''}`)).toEqual(['patch Secret']);
    expect(d.events).toEqual([{ type: 'Normal', reason: 'TargetChanged', message: 'writer 10.0.0.1:5432 → 10.0.0.2:5432, target generation 2' }]);
    expect(configOf(server)).toMatch(/targets:\n {2}- host: 10\.0\.0\.2\n {4}port: 5432\ntargetGeneration: 2\n/);
    expect(changes(pass(x, server, [gone('10.0.0.1:5432'), up('10.0.0.2:5432', 'WRITER')], '2026-01-01T00:02:00Z').actions)).toEqual([]);
  });

  it('scaling re-renders the per-pod pool size and patches the Deployment', () => {
    const server = new FakeApiserver();
    const x = dbp(spec);
    const healths = [up('10.0.0.1:5432', 'WRITER', 200)];
    pass(x, server, healths, '2026-01-01T00:00:00Z');
    expect(configOf(server)).toContain('maxConnections: 100\n');
    x.spec = { ...spec, replicas: 4 };
    x.metadata.generation = 2;
    const d = pass(x, server, healths, '2026-01-01T00:01:00Z');
    expect(
      changes(d.actions)
        .map((a) => ('object' in a ? a.object.kind : ''))
        .sort(),
    ).toEqual(['Deployment', 'Secret']);
    expect(configOf(server)).toContain('maxConnections: 50\n');
    expect(d.status.poolSizePerPod).toBe(50);
  });

  it("with a reader endpoint, sizes the reader pools from the readers' max_connections, not the writer's", () => {
    const server = new FakeApiserver();
    const x = dbp({ ...spec, readerEndpoint: { enabled: true }, replicas: 2 });
    const d = pass(x, server, [up('10.0.0.1:5432', 'WRITER', 200), up('10.0.0.2:5432', 'READER', 40)], '2026-01-01T00:00:00Z');
    const config = parse(configOf(server)) as { pool: { maxConnections: number }; reader: { pool: { maxConnections: number } } };
    expect(config.pool.maxConnections).toBe(100); // 200 at 100% over 2 pods
    expect(config.reader.pool.maxConnections).toBe(20); // 40 at 100% over 2 pods
    expect(d.status).toMatchObject({ poolSizePerPod: 100, readerPoolSizePerPod: 20, readers: ['10.0.0.2:5432'] });
  });

  it('a new leader that has not probed yet keeps the writer and the pool size from the status', () => {
    const server = new FakeApiserver();
    const x = dbp(spec);
    pass(x, server, [up('10.0.0.1:5432', 'WRITER', 300), up('10.0.0.2:5432', 'READER')], '2026-01-01T00:00:00Z');
    const d = decide(observe(x, server, [], '2026-01-01T00:01:00Z'));
    expect(changes(d.actions)).toEqual([]);
    expect(d.events).toEqual([]);
    expect(d.status.currentTarget).toBe('10.0.0.1:5432');
  });

  it('an invalid spec applies nothing, reports InvalidSpec once, and keeps the running fleet', () => {
    const server = new FakeApiserver();
    const x = dbp(spec);
    pass(x, server, [up('10.0.0.1:5432', 'WRITER')], '2026-01-01T00:00:00Z');
    x.spec = { ...spec, targets: [{ host: 'a', serviceRef: { name: 'b' } }] };
    x.metadata.generation = 2;
    const d = pass(x, server, [], '2026-01-01T00:01:00Z');
    expect(d.actions).toEqual([]);
    expect(d.probe).toBeUndefined();
    expect(d.events).toEqual([{ type: 'Warning', reason: 'InvalidSpec', message: expect.stringContaining('exactly one of host or serviceRef') }]);
    expect(d.status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec', observedGeneration: 2 });
    const again = pass(x, server, [], '2026-01-01T00:02:00Z');
    expect(again.events).toEqual([]);
    expect(again.statusChanged).toBe(false);
    expect(server.objects.size).toBe(8);
  });

  it("a config the proxy pods would refuse is not written: Ready=False ConfigRefused with the proxy's reason, once, and the fleet keeps running", () => {
    const server = new FakeApiserver();
    const x = dbp(spec);
    pass(x, server, [up('10.0.0.1:5432', 'WRITER')], '2026-01-01T00:00:00Z');
    const before = configOf(server);
    x.spec = { ...spec, auth: [{ secretRef: { name: 'orders-md5' } }], clientPasswordAuthType: 'SCRAM_SHA_256' };
    x.metadata.generation = 2;
    const d = pass(x, server, [up('10.0.0.1:5432', 'WRITER')], '2026-01-01T00:01:00Z');
    expect(d.actions).toEqual([]);
    expect(configOf(server)).toBe(before);
    const ready = d.status.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'ConfigRefused', observedGeneration: 2 });
    expect(ready?.message).toMatch(
      /the proxy pods would refuse the rendered config: auth\.users\.0: user "app" has an MD5 hash, which cannot check SCRAM-SHA-256 logins/,
    );
    expect(d.events).toEqual([{ type: 'Warning', reason: 'ConfigRefused', message: ready?.message }]);
    expect(pass(x, server, [up('10.0.0.1:5432', 'WRITER')], '2026-01-01T00:02:00Z').events).toEqual([]);
    // Fixed: back to Ready.
    x.spec = { ...spec, clientPasswordAuthType: 'MD5', auth: [{ secretRef: { name: 'orders-md5' } }] };
    x.metadata.generation = 3;
    const fixed = pass(x, server, [up('10.0.0.1:5432', 'WRITER')], '2026-01-01T00:03:00Z');
    expect(fixed.status.conditions?.find((c) => c.type === 'Ready')?.reason).not.toBe('ConfigRefused');
  });

  it('a duration the proxy cannot run (over 24 days) is refused the same way', () => {
    const d = decide(observe(dbp({ ...spec, idleClientTimeout: '600h' }), new FakeApiserver(), [up('10.0.0.1:5432', 'WRITER')], '2026-01-01T00:00:00Z'));
    expect(d.actions).toEqual([]);
    expect(d.status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ConfigRefused',
      message: 'the proxy pods would refuse the rendered config: idleClientTimeout: invalid duration "600h": must be at most 24 days',
    });
  });

  it('a missing auth Secret is reported as SecretUnavailable', () => {
    const d = decide(observe(dbp({ ...spec, auth: [{ secretRef: { name: 'nope' } }] }), new FakeApiserver(), [], '2026-01-01T00:00:00Z'));
    expect(d.status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'SecretUnavailable',
      message: 'spec.auth.0: Secret nope not found',
    });
  });

  it("probes every candidate with the first auth Secret's credentials", () => {
    const d = decide(observe(dbp(spec), new FakeApiserver(), [], '2026-01-01T00:00:00Z'));
    expect(d.probe).toEqual({
      endpoints: ['10.0.0.1:5432', '10.0.0.2:5432'],
      intervalMs: 1000,
      failureThreshold: 2,
      user: 'app',
      password: 's3cret',
      tls: { sslmode: 'prefer' }, // no spec.backendTLS: the proxy's default
    });
  });

  it('an apply failure is reported in Ready and Degraded', () => {
    const d = decide(observe(dbp(spec), new FakeApiserver(), [up('10.0.0.1:5432', 'WRITER')], '2026-01-01T00:00:00Z'));
    expect(d.withApplyError('Deployment: forbidden').conditions?.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
  });

  it('puts no password and no admin token into the status or the Events, also when it refuses', () => {
    const server = new FakeApiserver();
    const x = dbp(spec);
    const healths = [up('10.0.0.1:5432', 'WRITER'), up('10.0.0.2:5432', 'READER')];
    const ok = pass(x, server, healths, '2026-01-01T00:00:00Z');
    const tokenSecret = server.objects.get('Secret/orders-proxy-admin-token') as unknown as { data: Record<string, string> };
    const token = Buffer.from(tokenSecret.data['token']!, 'base64').toString();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(parse(configOf(server)).admin.statusToken).toBe(token);
    // A second pass keeps the token (and so the config).
    expect(changes(pass(x, server, healths, '2026-01-01T00:05:00Z').actions)).toEqual([]);
    x.spec = { ...spec, auth: [{ secretRef: { name: 'orders-md5' } }], clientPasswordAuthType: 'SCRAM_SHA_256' };
    const refused = pass(x, server, healths, '2026-01-01T00:10:00Z');
    expect(refused.status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ConfigRefused' });
    for (const d of [ok, refused]) {
      const text = JSON.stringify({ status: d.status, events: d.events });
      for (const secret of ['s3cret', token, '0123456789abcdef']) expect(text).not.toContain(secret);
    }
  });
});

describe('spec.backendTLS', () => {
  const withTls = (backendTLS: unknown) => dbp({ ...spec, backendTLS });

  it('VerifyFull: the CA Secret is mounted, its key is the caFile, and the operator probes with the same CA', () => {
    const server = new FakeApiserver();
    const d = pass(withTls({ sslMode: 'VerifyFull', caSecretRef: { name: 'db-ca' }, serverName: 'db.shop.svc' }), server, [], '2026-01-01T00:00:00Z');
    expect(parse(configOf(server)).backendTls).toEqual({ sslmode: 'verify-full', caFile: '/etc/dbproxy/backend-ca/ca.crt', serverName: 'db.shop.svc' });
    type PodSpec = { volumes: { name: string; secret?: unknown }[]; containers: { volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[] }[] };
    const pod = (server.objects.get('Deployment/orders-proxy') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'backend-ca', secret: { secretName: 'db-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } });
    expect(pod.containers[0]!.volumeMounts).toContainEqual({ name: 'backend-ca', mountPath: '/etc/dbproxy/backend-ca', readOnly: true });
    expect(d.probe?.tls).toEqual({ sslmode: 'verify-full', ca: CA_PEM, serverName: 'db.shop.svc' });
  });

  it('Disable renders sslmode disable, mounts nothing and probes in plaintext', () => {
    const server = new FakeApiserver();
    const d = pass(withTls({ sslMode: 'Disable' }), server, [], '2026-01-01T00:00:00Z');
    expect(parse(configOf(server)).backendTls).toEqual({ sslmode: 'disable' });
    expect(JSON.stringify(server.objects.get('Deployment/orders-proxy'))).not.toContain('backend-ca');
    expect(d.probe?.tls).toEqual({ sslmode: 'disable' });
  });

  it.each([
    ['VerifyFull without a CA', { sslMode: 'VerifyFull' }, 'InvalidSpec', 'needs caSecretRef'],
    ['Disable with a CA', { sslMode: 'Disable', caSecretRef: { name: 'db-ca' } }, 'InvalidSpec', 'never uses TLS'],
    [
      'a CA Secret that does not exist',
      { sslMode: 'VerifyCA', caSecretRef: { name: 'nope' } },
      'SecretUnavailable',
      'spec.backendTLS.caSecretRef: Secret nope not found',
    ],
    ['a key the Secret lacks', { sslMode: 'VerifyCA', caSecretRef: { name: 'db-ca', key: 'root.crt' } }, 'SecretUnavailable', 'has no key root.crt'],
    ['a key without a certificate', { sslMode: 'Require', caSecretRef: { name: 'db-ca', key: 'other.pem' } }, 'SecretUnavailable', 'holds no PEM certificate'],
  ])('%s: Ready=False (%s), nothing applied', (_, backendTLS, reason, message) => {
    const d = decide(observe(withTls(backendTLS), new FakeApiserver(), [], '2026-01-01T00:00:00Z'));
    expect(d.actions).toEqual([]);
    expect(d.status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason, message: expect.stringContaining(message) });
  });
});
