import { describe, expect, it } from 'vitest';
import { validateSpec } from '../api/v1alpha1/validate.js';
import { resolveSecrets, type SecretLike } from './secrets.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secrets: Record<string, SecretLike> = {
  app: { data: { username: b64('app'), password: b64('p') } },
  ops: { data: { username: b64('ops'), password: b64('o') } },
};

function resolve(raw: Record<string, unknown>) {
  const v = validateSpec({ targets: [{ host: 'db' }], ...raw });
  if (!v.ok) throw new Error(v.problems.join('; '));
  return resolveSecrets(v.spec, (name) => secrets[name]);
}

describe('resolveSecrets: the TLS Secret', () => {
  const withTls = (data: Record<string, string>, clientCertificates?: string) => {
    secrets['tls'] = { data };
    return resolve({ auth: [{ secretRef: { name: 'app' } }], tls: { secretRef: { name: 'tls' }, ...(clientCertificates ? { clientCertificates } : {}) } });
  };
  const pair = { 'tls.crt': b64('c'), 'tls.key': b64('k') };

  it.each([
    ['a key pair', pair, undefined, true],
    ['a key pair and ca.crt', { ...pair, 'ca.crt': b64('ca') }, 'VerifyFull', true],
    ['no ca.crt with clientCertificates VerifyCA', pair, 'VerifyCA', false],
    ['no tls.key', { 'tls.crt': b64('c') }, undefined, false],
  ])('%s: ok %s', (_name, data, mode, ok) => {
    const r = withTls(data, mode);
    expect(r.ok).toBe(ok);
    if (!r.ok)
      expect(r.problems.join()).toMatch(
        mode ? /needs key ca\.crt to verify client certificates \(clientCertificates VerifyCA\)/ : /needs keys tls\.crt and tls\.key/,
      );
  });
});

describe('resolveSecrets: admin users', () => {
  it('accepts admin users that are usernames of spec.auth Secrets', () => {
    expect(resolve({ auth: [{ secretRef: { name: 'app' } }, { secretRef: { name: 'ops' } }], adminUsers: ['ops'] })).toEqual({
      ok: true,
      users: [
        { username: 'app', password: 'p' },
        { username: 'ops', password: 'o' },
      ],
    });
  });

  it('refuses an admin user no Secret names', () => {
    expect(resolve({ auth: [{ secretRef: { name: 'app' } }], adminUsers: ['app', 'ops'] })).toEqual({
      ok: false,
      problems: ['spec.adminUsers.1: user ops is not the username of any spec.auth Secret'],
    });
  });

  it('reports only the missing Secret while one is missing (the admin user may be in it)', () => {
    expect(resolve({ auth: [{ secretRef: { name: 'gone' } }], adminUsers: ['ops'] })).toEqual({ ok: false, problems: ['spec.auth.0: Secret gone not found'] });
  });
});

describe('resolveSecrets: kubernetesAuth', () => {
  secrets['tls-pair'] = { data: { 'tls.crt': b64('c'), 'tls.key': b64('k') } };
  const withRules = (users: string[], tls = true) =>
    resolve({
      auth: [{ secretRef: { name: 'app' } }],
      ...(tls ? { tls: { secretRef: { name: 'tls-pair' } } } : {}),
      kubernetesAuth: { rules: [{ serviceAccount: { name: 'web' }, users }] },
    });
  it.each<[string, string[], boolean, string | undefined]>([
    ['users with Secrets, over TLS', ['app'], true, undefined],
    ['a user without a Secret', ['app', 'ghost'], true, 'spec.kubernetesAuth.rules.0.users.1: user ghost is not the username of any spec.auth Secret'],
    ['no spec.tls', ['app'], false, 'spec.kubernetesAuth: needs spec.tls (the proxy accepts tokens only over TLS)'],
  ])('%s', (_name, users, tls, problem) => {
    const r = withRules(users, tls);
    expect(r.ok ? undefined : r.problems.join('; ')).toBe(problem);
  });
});
