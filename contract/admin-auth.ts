/**
 * Who may read the admin server's `/status` (it lists client addresses, users and pinned sessions):
 * with no token configured, anyone who reaches the port; with one, loopback (unless told not to trust
 * it) and holders of the token.
 * docs/security.md explains the choice; admin-http.ts applies it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * The token may also come in this header: the apiserver's pod proxy (the kubectl plugin's way in)
 * consumes `Authorization` to authenticate the caller and never forwards it to the pod.
 */
export const ADMIN_TOKEN_HEADER = 'x-dbproxy-admin-token';

/** The token `/status` wants now; undefined: none is configured and /status is open. Throws when it cannot be read. */
export type StatusTokenSource = () => Promise<string | undefined>;

export type StatusVerdict = { ok: true } | { ok: false; code: 401 | 503; message: string };

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 addresses. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** The token the request presents: `Authorization: Bearer T` or the ADMIN_TOKEN_HEADER. */
export function presentedToken(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  const m = typeof auth === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth) : null;
  if (m) return m[1];
  const alt = headers[ADMIN_TOKEN_HEADER];
  return typeof alt === 'string' && alt.trim() !== '' ? alt.trim() : undefined;
}

/** Constant-time whatever the lengths: both sides are hashed first, so neither length nor prefix leaks. */
export function tokenMatches(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * May this request read /status? `expected` is what the StatusTokenSource gave (or the Error it
 * threw); `trustLoopback` false (admin.trustLoopback) asks loopback callers for the token too.
 */
export function statusVerdict(
  remoteAddress: string | undefined,
  headers: IncomingHttpHeaders,
  expected: string | undefined | Error,
  trustLoopback = true,
): StatusVerdict {
  if (trustLoopback && isLoopback(remoteAddress)) return { ok: true };
  // Fail closed: a token file that cannot be read does not open /status to everyone.
  if (expected instanceof Error) return { ok: false, code: 503, message: 'the status token cannot be read; see the proxy log' };
  if (expected === undefined) return { ok: true };
  const given = presentedToken(headers);
  if (given === undefined) return { ok: false, code: 401, message: 'a bearer token is needed for /status' };
  return tokenMatches(given, expected) ? { ok: true } : { ok: false, code: 401, message: 'wrong token' };
}

/** The token admin.statusToken or admin.statusTokenFile configures (the file is read each time: a mounted Secret rotates). */
export async function configuredStatusToken(admin: { statusToken?: string | undefined; statusTokenFile?: string | undefined }): Promise<string | undefined> {
  if (admin.statusToken !== undefined) return admin.statusToken;
  if (admin.statusTokenFile === undefined) return undefined;
  const token = (await readFile(admin.statusTokenFile, 'utf8')).trim();
  if (token.length < 16) throw new Error(`admin.statusTokenFile ${admin.statusTokenFile}: the token must be at least 16 characters`);
  return token;
}
