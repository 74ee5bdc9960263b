import { describe, expect, it } from 'vitest';
import type { DBProxy } from '../api/v1alpha1/schema.js';
import { dbproxiesForSlice, referencedSecrets, referencesSecret, referencesService } from './refs.js';

const x = (name: string, spec: unknown): DBProxy => ({ apiVersion: 'dbproxy.io/v1alpha1', kind: 'DBProxy', metadata: { name, namespace: 'shop' }, spec });

describe('refs', () => {
  const a = x('a', { auth: [{ secretRef: { name: 'app' } }], tls: { secretRef: { name: 'cert' } }, targets: [{ serviceRef: { name: 'pg' } }] });
  const junk = x('junk', { auth: 'nope', targets: [null] });

  it('finds auth and TLS Secrets', () => {
    expect([referencesSecret(a, 'app'), referencesSecret(a, 'cert'), referencesSecret(a, 'other')]).toEqual([true, true, false]);
  });
  it('lists every referenced Secret once, sorted', () => {
    const b = x('b', {
      auth: [{ secretRef: { name: 'u2' } }, { secretRef: { name: 'u1' } }, { secretRef: { name: 'u2' } }],
      tls: { secretRef: { name: 'u1' } },
    });
    expect(referencedSecrets(b)).toEqual(['u1', 'u2']);
    expect(referencedSecrets(a)).toEqual(['app', 'cert']);
    expect(referencedSecrets(x('bad', { auth: [{ secretRef: { name: 7 } }, null, {}], tls: { secretRef: null } }))).toEqual([]);
  });
  it('finds the backend CA Secret (a change to it re-renders and re-probes), even in a spec that is invalid otherwise', () => {
    const c = x('c', { auth: [{ secretRef: { name: 'app' } }], backendTLS: { sslMode: 'VerifyFull', caSecretRef: { name: 'db-ca' } } });
    expect(referencedSecrets(c)).toEqual(['app', 'db-ca']);
    expect(referencesSecret(x('d', { backendTLS: { caSecretRef: { name: 'db-ca' } }, targets: 'junk' }), 'db-ca')).toBe(true);
    expect(referencedSecrets(x('e', { backendTLS: { caSecretRef: null } }))).toEqual([]);
  });
  it('survives malformed specs', () => {
    expect(referencesSecret(junk, 'app')).toBe(false);
    expect(referencesService(junk, 'pg')).toBe(false);
    expect(referencesSecret(x('none', undefined), 'app')).toBe(false);
  });
  it('maps an EndpointSlice to the DBProxies using its Service', () => {
    expect(dbproxiesForSlice({ metadata: { labels: { 'kubernetes.io/service-name': 'pg' } } }, [a, junk])).toEqual(['shop/a']);
    expect(dbproxiesForSlice({ metadata: {} }, [a])).toEqual([]);
  });
});
