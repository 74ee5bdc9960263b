/** PostgreSQL's MD5 password scheme: "md5" + md5(md5(password + user) + salt). */
import { createHash, timingSafeEqual } from 'node:crypto';

import { isMd5Hash } from '../../../contract/config/password-formats.js';

export { isMd5Hash };

const md5 = (data: string | Buffer): string => createHash('md5').update(data).digest('hex');

/** What pg_authid stores for MD5: "md5" + md5(password + username). */
export function md5PasswordHash(user: string, password: string): string {
  return 'md5' + md5(password + user);
}

/**
 * The PasswordMessage a client sends for AuthenticationMD5Password. Accepts the stored hash instead
 * of the password, as PostgreSQL does (which is why an MD5 hash is as good as the password).
 */
export function md5Response(user: string, passwordOrHash: string, salt: Buffer): string {
  const inner = isMd5Hash(passwordOrHash) ? passwordOrHash.slice(3) : md5(passwordOrHash + user);
  return 'md5' + md5(Buffer.concat([Buffer.from(inner), salt]));
}

/** Proxy as server: does `response` prove knowledge of the password (or hash) for this salt? */
export function verifyMd5Response(user: string, passwordOrHash: string, salt: Buffer, response: string): boolean {
  const expected = Buffer.from(md5Response(user, passwordOrHash, salt));
  const got = Buffer.from(response);
  return expected.length === got.length && timingSafeEqual(expected, got);
}
