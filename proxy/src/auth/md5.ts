/** PostgreSQL's MD5 password scheme: "md5" + md5(md5(password + user) + salt). */
import { createHash } from 'node:crypto';

const md5 = (data: string | Buffer): string => createHash('md5').update(data).digest('hex');

/** What pg_authid stores for MD5: "md5" + md5(password + username). */
export function md5PasswordHash(user: string, password: string): string {
  return 'md5' + md5(password + user);
}

/** The PasswordMessage a client sends for AuthenticationMD5Password; accepts a stored hash too. */
export function md5Response(user: string, passwordOrHash: string, salt: Buffer): string {
  const inner = /^md5[0-9a-f]{32}$/.test(passwordOrHash) ? passwordOrHash.slice(3) : md5(passwordOrHash + user);
  return 'md5' + md5(Buffer.concat([Buffer.from(inner), salt]));
}
