/**
 * The pure parts of Kubernetes identity auth: which database users take tokens, whether a
 * ServiceAccount may act as a user by the config's rules, and what a JWT looks like.
 */
import type { KubernetesAuthConfig } from '../../../contract/config/schema.js';

export type IdentityRule = KubernetesAuthConfig['rules'][number];

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

const SA_PREFIX = 'system:serviceaccount:';

/** `system:serviceaccount:NS:NAME` as TokenReview names it; undefined for any other identity (a user, a node). */
export function serviceAccountOf(username: string | undefined): ServiceAccountRef | undefined {
  if (!username?.startsWith(SA_PREFIX)) return undefined;
  const [namespace, name, ...rest] = username.slice(SA_PREFIX.length).split(':');
  if (!namespace || !name || rest.length > 0) return undefined;
  return { namespace, name };
}

/** The database users some rule names: those are asked for a cleartext password (a token or their password). */
export function identityUsers(rules: readonly IdentityRule[]): Set<string> {
  return new Set(rules.flatMap((r) => r.users));
}

/** Whether a rule lets `sa` log in as `user`; a rule's name `*` matches every ServiceAccount of its namespace. */
export function ruleAllows(rules: readonly IdentityRule[], sa: ServiceAccountRef, user: string): boolean {
  return rules.some(
    (r) => r.serviceAccount.namespace === sa.namespace && (r.serviceAccount.name === '*' || r.serviceAccount.name === sa.name) && r.users.includes(user),
  );
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A compact JWS: three base64url parts whose header is a JSON object with `alg`. Passwords are
 * practically never that, so such a password goes to TokenReview and anything else is a password.
 */
export function looksLikeJwt(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) return false;
  const header = decodeSegment(parts[0]!);
  return typeof header?.['alg'] === 'string';
}

/**
 * The token's `exp` claim in ms since the epoch, read without checking the signature: only ever used
 * to keep a cached review from outliving the token, never to accept one.
 */
export function jwtExpiry(token: string): number | undefined {
  const payload = decodeSegment(token.split('.')[1] ?? '');
  const exp = payload?.['exp'];
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
}
