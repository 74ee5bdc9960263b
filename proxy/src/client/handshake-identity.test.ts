import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AuthConfigSchema } from '../../../contract/config/schema.js';
import type { TokenReviewResult } from '../../../contract/kube/token-review.js';
import { IdentityAuth } from '../auth/kube-identity.js';
import { UserStore } from '../auth/users.js';
import { msg, startup } from '../testing/wire.js';
import type { SessionContext } from './context.js';
import { Handshake, type HandshakeStep } from './handshake.js';

const AUD = 'dbproxy.io/db/proxy';
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const TOKEN = `${b64({ alg: 'RS256' })}.${b64({ sub: 'x' })}.c2ln`;
const cfg = AuthConfigSchema.parse({ kubernetes: { audience: AUD, rules: [{ serviceAccount: { namespace: 'apps', name: 'web' }, users: ['app'] }] } })
  .kubernetes!;

function handshake(review: TokenReviewResult, encrypted = true, authMethod: 'scram' | 'md5' | 'trust' = 'scram') {
  const identity = new IdentityAuth(cfg, async () => review, pino({ level: 'silent' }));
  const users = new UserStore([
    { username: 'app', password: 'app-pw' },
    { username: 'plain', password: 'plain-pw' },
  ]);
  const ctx = { authMethod, requireTls: false, clientCertificates: 'none', shuttingDown: false, tls: undefined, users, identity } as unknown as SessionContext;
  const h = new Handshake(ctx, () => encrypted);
  const start = (user: string): HandshakeStep => {
    const b = startup({ user, database: 'postgres' });
    return h.onStartupPacket(b, 0, b.length);
  };
  const password = (pw: string): HandshakeStep => {
    const b = msg('p', Buffer.from(`${pw}\0`));
    return h.onMessage(b, 0, b.length);
  };
  return { start, password };
}

/** The authentication request code of a reply (3 cleartext, 5 md5, 10 SASL), or the step's kind. */
const request = (s: HandshakeStep): number | string => (s.kind === 'reply' ? s.bytes.readInt32BE(5) : s.kind);
const settle = async (s: HandshakeStep): Promise<HandshakeStep> => (s.kind === 'wait' ? s.next : s);
const outcome = (s: HandshakeStep) => (s.kind === 'fail' ? s.sqlstate : s.kind === 'authenticated' ? `ok:${s.user}` : s.kind);

const WEB: TokenReviewResult = { authenticated: true, username: 'system:serviceaccount:apps:web', audiences: [AUD] };

describe('Handshake with Kubernetes identity auth', () => {
  it.each<[string, string, boolean, 'scram' | 'md5' | 'trust', number | string]>([
    ['a rules user over TLS: cleartext', 'app', true, 'scram', 3],
    ['a rules user with md5 over TLS: cleartext', 'app', true, 'md5', 3],
    ['a rules user without TLS: scram as usual', 'app', false, 'scram', 10],
    ['another user over TLS: scram', 'plain', true, 'scram', 10],
    ['trust stays trust', 'app', true, 'trust', 'authenticated'],
  ])('%s', (_name, user, encrypted, method, want) => {
    expect(request(handshake(WEB, encrypted, method).start(user))).toBe(want);
  });

  it.each<[string, TokenReviewResult, string, string]>([
    ['a mapped token', WEB, TOKEN, 'ok:app'],
    ['an unauthenticated token', { authenticated: false, error: 'expired' }, TOKEN, '28P01'],
    ['an unmapped ServiceAccount', { ...WEB, username: 'system:serviceaccount:apps:other' }, TOKEN, '28000'],
    ['the right password (not a JWT)', WEB, 'app-pw', 'ok:app'],
    ['a wrong password', WEB, 'nope', '28P01'],
  ])('%s', async (_name, review, pw, want) => {
    const h = handshake(review);
    expect(request(h.start('app'))).toBe(3);
    const step = h.password(pw);
    expect(step.kind).toBe(pw === TOKEN ? 'wait' : want.startsWith('ok') ? 'authenticated' : 'fail');
    expect(outcome(await settle(step))).toBe(want);
  });
});
