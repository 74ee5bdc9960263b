/**
 * The stored password formats PostgreSQL's pg_authid uses, told apart and parsed without any crypto:
 * what the proxy's users list may hold (the proxy checks logins with them; the operator checks a
 * rendered config with them).
 */
/** Strict base64 (padding required), as SCRAM attributes and verifiers use it. */
export const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** What pg_authid stores for MD5 (lowercase hex only, as PostgreSQL recognizes it). */
const MD5_HASH = /^md5[0-9a-f]{32}$/;

/** True for a stored MD5 hash ("md5" + 32 lowercase hex digits), as PostgreSQL decides it. */
export function isMd5Hash(s: string): boolean {
  return MD5_HASH.test(s);
}

export interface ScramSecret {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>` (what pg_authid stores) → secret, or null. */
export function parseScramVerifier(s: string): ScramSecret | null {
  const m = /^SCRAM-SHA-256\$(\d{1,9}):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(s);
  if (!m || !BASE64.test(m[2]!) || !BASE64.test(m[3]!) || !BASE64.test(m[4]!)) return null;
  const secret = {
    iterations: Number(m[1]),
    salt: Buffer.from(m[2]!, 'base64'),
    storedKey: Buffer.from(m[3]!, 'base64'),
    serverKey: Buffer.from(m[4]!, 'base64'),
  };
  const ok = secret.storedKey.length === 32 && secret.serverKey.length === 32 && secret.salt.length > 0 && secret.iterations > 0;
  return ok ? secret : null;
}

/** The pg_authid text of a secret (the inverse of parseScramVerifier). */
export function formatScramVerifier(s: ScramSecret): string {
  const b64 = (b: Buffer) => b.toString('base64');
  return `SCRAM-SHA-256$${s.iterations}:${b64(s.salt)}$${b64(s.storedKey)}:${b64(s.serverKey)}`;
}
