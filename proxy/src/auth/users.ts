/**
 * The store the proxy looks its users up in: each listed user (contract/config/users-file.ts) with
 * the secrets derived from its password, and what it can answer when the database asks.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DEFAULT_SCRAM_ITERATIONS, scramSecretFromPassword, type ScramSecret } from './scram.js';
import { passwordKind, type PasswordKind, type UserEntry } from '../../../contract/config/users-file.js';

export {
  clientAuthProblem,
  parseUsersFile,
  passwordKind,
  UsersFileError,
  type ClientAuthMethod,
  type PasswordKind,
  type UserEntry,
} from '../../../contract/config/users-file.js';

/** What a PostgreSQL server asked the proxy for when it logs in as a user. */
export type BackendAuthRequest = 'cleartext' | 'md5' | 'scram';

/** Raised when a listed user's stored password cannot answer what the database asks for. */
export class BackendPasswordError extends Error {
  override name = 'BackendPasswordError';
}

const KIND_NAME: Record<PasswordKind, string> = { plaintext: 'a plaintext password', md5: 'an MD5 hash', scram: 'a SCRAM verifier' };

/** A listed user with the secrets derived from its password, computed once. */
export class StoredUser {
  readonly kind: PasswordKind;
  private scram: ScramSecret | undefined;

  constructor(
    readonly username: string,
    /** As listed: plaintext, MD5 hash or SCRAM verifier. */
    readonly password: string,
  ) {
    this.kind = passwordKind(password);
  }

  /** The secret SCRAM logins are checked against; undefined for an MD5 hash. */
  scramSecret(): ScramSecret | undefined {
    if (this.kind === 'md5') return undefined;
    // A random salt per process is fine: the salt only has to be stable for one exchange.
    this.scram ??= scramSecretFromPassword(this.password);
    return this.scram;
  }

  /** What MD5 logins are checked against (md5Response accepts the hash); undefined for a verifier. */
  md5Secret(): string | undefined {
    return this.kind === 'scram' ? undefined : this.password;
  }

  /** The password to log in to the database with, or a BackendPasswordError saying why there is none. */
  backendPassword(request: BackendAuthRequest): string {
    if (this.kind === 'plaintext' || (this.kind === 'md5' && request === 'md5')) return this.password;
    throw new BackendPasswordError(
      `the database asks for ${request === 'scram' ? 'SCRAM-SHA-256' : request} authentication for user "${this.username}", ` +
        `but the proxy's users list has only ${KIND_NAME[this.kind]} for it; the proxy needs the plaintext password ` +
        `to log in to the database${this.kind === 'md5' ? ' (an MD5 hash works only when the database uses md5)' : ''}`,
    );
  }
}

/** Users by name. Lookups of unknown users get a mock SCRAM secret so replies do not reveal who exists. */
export class UserStore {
  private readonly users = new Map<string, StoredUser>();
  private readonly mockNonce = randomBytes(32);

  constructor(entries: readonly UserEntry[]) {
    for (const e of entries) this.users.set(e.username, new StoredUser(e.username, e.password));
  }

  get size(): number {
    return this.users.size;
  }

  usernames(): string[] {
    return [...this.users.keys()];
  }

  lookup(username: string): StoredUser | undefined {
    return this.users.get(username);
  }

  /**
   * The SCRAM secret to run an exchange with: the user's, or (unknown user, or one with only an MD5
   * hash) a mock one whose salt is stable per name, as PostgreSQL's scram_mock_salt; `known` false
   * means the exchange must fail whatever the client sends.
   */
  scramSecretFor(username: string): { secret: ScramSecret; known: boolean } {
    const secret = this.users.get(username)?.scramSecret();
    if (secret) return { secret, known: true };
    const salt = createHash('sha256').update(this.mockNonce).update(username).digest().subarray(0, 16);
    return { secret: { iterations: DEFAULT_SCRAM_ITERATIONS, salt, storedKey: randomBytes(32), serverKey: randomBytes(32) }, known: false };
  }
}
