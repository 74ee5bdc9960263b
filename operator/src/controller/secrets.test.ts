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
