import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { validateSpec } from '../api/v1alpha1/validate.js';
import { desiredObjects, type DesiredInput } from './desired.js';
import { SPEC_HASH } from './names.js';

const dir = path.join(import.meta.dirname, 'testdata');

function spec(raw: unknown) {
  const r = validateSpec(raw, 'orders');
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.spec;
}

const base: DesiredInput = {
  name: 'orders',
  namespace: 'shop',
  uid: '0b1c2d3e-0000-4000-8000-000000000001',
  spec: spec({ targets: [{ host: 'orders-db-0.orders-db.shop.svc' }], auth: [{ secretRef: { name: 'orders-app' } }] }),
  configYaml: 'listen: 0.0.0.0:5432\ntargets:\n  - host: 10.0.0.5\n    port: 5432\n',
  defaultImage: 'ghcr.io/dbproxy/dbproxy:0.1.0',
};

const full: DesiredInput = {
  ...base,
  spec: spec({
    targets: [{ serviceRef: { name: 'orders-db', port: 5432 } }],
    auth: [{ secretRef: { name: 'orders-app' } }],
    requireTLS: true,
    tls: { secretRef: { name: 'orders-proxy-tls' } },
    replicas: 3,
    image: 'registry.local/dbproxy:dev',
    template: {
      labels: { team: 'shop' },
      annotations: { 'prometheus.io/scrape': 'true' },
      resources: { requests: { cpu: '100m', memory: '64Mi' } },
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'db', operator: 'Exists', effect: 'NoSchedule' }],
      priorityClassName: 'db-critical',
      imagePullPolicy: 'Always',
      imagePullSecrets: [{ name: 'registry-local' }],
      podSecurityContext: { runAsUser: 10001, runAsGroup: 10001 },
      securityContext: { readOnlyRootFilesystem: false },
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' }],
    },
  }),
};

/** Compares with testdata/<name>.yaml; UPDATE_GOLDEN=1 rewrites the file instead. */
function golden(name: string, objects: unknown[]): void {
  const file = path.join(dir, `${name}.yaml`);
  const text = objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, text);
  expect(text, `golden ${file} differs (UPDATE_GOLDEN=1 rewrites it after review)`).toBe(readFileSync(file, 'utf8'));
}

type Any = Record<string, any>;
const byKind = (objs: Any[], kind: string): Any => objs.find((o) => o['kind'] === kind)!;

describe('desiredObjects', () => {
  it('matches the golden file for a minimal DBProxy', () => golden('desired-basic', desiredObjects(base)));
  it('matches the golden file with TLS, serviceRef and template overrides', () => golden('desired-full', desiredObjects(full)));

  it('creates every contract child, each owned by the DBProxy and hash-annotated', () => {
    const objs = desiredObjects(base) as Any[];
    expect(objs.map((o) => `${o['kind']}/${o['metadata'].name}`).sort()).toEqual(
      [
        'Deployment/orders-proxy',
        'PodDisruptionBudget/orders-proxy',
        'Role/orders-proxy',
        'RoleBinding/orders-proxy',
        'Secret/orders-proxy-config',
        'Service/orders',
        'ServiceAccount/orders-proxy',
      ].sort(),
    );
    for (const o of objs) {
      expect(o['metadata'].namespace).toBe('shop');
      expect(o['metadata'].ownerReferences).toEqual([
        { apiVersion: 'dbproxy.io/v1alpha1', kind: 'DBProxy', name: 'orders', uid: base.uid, controller: true, blockOwnerDeletion: true },
      ]);
      expect(o['metadata'].annotations[SPEC_HASH]).toMatch(/^[0-9a-f]{16}$/);
      expect(o['metadata'].labels['app.kubernetes.io/managed-by']).toBe('dbproxy-operator');
    }
  });

  it('a config change changes only the Secret: the pods hot-reload, they do not roll', () => {
    const a = desiredObjects(base) as Any[];
    const b = desiredObjects({ ...base, configYaml: base.configYaml + 'targetGeneration: 2\n' }) as Any[];
    for (const kind of ['Deployment', 'Service', 'ServiceAccount', 'Role', 'RoleBinding', 'PodDisruptionBudget'])
      expect(byKind(b, kind)).toEqual(byKind(a, kind));
    expect(byKind(b, 'Secret')['metadata'].annotations[SPEC_HASH]).not.toBe(byKind(a, 'Secret')['metadata'].annotations[SPEC_HASH]);
    expect(Buffer.from(byKind(b, 'Secret')['data']['config.yaml'], 'base64').toString()).toContain('targetGeneration: 2');
  });

  it('scaling changes the Deployment hash but not the pod template hash', () => {
    const a = byKind(desiredObjects(base) as Any[], 'Deployment');
    const b = byKind(desiredObjects({ ...base, spec: { ...base.spec, replicas: 5 } }) as Any[], 'Deployment');
    expect(b['spec'].replicas).toBe(5);
    expect(b['metadata'].annotations[SPEC_HASH]).not.toBe(a['metadata'].annotations[SPEC_HASH]);
    expect(b['spec'].template).toEqual(a['spec'].template);
  });

  it('TLS settings and the TLS Secret content do not roll the pods: they reach them through the config and the mounted Secret', () => {
    const a = byKind(desiredObjects(full) as Any[], 'Deployment');
    const tls = { secretRef: { name: 'orders-proxy-tls' }, minVersion: 'TLSv1.3', clientCertificates: 'VerifyFull' } as const;
    const b = byKind(desiredObjects({ ...full, spec: { ...full.spec, tls } }) as Any[], 'Deployment');
    // The pod template names the Secret only (never its data or resourceVersion), so a rotated certificate changes nothing here.
    expect(b['spec'].template).toEqual(a['spec'].template);
    expect(JSON.stringify(a['spec'].template)).not.toMatch(/resourceVersion|tls\.crt/);
  });

  it('an image change rolls the pods (pod template hash changes)', () => {
    const a = byKind(desiredObjects(base) as Any[], 'Deployment');
    const b = byKind(desiredObjects({ ...base, defaultImage: 'ghcr.io/dbproxy/dbproxy:0.2.0' }) as Any[], 'Deployment');
    expect(b['spec'].template.metadata.annotations[SPEC_HASH]).not.toBe(a['spec'].template.metadata.annotations[SPEC_HASH]);
  });

  it('the pod runs `proxy --config-secret X-proxy-config --bind-host $(POD_IP)` with probes on the admin port', () => {
    const pod = byKind(desiredObjects(base) as Any[], 'Deployment')['spec'].template;
    const c = pod.spec.containers[0];
    expect(c.args).toEqual(['proxy', '--config-secret', 'orders-proxy-config', '--bind-host', '$(POD_IP)']);
    expect(c.env.map((e: Any) => e['name'])).toEqual(['POD_IP', 'POD_NAME', 'POD_NAMESPACE']);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    expect(c.ports).toContainEqual({ name: 'admin', containerPort: 9187, protocol: 'TCP' });
    expect(pod.spec.serviceAccountName).toBe('orders-proxy');
    expect(pod.metadata.annotations['dbproxy.io/config-hash']).toBeUndefined();
  });

  it('a stopping pod sleeps in preStop, then drains within a grace period that fits both', () => {
    const cases: [unknown, unknown, number][] = [
      // spec.shutdown → lifecycle, terminationGracePeriodSeconds
      [undefined, { preStop: { sleep: { seconds: 5 } } }, 30],
      [{ preStopDelay: '10s', drainTimeout: '45s' }, { preStop: { sleep: { seconds: 10 } } }, 60],
      [{ preStopDelay: '1500ms', drainTimeout: '2.5s' }, { preStop: { sleep: { seconds: 2 } } }, 10],
      [{ preStopDelay: '0s' }, undefined, 25],
    ];
    for (const [shutdown, lifecycle, grace] of cases) {
      const raw = { targets: [{ host: 'db' }], auth: [{ secretRef: { name: 'orders-app' } }], ...(shutdown ? { shutdown } : {}) };
      const pod = byKind(desiredObjects({ ...base, spec: spec(raw) }) as Any[], 'Deployment')['spec'].template;
      expect(pod.spec.containers[0].lifecycle, JSON.stringify(shutdown)).toEqual(lifecycle);
      expect(pod.spec.terminationGracePeriodSeconds, JSON.stringify(shutdown)).toBe(grace);
    }
  });

  it('the Role grants get/list/watch on the config Secret only, and list/watch on EndpointSlices (the peers)', () => {
    const role = byKind(desiredObjects(base) as Any[], 'Role');
    expect(role['rules']).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['orders-proxy-config'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
    ]);
  });

  it('template labels add to the selector labels, and the TLS Secret is mounted', () => {
    const pod = byKind(desiredObjects(full) as Any[], 'Deployment')['spec'].template;
    expect(pod.metadata.labels).toMatchObject({ team: 'shop', 'app.kubernetes.io/instance': 'orders' });
    expect(pod.spec.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'orders-proxy-tls' } });
    // No subPath: kubelet updates only whole-directory Secret mounts in place, which the proxy reloads.
    expect(pod.spec.containers[0].volumeMounts.find((m: Any) => m.name === 'tls')).not.toHaveProperty('subPath');
    expect(pod.spec.containers[0].volumeMounts).toContainEqual({ name: 'tls', mountPath: '/etc/dbproxy/tls', readOnly: true });
  });

  it('pod overrides: pull policy and secrets, priority class, security contexts key by key, spread', () => {
    const pod = byKind(desiredObjects(full) as Any[], 'Deployment')['spec'].template.spec;
    expect(pod).toMatchObject({ priorityClassName: 'db-critical', imagePullSecrets: [{ name: 'registry-local' }] });
    expect(pod.containers[0].imagePullPolicy).toBe('Always');
    // Overridden keys change, the rest of the hardened default stays.
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: false,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.topologySpreadConstraints).toEqual([{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' }]);
  });

  it('by default spreads the proxy pods over nodes without ever blocking scheduling; [] turns it off', () => {
    const pod = byKind(desiredObjects(base) as Any[], 'Deployment')['spec'].template.spec;
    expect(pod.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'dbproxy', 'app.kubernetes.io/instance': 'orders', 'app.kubernetes.io/component': 'proxy' } },
      },
    ]);
    expect(pod.containers[0].imagePullPolicy).toBe('IfNotPresent');
    expect(pod.imagePullSecrets).toBeUndefined();
    // The operator's --proxy-image-pull-* defaults apply where the spec says nothing.
    const pulled = byKind(desiredObjects({ ...base, pull: { policy: 'Never', secrets: ['reg'] } }) as Any[], 'Deployment')['spec'].template.spec;
    expect(pulled.imagePullSecrets).toEqual([{ name: 'reg' }]);
    expect(pulled.containers[0].imagePullPolicy).toBe('Never');
    const own = byKind(desiredObjects({ ...full, pull: { policy: 'Never', secrets: ['reg'] } }) as Any[], 'Deployment')['spec'].template.spec;
    expect(own.imagePullSecrets).toEqual([{ name: 'registry-local' }]);
    expect(own.containers[0].imagePullPolicy).toBe('Always');
    const none = desiredObjects({ ...base, spec: spec({ ...base.spec, template: { topologySpreadConstraints: [] } }) });
    expect(byKind(none as Any[], 'Deployment')['spec'].template.spec.topologySpreadConstraints).toEqual([]);
  });

  it('golden files parse back as YAML', () => {
    expect(parse(readFileSync(path.join(dir, 'desired-basic.yaml'), 'utf8').split('---\n')[0]!)).toHaveProperty('kind');
  });
});

describe('desiredObjects: the reader endpoint', () => {
  it("adds Service X-ro on the pods' read-only port when enabled, and nothing when not", () => {
    const on = desiredObjects({ ...base, spec: spec({ ...base.spec, readerEndpoint: { enabled: true } }) });
    const ro = on.find((o) => o.kind === 'Service' && o.metadata?.name === 'orders-ro') as { spec: { ports: unknown[]; selector: unknown } } | undefined;
    expect(ro?.spec.ports).toEqual([{ name: 'postgresql', port: 5432, targetPort: 'pg-ro', protocol: 'TCP' }]);
    const pod = (
      on.find((o) => o.kind === 'Deployment') as { spec: { template: { spec: { containers: { ports: { name: string; containerPort: number }[] }[] } } } }
    ).spec.template.spec;
    expect(pod.containers[0]!.ports.map((p) => [p.name, p.containerPort])).toContainEqual(['pg-ro', 5433]);
    expect(desiredObjects(base).some((o) => o.metadata?.name === 'orders-ro')).toBe(false);
  });
});
