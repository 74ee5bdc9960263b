import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AuthConfigSchema, type KubernetesAuthConfig } from '../../../contract/config/schema.js';
import { HttpStatusError } from '../../../contract/kube/request.js';
import type { ReviewToken, TokenReviewResult } from '../../../contract/kube/token-review.js';
import { IdentityAuth, identityAuthFor } from './kube-identity.js';

const AUD = 'dbproxy.io/db/proxy';
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const token = (sub: string, exp?: number): string => `${b64({ alg: 'RS256' })}.${b64({ sub, ...(exp !== undefined && { exp }) })}.c2lnbmF0dXJl`;
const sa = (ns: string, name: string): TokenReviewResult => ({ authenticated: true, username: `system:serviceaccount:${ns}:${name}`, audiences: [AUD] });

const parse = (k: unknown): KubernetesAuthConfig => AuthConfigSchema.parse({ kubernetes: k }).kubernetes!;
const CFG = parse({ audience: AUD, rules: [{ serviceAccount: { namespace: 'apps', name: 'web' }, users: ['app'] }] });

function setup(answer: (t: string) => TokenReviewResult | Error | Promise<TokenReviewResult>) {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  const calls: { token: string; audiences: string[] }[] = [];
  let t = 0;
  const review: ReviewToken = async (tok, audiences) => {
    calls.push({ token: tok, audiences });
    const a = await answer(tok);
    if (a instanceof Error) throw a;
    return a;
  };
  const auth = new IdentityAuth(CFG, review, log, () => t);
  return { auth, calls, lines, advance: (ms: number) => (t += ms) };
}

describe('IdentityAuth.verify', () => {
  it.each<[string, TokenReviewResult | Error, { ok: true } | { ok: false; sqlstate: string; message: RegExp }]>([
    ['a mapped ServiceAccount', sa('apps', 'web'), { ok: true }],
    [
      'an expired or forged token',
      { authenticated: false, error: 'token has expired' },
      { ok: false, sqlstate: '28P01', message: /^password authentication failed for user "app"$/ },
    ],
    [
      'a token for another audience',
      { authenticated: true, username: 'system:serviceaccount:apps:web', audiences: ['other'] },
      { ok: false, sqlstate: '28P01', message: /password authentication failed/ },
    ],
    [
      'a ServiceAccount without a rule',
      sa('apps', 'worker'),
      { ok: false, sqlstate: '28000', message: /ServiceAccount apps\/worker is not allowed this user/ },
    ],
    ['a rule’s name in another namespace', sa('other', 'web'), { ok: false, sqlstate: '28000', message: /not allowed/ }],
    [
      'a person, not a ServiceAccount',
      { authenticated: true, username: 'alice', audiences: [AUD] },
      { ok: false, sqlstate: '28000', message: /not a ServiceAccount's/ },
    ],
    [
      'the apiserver not answering',
      new Error('POST /apis/... timed out after 5000 ms'),
      { ok: false, sqlstate: '08006', message: /could not verify the Kubernetes token/ },
    ],
    ['no RBAC grant', new HttpStatusError(403, '{"reason":"Forbidden"}'), { ok: false, sqlstate: '08006', message: /try again/ }],
  ])('%s', async (_name, answer, want) => {
    const { auth, calls, lines } = setup(() => answer);
    const tok = token('x');
    const v = await auth.verify(tok, 'app');
    expect(v.ok).toBe(want.ok);
    if (!v.ok && !want.ok) {
      expect(v.sqlstate).toBe(want.sqlstate);
      expect(v.message).toMatch(want.message);
    }
    expect(calls).toEqual([{ token: tok, audiences: [AUD] }]);
    expect(lines.join('')).not.toContain(tok.split('.')[1]!); // never the token, not even a part
  });

  it('a ServiceAccount mapped to one user is refused another (28000)', async () => {
    const { auth } = setup(() => sa('apps', 'web'));
    const v = await auth.verify(token('x'), 'admin');
    expect(v).toMatchObject({ ok: false, sqlstate: '28000' });
  });

  it('caches reviews by token: success for cacheTtl, refusals shorter, apiserver failures not at all', async () => {
    let answer: TokenReviewResult | Error = sa('apps', 'web');
    const { auth, calls, advance } = setup(() => answer);
    const good = token('good');
    await auth.verify(good, 'app');
    await auth.verify(good, 'app');
    expect(calls).toHaveLength(1);
    advance(CFG.cacheTtl);
    await auth.verify(good, 'app');
    expect(calls).toHaveLength(2);

    answer = { authenticated: false };
    const bad = token('bad');
    await auth.verify(bad, 'app');
    await auth.verify(bad, 'app');
    expect(calls).toHaveLength(3);
    advance(5_000);
    await auth.verify(bad, 'app');
    expect(calls).toHaveLength(4);

    answer = new Error('connect ECONNREFUSED');
    const down = token('down');
    await auth.verify(down, 'app');
    await auth.verify(down, 'app');
    expect(calls).toHaveLength(6);
  });

  it('a cached success does not outlive the token’s exp claim', async () => {
    const { auth, calls, advance } = setup(() => sa('apps', 'web'));
    const short = token('short', 10); // exp 10 s after the fake clock's epoch
    await auth.verify(short, 'app');
    advance(9_999);
    await auth.verify(short, 'app');
    expect(calls).toHaveLength(1);
    advance(1);
    await auth.verify(short, 'app');
    expect(calls).toHaveLength(2);
  });

  it('concurrent logins with one token share one review', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { auth, calls } = setup(async () => (await gate, sa('apps', 'web')));
    const tok = token('burst');
    const all = Promise.all([1, 2, 3].map(() => auth.verify(tok, 'app')));
    release();
    expect((await all).every((v) => v.ok)).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it('covers only the users the rules name', () => {
    const { auth } = setup(() => sa('apps', 'web'));
    expect(auth.covers('app')).toBe(true);
    expect(auth.covers('postgres')).toBe(false);
  });
});

describe('identityAuthFor', () => {
  const review: ReviewToken = async () => sa('apps', 'web');
  const log = pino({ level: 'silent' });
  it('keeps the instance (and its cache) while the section is unchanged, and drops it without one', () => {
    const a = identityAuthFor(CFG, undefined, log, review)!;
    expect(identityAuthFor(parse({ audience: AUD, rules: CFG.rules }), a, log, review)).toBe(a);
    expect(identityAuthFor({ ...CFG, cacheTtl: 1_000 }, a, log, review)).not.toBe(a);
    expect(identityAuthFor(undefined, a, log, review)).toBeUndefined();
  });
});
