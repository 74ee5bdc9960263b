import { describe, expect, it } from 'vitest';
import { identityUsers, jwtExpiry, looksLikeJwt, ruleAllows, serviceAccountOf, type IdentityRule } from './identity-rules.js';

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const jwt = (header: unknown, payload: unknown = { sub: 'x' }): string => `${b64(header)}.${b64(payload)}.c2ln`;

describe('serviceAccountOf', () => {
  it.each([
    ['system:serviceaccount:apps:web', { namespace: 'apps', name: 'web' }],
    ['system:serviceaccount:apps', undefined],
    ['system:serviceaccount::web', undefined],
    ['system:serviceaccount:apps:web:extra', undefined],
    ['system:node:n1', undefined],
    ['alice', undefined],
    [undefined, undefined],
  ])('%s → %o', (username, want) => {
    expect(serviceAccountOf(username)).toEqual(want);
  });
});

describe('ruleAllows', () => {
  const rules: IdentityRule[] = [
    { serviceAccount: { namespace: 'apps', name: 'web' }, users: ['app', 'reporting'] },
    { serviceAccount: { namespace: 'batch', name: '*' }, users: ['etl'] },
  ];
  it.each([
    ['apps', 'web', 'app', true],
    ['apps', 'web', 'reporting', true],
    ['apps', 'web', 'etl', false],
    ['apps', 'worker', 'app', false],
    ['other', 'web', 'app', false],
    ['batch', 'anything', 'etl', true],
    ['batch', 'anything', 'app', false],
    ['apps', '*', 'app', false], // '*' is a pattern in rules, not a name that matches them
  ])('%s/%s as %s → %s', (namespace, name, user, want) => {
    expect(ruleAllows(rules, { namespace, name }, user)).toBe(want);
  });
  it('identityUsers lists every user a rule names', () => {
    expect([...identityUsers(rules)].sort()).toEqual(['app', 'etl', 'reporting']);
  });
});

describe('looksLikeJwt', () => {
  it.each([
    [jwt({ alg: 'RS256', kid: 'k' }), true],
    [jwt({ alg: 'none' }), true],
    [jwt({ typ: 'JWT' }), false], // no alg
    [jwt(['alg']), false],
    [`${b64('not json')}.${b64({})}.sig`, false],
    ['a.b', false],
    ['a.b.c.d', false],
    [`${jwt({ alg: 'RS256' })}=`, false], // padding is not base64url
    ['s3cret', false],
    ['my.pass.word', false],
    ['', false],
  ])('%s → %s', (s, want) => {
    expect(looksLikeJwt(s)).toBe(want);
  });
});

describe('jwtExpiry', () => {
  it.each([
    [jwt({ alg: 'RS256' }, { exp: 1_700_000_000 }), 1_700_000_000_000],
    [jwt({ alg: 'RS256' }, { exp: '1700000000' }), undefined],
    [jwt({ alg: 'RS256' }, {}), undefined],
    ['garbage', undefined],
  ])('%s → %s', (token, want) => {
    expect(jwtExpiry(token)).toBe(want);
  });
});
