// The /status token: kept from the DBProxy's own token Secret, made when missing, rendered into the config and the Secret.
import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../contract/config/load.js';
import { validateSpec } from '../api/v1alpha1/validate.js';
import { adminTokenOf, newAdminToken } from './admin-token.js';
import { desiredObjects } from './desired.js';
import { renderConfigYaml } from './render-config.js';

const TOKEN = 'kept-token-kept-token-kept-token';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const secret = (name: string, data: Record<string, string>): KubernetesObject & { data: Record<string, string> } => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'shop' },
  data,
});

function spec() {
  const r = validateSpec({ targets: [{ host: 'db' }], auth: [{ secretRef: { name: 'a' } }] }, 'orders');
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.spec;
}

describe('adminTokenOf', () => {
  const fresh = () => 'fresh-token-fresh-token-fresh-token';
  it.each([
    ['keeps the token of its own Secret', [secret('orders-proxy-admin-token', { token: b64(TOKEN) })], TOKEN],
    ['makes one when there is no Secret', [], 'fresh-token-fresh-token-fresh-token'],
    ['makes one when the Secret has no token key', [secret('orders-proxy-admin-token', { other: b64(TOKEN) })], 'fresh-token-fresh-token-fresh-token'],
    ['makes one when the kept one is too short', [secret('orders-proxy-admin-token', { token: b64('short') })], 'fresh-token-fresh-token-fresh-token'],
    ['ignores another DBProxy’s Secret', [secret('billing-proxy-admin-token', { token: b64(TOKEN) })], 'fresh-token-fresh-token-fresh-token'],
  ])('%s', (_, children, want) => expect(adminTokenOf('orders', children, fresh)).toBe(want));

  it('new tokens are random, URL-safe and long', () => {
    const a = newAdminToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newAdminToken()).not.toBe(a);
  });
});

describe('the token in the desired objects', () => {
  const configWith = (adminToken: string | undefined) =>
    renderConfigYaml({
      spec: spec(),
      users: [{ username: 'app', password: 'pw' }],
      writer: 'db:5432',
      fallbackTargets: [],
      poolSize: 5,
      targetGeneration: 1,
      ...(adminToken !== undefined && { adminToken }),
    });

  it('goes into Secret X-proxy-admin-token, before the config Secret, and into the config the pods load', () => {
    const configYaml = configWith(TOKEN);
    const config = parseConfigText(configYaml, 'config.yaml');
    expect(config.admin).toMatchObject({ listen: '0.0.0.0:9187', statusToken: TOKEN });
    const objs = desiredObjects({ name: 'orders', namespace: 'shop', uid: 'u', spec: spec(), configYaml, defaultImage: 'img', adminToken: TOKEN });
    const names = objs.map((o) => `${o.kind}/${o.metadata?.name}`);
    const tokenAt = names.indexOf('Secret/orders-proxy-admin-token');
    expect(tokenAt).toBeGreaterThanOrEqual(0);
    expect(tokenAt).toBeLessThan(names.indexOf('Secret/orders-proxy-config'));
    const s = objs[tokenAt] as unknown as { data: Record<string, string>; metadata: { ownerReferences: { uid: string }[] } };
    expect(Buffer.from(s.data['token']!, 'base64').toString('utf8')).toBe(TOKEN);
    expect(s.metadata.ownerReferences[0]!.uid).toBe('u');
  });

  it('without a token: no token Secret and no statusToken', () => {
    const configYaml = configWith(undefined);
    expect(parseConfigText(configYaml, 'config.yaml').admin.statusToken).toBeUndefined();
    const objs = desiredObjects({ name: 'orders', namespace: 'shop', uid: 'u', spec: spec(), configYaml, defaultImage: 'img' });
    expect(objs.some((o) => o.metadata?.name === 'orders-proxy-admin-token')).toBe(false);
  });
});
