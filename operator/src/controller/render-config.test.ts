import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfigText } from '../../../contract/config/load.js';
import { ProxyConfigSchema } from '../../../contract/config/schema.js';
import { validateSpec } from '../api/v1alpha1/validate.js';
import { idlePerPod } from './pool-size.js';
import { renderConfig, renderConfigYaml, type RenderInput } from './render-config.js';

function spec(raw: unknown) {
  const r = validateSpec(raw);
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.spec;
}

const input: RenderInput = {
  spec: spec({
    targets: [{ host: 'db-0' }, { host: 'db-1', port: 6543 }],
    auth: [{ secretRef: { name: 'a' } }, { secretRef: { name: 'b' } }],
    connectionPool: { maxIdleConnectionsPercent: 25, connectionBorrowTimeout: '30s', initQuery: "SET statement_timeout = '30s'" },
  }),
  users: [
    { username: 'zed', password: 'z' },
    { username: 'app', password: 'p' },
  ],
  writer: 'db-1:6543',
  fallbackTargets: ['db-0:5432', 'db-1:6543'],
  poolSize: 45,
  targetGeneration: 3,
};

describe('renderConfig', () => {
  it('is a valid proxy config with the writer only, the generation and the per-pod pool', () => {
    const c = ProxyConfigSchema.parse(parse(renderConfigYaml(input)));
    expect(c.targets).toEqual([{ host: 'db-1', port: 6543 }]);
    expect(c.targetGeneration).toBe(3);
    expect(c.pool).toMatchObject({ maxConnections: 45, maxIdleConnections: 11, borrowTimeout: 30_000, initQuery: "SET statement_timeout = '30s'" });
    expect(c.auth).toEqual({
      method: 'scram',
      users: [
        { username: 'app', password: 'p' },
        { username: 'zed', password: 'z' },
      ],
    });
    expect(c.idleClientTimeout).toBe(1_800_000);
    expect(c.tls).toBeUndefined();
  });

  it("spec.limits becomes the proxy's limits: its defaults when unset, each field when set", () => {
    expect(ProxyConfigSchema.parse(renderConfig(input)).limits).toEqual({
      maxClientConnections: 20_000,
      maxClientConnectionsPerUser: 0,
      startupTimeout: 10_000,
      authenticationTimeout: 60_000,
    });
    const limits = { maxClientConnections: 500, maxClientConnectionsPerUser: 50, startupTimeout: '3s', authenticationTimeout: '15s' };
    const set = { ...input, spec: spec({ targets: [{ host: 'db-0' }], auth: [{ secretRef: { name: 'a' } }], limits }) };
    expect(ProxyConfigSchema.parse(renderConfig(set)).limits).toEqual({
      maxClientConnections: 500,
      maxClientConnectionsPerUser: 50,
      startupTimeout: 3_000,
      authenticationTimeout: 15_000,
    });
    expect(validateSpec({ targets: [{ host: 'db-0' }], auth: [{ secretRef: { name: 'a' } }], limits: { maxClientConnections: 0 } }).ok).toBe(false);
  });

  it("a reader endpoint: its listener, the standbys the operator saw, and the fallback in the proxy's words", () => {
    const on = (whenNoReader: 'Wait' | 'UseWriter') => ({
      ...input,
      spec: { ...input.spec, readerEndpoint: { enabled: true, whenNoReader } },
      readers: ['db-0:5432'],
    });
    expect(ProxyConfigSchema.parse(renderConfig(on('Wait'))).reader).toEqual({
      listen: '0.0.0.0:5433',
      whenNoReader: 'wait',
      targets: [{ host: 'db-0', port: 5432 }],
    });
    expect(ProxyConfigSchema.parse(renderConfig(on('UseWriter'))).reader?.whenNoReader).toBe('writer');
    expect(ProxyConfigSchema.parse(renderConfig(input)).reader).toBeUndefined();
  });

  it("renders the drain timeout with no delay of its own (the pod's preStop sleep waits instead)", () => {
    expect(ProxyConfigSchema.parse(renderConfig(input)).shutdown).toEqual({ delay: 0, drainTimeout: 20_000 });
    const custom = { ...input, spec: { ...input.spec, shutdown: { preStopDelay: '10s', drainTimeout: '45s' } } };
    expect(ProxyConfigSchema.parse(renderConfig(custom)).shutdown).toEqual({ delay: 0, drainTimeout: 45_000 });
  });

  it('sizes the reader pools from the readers when their size is known, else leaves them at the writer size', () => {
    const on = { ...input, spec: { ...input.spec, readerEndpoint: { enabled: true, whenNoReader: 'Wait' as const } }, readers: ['db-1:5432'] };
    const sized = ProxyConfigSchema.parse(renderConfig({ ...on, readerPoolSize: 7 })).reader;
    expect(sized?.pool).toEqual({ maxConnections: 7, maxIdleConnections: idlePerPod(7, input.spec.connectionPool.maxIdleConnectionsPercent) });
    expect(ProxyConfigSchema.parse(renderConfig(on)).reader?.pool).toBeUndefined();
  });

  it('per-database and per-user shares become per-pod limits of the pool (at least one), and no limit when unset', () => {
    const pool = { ...input.spec.connectionPool, maxDbConnectionsPercent: 50, maxUserConnectionsPercent: 1 };
    const c = ProxyConfigSchema.parse(renderConfig({ ...input, spec: { ...input.spec, connectionPool: pool } }));
    expect(c.pool).toMatchObject({ maxConnections: 45, maxDbConnections: 22, maxUserConnections: 1 });
    expect(ProxyConfigSchema.parse(renderConfig(input)).pool).toMatchObject({ maxDbConnections: 0, maxUserConnections: 0 });
  });

  it('without a writer lists every fallback target so the pods probe them themselves', () => {
    const c = ProxyConfigSchema.parse(renderConfig({ ...input, writer: undefined, targetGeneration: 0 }));
    expect(c.targets).toEqual([
      { host: 'db-0', port: 5432 },
      { host: 'db-1', port: 6543 },
    ]);
  });

  it("MD5 and TLS map to the proxy's names and the mounted cert files", () => {
    const s = spec({
      targets: [{ host: 'db' }],
      auth: [{ secretRef: { name: 'a' } }],
      clientPasswordAuthType: 'MD5',
      requireTLS: true,
      tls: { secretRef: { name: 't' } },
    });
    const c = ProxyConfigSchema.parse(renderConfig({ ...input, spec: s }));
    expect(c.auth.method).toBe('md5');
    expect(c.tls).toEqual({
      certFile: '/etc/dbproxy/tls/tls.crt',
      keyFile: '/etc/dbproxy/tls/tls.key',
      require: true,
      minVersion: 'TLSv1.2',
      clientCertificates: 'none',
    });
  });

  it.each([
    ['VerifyCA', 'verify-ca'],
    ['VerifyFull', 'verify-full'],
  ] as const)("clientCertificates %s verifies against the Secret's ca.crt (%s); minVersion passes through", (mode, proxyMode) => {
    const s = spec({
      targets: [{ host: 'db' }],
      auth: [{ secretRef: { name: 'a' } }],
      tls: { secretRef: { name: 't' }, minVersion: 'TLSv1.3', clientCertificates: mode },
    });
    const c = ProxyConfigSchema.parse(renderConfig({ ...input, spec: s }));
    expect(c.tls).toMatchObject({ minVersion: 'TLSv1.3', clientCertificates: proxyMode, caFile: '/etc/dbproxy/tls/ca.crt', require: false });
  });

  it("leaves the Secret's ca.crt alone unless client certificates are asked for", () => {
    const s = spec({ targets: [{ host: 'db' }], auth: [{ secretRef: { name: 'a' } }], tls: { secretRef: { name: 't' } } });
    expect(ProxyConfigSchema.parse(renderConfig({ ...input, spec: s })).tls).not.toHaveProperty('caFile');
  });

  it("admin users become the console's admin.users (sorted), and nothing when there are none", () => {
    const s = spec({ targets: [{ host: 'db' }], auth: [{ secretRef: { name: 'a' } }], adminUsers: ['zed', 'app'] });
    expect(ProxyConfigSchema.parse(renderConfig({ ...input, spec: s })).admin).toEqual({ listen: '0.0.0.0:9187', users: ['app', 'zed'], trustLoopback: true });
    // The pods' own loader accepts them: they are among the rendered users.
    expect(parseConfigText(renderConfigYaml({ ...input, spec: s }), 'config.yaml').admin.users).toEqual(['app', 'zed']);
    expect(renderConfig(input).admin).toEqual({ listen: '0.0.0.0:9187' });
  });

  it("kubernetesAuth becomes auth.kubernetes: the DBProxy's audience and namespace by default, a given one kept", () => {
    const withRules = (kubernetesAuth: Record<string, unknown>) => {
      const s = spec({ targets: [{ host: 'db-0' }], auth: [{ secretRef: { name: 'a' } }], kubernetesAuth });
      return ProxyConfigSchema.parse(parse(renderConfigYaml({ ...input, namespace: 'db', name: 'proxy', spec: s }))).auth.kubernetes;
    };
    const rules = [
      { serviceAccount: { name: 'web' }, users: ['app'] },
      { serviceAccount: { namespace: 'batch', name: '*' }, users: ['etl', 'app'] },
    ];
    expect(withRules({ rules })).toEqual({
      audience: 'dbproxy.io/db/proxy',
      rules: [
        { serviceAccount: { namespace: 'db', name: 'web' }, users: ['app'] },
        { serviceAccount: { namespace: 'batch', name: '*' }, users: ['etl', 'app'] },
      ],
      cacheTtl: 30_000,
      timeout: 5_000,
      allowPlaintext: false,
    });
    expect(withRules({ audience: 'my-db', cacheTtl: '5s', rules })).toMatchObject({ audience: 'my-db', cacheTtl: 5_000 });
    expect(ProxyConfigSchema.parse(parse(renderConfigYaml({ ...input, namespace: 'db', name: 'proxy' }))).auth.kubernetes).toBeUndefined();
  });

  it('names Service X as where the pods find their peers (cancel forwarding), and no peering without it', () => {
    expect(ProxyConfigSchema.parse(renderConfig({ ...input, service: 'orders' })).peering).toEqual({ peers: [], kubernetes: { service: 'orders' } });
    expect(ProxyConfigSchema.parse(renderConfig(input)).peering).toBeUndefined();
  });

  it('IPv6 writers round-trip', () => {
    expect(renderConfig({ ...input, writer: '[fd00::5]:5432' }).targets).toEqual([{ host: 'fd00::5', port: 5432 }]);
  });

  it('is byte-stable: user order does not matter', () => {
    expect(renderConfigYaml({ ...input, users: [...input.users].reverse() })).toBe(renderConfigYaml(input));
  });
});

describe('spec.backendTLS', () => {
  const base = { targets: [{ host: 'db-0' }], auth: [{ secretRef: { name: 'a' } }] };
  const render = (backendTLS?: unknown) => renderConfig({ ...input, spec: spec({ ...base, ...(backendTLS ? { backendTLS } : {}) }) }).backendTls;

  it.each([
    ['unset: nothing rendered, the proxy defaults to prefer', undefined, undefined],
    ['Prefer', { sslMode: 'Prefer' }, { sslmode: 'prefer' }],
    [
      'Require with a CA under another key',
      { sslMode: 'Require', caSecretRef: { name: 'ca', key: 'root.pem' } },
      { sslmode: 'require', caFile: '/etc/dbproxy/backend-ca/root.pem' },
    ],
    ['VerifyCA', { sslMode: 'VerifyCA', caSecretRef: { name: 'ca' } }, { sslmode: 'verify-ca', caFile: '/etc/dbproxy/backend-ca/ca.crt' }],
    [
      'VerifyFull with serverName',
      { sslMode: 'VerifyFull', caSecretRef: { name: 'ca' }, serverName: 'pg.db.svc' },
      { sslmode: 'verify-full', caFile: '/etc/dbproxy/backend-ca/ca.crt', serverName: 'pg.db.svc' },
    ],
  ])('%s', (_, backendTLS, expected) => {
    expect(render(backendTLS)).toEqual(expected);
  });

  it('the rendered section is one the proxy loads', () => {
    const yaml = renderConfigYaml({ ...input, spec: spec({ ...base, backendTLS: { sslMode: 'VerifyFull', caSecretRef: { name: 'ca' } } }) });
    expect(parseConfigText(yaml, 'config.yaml').backendTls).toEqual({ sslmode: 'verify-full', caFile: '/etc/dbproxy/backend-ca/ca.crt' });
  });

  it.each([
    [{ sslMode: 'VerifyFull' }, 'needs caSecretRef'],
    [{ sslMode: 'Disable', serverName: 'x' }, 'never uses TLS'],
    [{ sslMode: 'verify-full', caSecretRef: { name: 'ca' } }, 'backendTLS.sslMode'],
    [{ sslMode: 'Require', caSecretRef: { name: 'ca', key: '../etc' } }, 'a Secret key'],
  ])('%j is an invalid spec', (backendTLS, message) => {
    expect(() => spec({ ...base, backendTLS })).toThrow(message);
  });
});
