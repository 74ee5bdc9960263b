/**
 * Checks a password a client sent in clear (AuthenticationCleartextPassword, asked of users that may
 * also give a Kubernetes token) against the stored one: plaintext, MD5 hash or SCRAM verifier, as
 * PostgreSQL's password auth does. A stored hash or verifier given as the password never matches.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { parseScramVerifier } from '../../../contract/config/password-formats.js';
import { md5PasswordHash } from './md5.js';
import { scramSecretFromPassword } from './scram.js';
import type { StoredUser } from './users.js';

const digest = (s: string | Buffer): Buffer => createHash('sha256').update(s).digest();
/** Equal length by hashing first, so the comparison does not leak the stored length. */
const same = (a: string | Buffer, b: string | Buffer): boolean => timingSafeEqual(digest(a), digest(b));

export function cleartextMatches(stored: StoredUser, password: string): boolean {
  switch (stored.kind) {
    case 'plaintext':
      return same(stored.password, password);
    case 'md5':
      return same(stored.password, md5PasswordHash(stored.username, password));
    case 'scram': {
      if (parseScramVerifier(password)) return false;
      const secret = stored.scramSecret()!;
      const derived = scramSecretFromPassword(password, { salt: secret.salt, iterations: secret.iterations });
      return same(secret.storedKey, derived.storedKey);
    }
  }
}
