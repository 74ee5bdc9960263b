import { describe, expect, it } from 'vitest';
import { durationMs, validateSpec } from './validate.js';

const ok = { targets: [{ host: 'db' }], auth: [{ secretRef: { name: 'app' } }] };

describe('validateSpec', () => {
  it("applies RDS Proxy's defaults", () => {
    const r = validateSpec(ok, 'orders');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.spec).toMatchObject({
      engineFamily: 'POSTGRESQL',
      clientPasswordAuthType: 'SCRAM_SHA_256',
      requireTLS: false,
      idleClientTimeout: '1800s',
      connectionPool: {
        maxConnectionsPercent: 100,
        maxIdleConnectionsPercent: 50,
        connectionBorrowTimeout: '120s',
        sessionPinningFilters: ['EXCLUDE_VARIABLE_SETS'],
      },
      healthCheck: { interval: '1s', failureThreshold: 2 },
      replicas: 2,
    });
  });

  it.each<[string, unknown, string | undefined, RegExp]>([
    ['no targets', { ...ok, targets: [] }, 'x', /spec\.targets/],
    ['host and serviceRef together', { ...ok, targets: [{ host: 'db', serviceRef: { name: 's' } }] }, 'x', /exactly one of host or serviceRef/],
    ['neither host nor serviceRef', { ...ok, targets: [{}] }, 'x', /exactly one of host or serviceRef/],
    ['port with serviceRef', { ...ok, targets: [{ serviceRef: { name: 's' }, port: 5 }] }, 'x', /port goes with host/],
    ['requireTLS without tls', { ...ok, requireTLS: true }, 'x', /requireTLS needs tls/],
    ['percent out of range', { ...ok, connectionPool: { maxConnectionsPercent: 0 } }, 'x', /maxConnectionsPercent/],
    ['bad duration', { ...ok, idleClientTimeout: '10 minutes' }, 'x', /idleClientTimeout/],
    ['unknown auth type', { ...ok, clientPasswordAuthType: 'PLAIN' }, 'x', /clientPasswordAuthType/],
    ['duplicate targets', { ...ok, targets: [{ host: 'db' }, { host: 'db', port: 5432 }] }, 'x', /duplicate target/],
    ['duplicate auth Secrets', { ...ok, auth: [{ secretRef: { name: 'a' } }, { secretRef: { name: 'a' } }] }, 'x', /listed twice/],
    ['too fast health checks', { ...ok, healthCheck: { interval: '10ms' } }, 'x', /at least 100ms/],
    ['reserved template label', { ...ok, template: { labels: { 'app.kubernetes.io/instance': 'y' } } }, 'x', /reserved/],
    ['a name too long for its children', ok, 'a'.repeat(60), /metadata\.name/],
    ['a name that is not a DNS label', ok, 'Orders', /metadata\.name/],
    ['no spec at all', undefined, 'x', /spec\.targets/],
  ])('rejects %s', (_name, spec, name, problem) => {
    const r = validateSpec(spec, name);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.join('\n')).toMatch(problem);
  });
});

describe('durationMs', () => {
  it.each([
    ['500ms', 500],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
  ])('%s', (d, ms) => expect(durationMs(d)).toBe(ms));
  it('throws on garbage', () => expect(() => durationMs('soon')).toThrow(/invalid duration/));
});
