import { describe, expect, it } from 'vitest';
import { DEFAULT_PROXY_IMAGE, parseOperatorArgs, type OperatorOptions } from './main.js';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseOperatorArgs(argv, env) as OperatorOptions;

describe('parseOperatorArgs', () => {
  it('has the documented defaults', () => {
    expect(parse([], { POD_NAMESPACE: 'dbproxy-system', POD_NAME: 'op-0' })).toMatchObject({
      watchNamespace: undefined,
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
    expect(o).toMatchObject({ watchNamespace: 'shop', leaseNamespace: 'ops', metricsHost: '127.0.0.1', metricsPort: 0, proxyImage: 'img:1' });
    expect(parse([], { DBPROXY_PROXY_IMAGE: 'img:env' }).proxyImage).toBe('img:env');
  });

  it("the proxy pods' pull policy and pull Secrets", () => {
    expect(parse(['--proxy-image-pull-policy', 'Always', '--proxy-image-pull-secrets', 'reg-a, reg-b']).proxyPull).toEqual({
      policy: 'Always',
      secrets: ['reg-a', 'reg-b'],
    });
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
