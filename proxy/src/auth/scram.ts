/**
 * SCRAM-SHA-256 as PostgreSQL speaks it (RFC 5802 / 7677, no channel binding): the server side, for
 * clients logging in to the proxy, and the client side, for the proxy logging in to PostgreSQL.
 * Passwords go through SASLprep-lite (./saslprep.ts) exactly where PostgreSQL and libpq apply theirs,
 * so a non-ASCII password derives the same keys on every side.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { BASE64, parseScramVerifier, type ScramSecret } from '../../../contract/config/password-formats.js';
import { ProtocolError } from '../protocol/errors.js';
import { saslprep } from './saslprep.js';

export { formatScramVerifier, parseScramVerifier, type ScramSecret } from '../../../contract/config/password-formats.js';

/**
 * A malformed or out-of-order SCRAM message; the only error this module throws. A protocol
 * violation of that one client (08P01, as PostgreSQL answers a malformed SCRAM message), not a
 * failure of the proxy: the session ends that client with it and logs a warning, not an error.
 */
export class AuthProtocolError extends ProtocolError {
  override name = 'AuthProtocolError';
}

/** PostgreSQL's default scram_iterations. */
export const DEFAULT_SCRAM_ITERATIONS = 4096;

const hmac = (key: Buffer, data: string | Buffer): Buffer => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();
/** RFC 5802 `printable`: %x21-2B / %x2D-7E (no comma). */
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function decodeBase64(s: string | undefined, what: string): Buffer {
  if (s === undefined || s === '' || !BASE64.test(s)) throw new AuthProtocolError(`malformed SCRAM ${what}: not base64`);
  return Buffer.from(s, 'base64');
}

function saltedPassword(password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(Buffer.from(saslprep(password), 'utf8'), salt, iterations, 32, 'sha256');
}

/**
 * The server-side secret for a password. As PostgreSQL's `CREATE ROLE … PASSWORD` does, a string that
 * already is a SCRAM verifier is taken as that verifier (and `opts` are ignored): a stored verifier
 * is never accepted as if it were the password itself.
 */
export function scramSecretFromPassword(password: string, opts: { salt?: Buffer; iterations?: number } = {}): ScramSecret {
  const verifier = parseScramVerifier(password);
  if (verifier) return verifier;
  const salt = opts.salt ?? randomBytes(16);
  const iterations = opts.iterations ?? DEFAULT_SCRAM_ITERATIONS;
  const salted = saltedPassword(password, salt, iterations);
  return { iterations, salt, storedKey: sha256(hmac(salted, 'Client Key')), serverKey: hmac(salted, 'Server Key') };
}

/** Parses `a=1,b=2` attribute lists in order; throws AuthProtocolError on anything malformed. */
function attributes(msg: string, what: string): [string, string][] {
  return msg.split(',').map((part) => {
    if (!/^[A-Za-z]=/.test(part)) throw new AuthProtocolError(`malformed SCRAM ${what}: bad attribute "${part.slice(0, 20)}"`);
    return [part[0]!, part.slice(2)];
  });
}

/** The value of attribute `name` at position `index`, as RFC 5802 fixes the order. */
function attrAt(attrs: [string, string][], index: number, name: string, what: string): string {
  const a = attrs[index];
  if (a?.[0] !== name) throw new AuthProtocolError(`malformed SCRAM ${what}: expected attribute "${name}"`);
  return a[1];
}

type ClientFinalResult = { ok: true; serverFinal: string } | { ok: false; reason: string };

/** One SCRAM exchange, proxy as server. Methods throw only AuthProtocolError. */
export class ScramServer {
  private gs2Header = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  private finished = false;

  /** `serverNonce` is for reproducing published test vectors; normally random. */
  constructor(
    private readonly secret: ScramSecret,
    private readonly serverNonce: string = randomBytes(18).toString('base64'),
  ) {}

  /** Takes the SASLInitialResponse data; returns the server-first-message. */
  handleClientFirst(msg: string): string {
    if (this.serverFirst) throw new AuthProtocolError('unexpected second SCRAM client-first-message');
    // gs2 header: "n,," or "y,," (no channel binding); "p=…" asks for binding we do not offer.
    const m = /^([nyp])(=[^,]*)?,([^,]*),(.*)$/s.exec(msg);
    if (!m) throw new AuthProtocolError('malformed SCRAM client-first-message');
    if (m[1] === 'p' || m[2] !== undefined) throw new AuthProtocolError('SCRAM channel binding is not supported by the proxy (use SCRAM-SHA-256)');
    if (m[3] !== '') throw new AuthProtocolError('SCRAM authorization identity (a=) is not supported');
    const bare = m[4]!;
    const attrs = attributes(bare, 'client-first-message');
    if (attrs[0]?.[0] === 'm') throw new AuthProtocolError('SCRAM mandatory extensions (m=) are not supported');
    attrAt(attrs, 0, 'n', 'client-first-message'); // the user name: PostgreSQL ignores it (startup has it)
    const clientNonce = attrAt(attrs, 1, 'r', 'client-first-message');
    if (!PRINTABLE.test(clientNonce)) throw new AuthProtocolError('malformed SCRAM client-first-message: invalid nonce');
    this.gs2Header = `${m[1]},,`;
    this.clientFirstBare = bare;
    this.nonce = clientNonce + this.serverNonce;
    this.serverFirst = `r=${this.nonce},s=${this.secret.salt.toString('base64')},i=${this.secret.iterations}`;
    return this.serverFirst;
  }

  /** Takes the SASLResponse data; never throws: a malformed message is simply a failed login. */
  handleClientFinal(msg: string): ClientFinalResult {
    if (!this.serverFirst || this.finished) return { ok: false, reason: 'unexpected SCRAM client-final-message' };
    this.finished = true;
    try {
      return this.verifyClientFinal(msg);
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }

  private verifyClientFinal(msg: string): ClientFinalResult {
    const what = 'client-final-message';
    const at = msg.lastIndexOf(',p=');
    if (at < 0) throw new AuthProtocolError(`malformed SCRAM ${what}: no proof`);
    const withoutProof = msg.slice(0, at);
    const attrs = attributes(withoutProof, what);
    const binding = decodeBase64(attrAt(attrs, 0, 'c', what), 'channel binding');
    if (!binding.equals(Buffer.from(this.gs2Header))) return { ok: false, reason: 'SCRAM channel binding does not match' };
    if (attrAt(attrs, 1, 'r', what) !== this.nonce) return { ok: false, reason: 'SCRAM nonce mismatch' };
    const proof = decodeBase64(msg.slice(at + 3), 'proof');
    if (proof.length !== 32) return { ok: false, reason: 'malformed SCRAM proof' };
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientKey = xor(proof, hmac(this.secret.storedKey, authMessage));
    if (!timingSafeEqual(sha256(clientKey), this.secret.storedKey)) return { ok: false, reason: 'wrong password' };
    return { ok: true, serverFinal: `v=${hmac(this.secret.serverKey, authMessage).toString('base64')}` };
  }
}

/** RFC 5802 saslname: "=" and "," are escaped. */
const saslname = (s: string): string => s.replace(/=/g, '=3D').replace(/,/g, '=2C');

/** One SCRAM exchange, proxy as client of PostgreSQL. Methods throw only AuthProtocolError. */
export class ScramClient {
  private clientFirstBare = '';
  private expectedServerSignature: Buffer | undefined;

  /**
   * `clientNonce` is for reproducing published test vectors; normally random. `user` goes into the
   * message only for the RFC vectors: PostgreSQL takes the user from the startup packet, and libpq
   * sends it empty, as we do by default.
   */
  constructor(
    private readonly password: string,
    private readonly clientNonce: string = randomBytes(18).toString('base64'),
    private readonly user = '',
  ) {}

  clientFirst(): string {
    this.clientFirstBare = `n=${saslname(this.user)},r=${this.clientNonce}`;
    return `n,,${this.clientFirstBare}`;
  }

  /** Takes the server-first-message (AuthenticationSASLContinue); returns the client-final-message. */
  handleServerFirst(msg: string): string {
    const what = 'server-first-message';
    if (!this.clientFirstBare) throw new AuthProtocolError('SCRAM server-first-message before client-first-message');
    const attrs = attributes(msg, what);
    if (attrs[0]?.[0] === 'm') throw new AuthProtocolError('SCRAM mandatory extensions (m=) are not supported');
    const nonce = attrAt(attrs, 0, 'r', what);
    if (!nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length || !PRINTABLE.test(nonce)) {
      throw new AuthProtocolError('SCRAM server nonce does not extend the client nonce');
    }
    const salt = decodeBase64(attrAt(attrs, 1, 's', what), 'salt');
    const iterText = attrAt(attrs, 2, 'i', what);
    const iterations = Number(iterText);
    if (!/^[1-9]\d{0,8}$/.test(iterText)) throw new AuthProtocolError(`malformed SCRAM ${what}: invalid iteration count`);
    const salted = saltedPassword(this.password, salt, iterations);
    const clientKey = hmac(salted, 'Client Key');
    const withoutProof = `c=biws,r=${nonce}`; // biws = base64("n,,")
    const authMessage = `${this.clientFirstBare},${msg},${withoutProof}`;
    const proof = xor(clientKey, hmac(sha256(clientKey), authMessage));
    this.expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Checks the server-final-message (AuthenticationSASLFinal); throws unless the server proved the password. */
  verifyServerFinal(msg: string): void {
    const attrs = attributes(msg, 'server-final-message');
    const [name, value] = attrs[0]!;
    if (name === 'e') throw new AuthProtocolError(`SCRAM authentication failed: ${value}`);
    const v = name === 'v' && BASE64.test(value) ? Buffer.from(value, 'base64') : Buffer.alloc(0);
    if (!this.expectedServerSignature || v.length !== 32 || !timingSafeEqual(v, this.expectedServerSignature)) {
      throw new AuthProtocolError('the database server did not prove it knows the password (SCRAM server signature mismatch)');
    }
  }
}
