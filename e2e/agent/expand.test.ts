import { describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { expandArgs, expandVars, resolveEnv } from './expand.js';

const pod: V1Pod = {
  metadata: { name: 'orders-proxy-abc', namespace: 'shop', uid: 'u-1', labels: { app: 'dbproxy' } },
  spec: { containers: [{ name: 'proxy', image: 'dbproxy:dev' }], nodeName: 'local', serviceAccountName: 'orders-proxy' },
};

describe('expandVars (kubelet $(VAR) rules)', () => {
  it.each([
    ['$(A)', 'x'],
    ['pre-$(A)-$(B)', 'pre-x-y'],
    ['$(MISSING)', '$(MISSING)'],
    ['$$(A)', '$(A)'],
    ['$$', '$'],
    ['$A', '$A'],
    ['$(A', '$(A'],
    ['', ''],
  ])('%s → %s', (input, want) => {
    expect(expandVars(input, { A: 'x', B: 'y' })).toBe(want);
  });

  it('does not treat inherited object keys as variables', () => {
    expect(expandVars('$(toString)', {})).toBe('$(toString)');
  });
});

describe('resolveEnv', () => {
  it('resolves downward-API fieldRefs and expands values from earlier entries only', () => {
    const env = resolveEnv(
      pod,
      [
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'LISTEN', value: '$(POD_IP):5432' },
        { name: 'EARLY', value: '$(LATER)' },
        { name: 'LATER', value: 'z' },
      ],
      '10.244.0.7',
    );
    expect(env).toEqual({
      POD_IP: '10.244.0.7',
      POD_NAME: 'orders-proxy-abc',
      POD_NAMESPACE: 'shop',
      APP: 'dbproxy',
      LISTEN: '10.244.0.7:5432',
      EARLY: '$(LATER)',
      LATER: 'z',
    });
  });

  it('rejects what it cannot provide with a clear error', () => {
    expect(() => resolveEnv(pod, [{ name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }], '10.244.0.1')).toThrow(/only value and fieldRef/);
    expect(() => resolveEnv(pod, [{ name: 'F', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } }], '10.244.0.1')).toThrow(/spec.bogus/);
  });
});

describe('expandArgs', () => {
  it('expands the operator Deployment args as the kubelet would', () => {
    const env = { POD_IP: '10.244.0.2', POD_NAMESPACE: 'dbproxy-system' };
    expect(expandArgs(['proxy', '--config-secret', 'orders-proxy-config', '--bind-host', '$(POD_IP)'], env)).toEqual([
      'proxy',
      '--config-secret',
      'orders-proxy-config',
      '--bind-host',
      '10.244.0.2',
    ]);
    expect(expandArgs(['operator', '--lease-namespace', '$(POD_NAMESPACE)'], env)).toEqual(['operator', '--lease-namespace', 'dbproxy-system']);
    expect(expandArgs(undefined, env)).toEqual([]);
  });
});
