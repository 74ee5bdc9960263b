import { describe, expect, it } from 'vitest';
import { DEFAULT_PROXY_IMAGE, parseOperatorArgs, type OperatorOptions } from './main.js';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseOperatorArgs(argv, env) as OperatorOptions;

describe('parseOperatorArgs', () => {
  it('has the documented defaults', () => {
    expect(parse([], { POD_NAMESPACE: 'dbproxy-system', POD_NAME: 'op-0' })).toMatchObject({
      watchNamespaces: [],
      tokenReviewBindings: true,
      operatorPeer: { namespace: 'dbproxy-system', podLabels: { 'app.kubernetes.io/name': 'dbproxy-operator' } },
      leaseNamespace: 'dbproxy-system',
      metricsHost: '0.0.0.0',
      metricsPort: 8080,
      proxyImage: DEFAULT_PROXY_IMAGE,
      proxyPull: {},
      concurrency: 4,
      logLevel: 'info',
      identity: expect.stringMatching(/^op-0_[0-9a-f]{8}$/),
    });
  });

  it('flags win over the environment', () => {
    const o = parse(['--watch-namespace', 'shop', '--lease-namespace', 'ops', '--metrics-listen', '127.0.0.1:0', '--proxy-image', 'img:1'], {
      DBPROXY_PROXY_IMAGE: 'img:env',
      POD_NAMESPACE: 'x',
    });
    expect(o).toMatchObject({ watchNamespaces: ['shop'], leaseNamespace: 'ops', metricsHost: '127.0.0.1', metricsPort: 0, proxyImage: 'img:1' });
    expect(parse([], { DBPROXY_PROXY_IMAGE: 'img:env' }).proxyImage).toBe('img:env');
  });

  it("the proxy pods' pull policy and pull Secrets", () => {
    expect(parse(['--proxy-image-pull-policy', 'Always', '--proxy-image-pull-secrets', 'reg-a, reg-b']).proxyPull).toEqual({
      policy: 'Always',
      secrets: ['reg-a', 'reg-b'],
    });
  });

  it('watches a comma-separated list of namespaces, with --watch-namespace as an alias', () => {
    expect(parse(['--watch-namespaces', 'b, a,b']).watchNamespaces).toEqual(['a', 'b']);
    expect(parse(['--watch-namespaces', 'a', '--watch-namespace', 'c']).watchNamespaces).toEqual(['a', 'c']);
    expect(parse(['--watch-namespaces', ' ']).watchNamespaces).toEqual([]);
    expect(() => parse(['--watch-namespaces', 'a,Bad_NS'])).toThrow(/"Bad_NS" is not a namespace name/);
  });

  it('creates TokenReview bindings cluster-wide by default, not when namespaced unless told to', () => {
    expect(parse([]).tokenReviewBindings).toBe(true);
    expect(parse(['--watch-namespaces', 'a']).tokenReviewBindings).toBe(false);
    expect(parse(['--watch-namespaces', 'a', '--token-review-bindings', 'true']).tokenReviewBindings).toBe(true);
    expect(parse(['--token-review-bindings=false']).tokenReviewBindings).toBe(false);
  });

  it("knows its own pods for the proxies' NetworkPolicies", () => {
    expect(
      parse(['--operator-pod-labels', 'app.kubernetes.io/name=dbproxy-operator,app.kubernetes.io/instance=dbp'], { POD_NAMESPACE: 'ops' }).operatorPeer,
    ).toEqual({
      namespace: 'ops',
      podLabels: { 'app.kubernetes.io/name': 'dbproxy-operator', 'app.kubernetes.io/instance': 'dbp' },
    });
    expect(() => parse(['--operator-pod-labels', 'nolabel'], { POD_NAMESPACE: 'ops' })).toThrow(/KEY=VALUE/);
    expect(() => parse(['--operator-pod-labels', ','], { POD_NAMESPACE: 'ops' })).toThrow(/at least one/);
  });

  it('two processes never share an identity', () => {
    expect(parse([], { POD_NAME: 'p' }).identity).not.toBe(parse([], { POD_NAME: 'p' }).identity);
  });

  it.each([
    [['--metrics-listen', '8080'], /--metrics-listen "8080": expected HOST:PORT/],
    [['--concurrency', '0'], /--concurrency/],
    [['--log-level', 'loud'], /--log-level/],
    [['--proxy-image-pull-policy', 'always'], /--proxy-image-pull-policy "always": expected Always\|IfNotPresent\|Never/],
    [['--proxy-image-pull-secrets', 'Reg_A'], /"Reg_A" is not a Secret name/],
    [['--token-review-bindings', 'yes'], /--token-review-bindings "yes": expected true or false/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('%j is a UsageError with a clear message', (argv, msg) => {
    expect(() => parseOperatorArgs(argv, {})).toThrow(msg);
    try {
      parseOperatorArgs(argv, {});
    } catch (err) {
      expect((err as Error).name).toBe('UsageError');
    }
  });

  it('--help', () => expect(parseOperatorArgs(['--help'], {})).toBe('help'));
});
