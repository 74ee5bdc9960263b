import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { plan } from './plan.js';

const obj = (kind: string, name: string, hash: string | undefined, extra: Record<string, unknown> = {}): KubernetesObject =>
  ({
    apiVersion: 'v1',
    kind,
    metadata: { name, namespace: 'ns', ...(hash ? { annotations: { 'dbproxy.io/spec-hash': hash } } : {}) },
    ...extra,
  }) as KubernetesObject;

describe('plan', () => {
  it.each<[string, KubernetesObject[], KubernetesObject[], string[]]>([
    ['creates what is missing', [obj('Service', 'x', 'h1')], [], ['create Service/x']],
    ['does nothing when hashes match', [obj('Service', 'x', 'h1')], [obj('Service', 'x', 'h1', { spec: { clusterIP: '10.0.0.1' } })], ['nothing Service/x']],
    ['patches on a hash change', [obj('Service', 'x', 'h2')], [obj('Service', 'x', 'h1')], ['patch Service/x']],
    ['patches an object someone stripped of its annotation', [obj('Service', 'x', 'h1')], [obj('Service', 'x', undefined)], ['patch Service/x']],
    [
      'patches a Secret whose data was edited by hand',
      [obj('Secret', 'c', 'h1', { data: { k: 'YQ==' } })],
      [obj('Secret', 'c', 'h1', { data: { k: 'Yg==' } })],
      ['patch Secret/c'],
    ],
    [
      'patches a Deployment scaled by hand',
      [obj('Deployment', 'd', 'h1', { spec: { replicas: 2 } })],
      [obj('Deployment', 'd', 'h1', { spec: { replicas: 5 } })],
      ['patch Deployment/d'],
    ],
    [
      'deletes owned children no longer desired',
      [obj('Service', 'x', 'h1')],
      [obj('Service', 'x', 'h1'), obj('ConfigMap', 'old', 'h0')],
      ['nothing Service/x', 'delete ConfigMap/old'],
    ],
    [
      'same name, different kind is a different object',
      [obj('Role', 'x-proxy', 'h1')],
      [obj('ServiceAccount', 'x-proxy', 'h1')],
      ['create Role/x-proxy', 'delete ServiceAccount/x-proxy'],
    ],
  ])('%s', (_name, desired, observed, want) => {
    const got = plan(desired, observed).map(
      (a) => `${a.type} ${'object' in a ? a.object.kind : a.ref.kind}/${'object' in a ? a.object.metadata?.name : a.ref.name}`,
    );
    expect(got).toEqual(want);
  });

  it('every action carries a reason', () => {
    for (const a of plan([obj('Service', 'x', 'h2'), obj('Secret', 'y', 'h')], [obj('Service', 'x', 'h1'), obj('Role', 'z', 'h')]))
      expect(a.reason).not.toBe('');
  });
});
