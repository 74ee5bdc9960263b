/**
 * SCRAM-SHA-256 as PostgreSQL speaks it (RFC 5802 / 7677, no channel binding): the server side, for
 * clients logging in to the proxy, and the client side, for the proxy logging in to PostgreSQL.
 * Passwords are used as given (no SASLprep normalisation), which is what PostgreSQL does for
 * passwords that are not valid UTF-8 and gives the same result for ASCII passwords.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ScramSecret {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

export class AuthProtocolError extends Error {
  override name = 'AuthProtocolError';
}

const hmac = (key: Buffer, data: string | Buffer): Buffer => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function saltedPassword(password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
}

export function scramSecretFromPassword(password: string, opts: { salt?: Buffer; iterations?: number } = {}): ScramSecret {
  const salt = opts.salt ?? randomBytes(16);
  const iterations = opts.iterations ?? 4096;
  const salted = saltedPassword(password, salt, iterations);
  return { iterations, salt, storedKey: sha256(hmac(salted, 'Client Key')), serverKey: hmac(salted, 'Server Key') };
}

/** `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>` (what pg_authid stores) → secret, or null. */
export function parseScramVerifier(s: string): ScramSecret | null {
  const m = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(s);
  if (!m) return null;
  const secret = {
    iterations: Number(m[1]),
    salt: Buffer.from(m[2]!, 'base64'),
    storedKey: Buffer.from(m[3]!, 'base64'),
    serverKey: Buffer.from(m[4]!, 'base64'),
  };
  return secret.storedKey.length === 32 && secret.serverKey.length === 32 && secret.iterations > 0 ? secret : null;
}

/** Parses `a=1,b=2` attribute lists; throws AuthProtocolError on anything malformed. */
function attributes(msg: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of msg.split(',')) {
    if (!/^[A-Za-z]=/.test(part)) throw new AuthProtocolError(`malformed SCRAM attribute "${part.slice(0, 20)}"`);
    out.set(part[0]!, part.slice(2));
  }
  return out;
}

const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;

export class ScramServer {
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';

  /** `serverNonce` is for reproducing published test vectors; normally random. */
  constructor(
    private readonly secret: ScramSecret,
    private readonly serverNonce: string = randomBytes(18).toString('base64'),
  ) {}

  handleClientFirst(msg: string): string {
    // gs2 header: "n,," or "y,," (no channel binding); "p=" would ask for binding we do not offer.
    const m = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(msg);
    if (!m) throw new AuthProtocolError('malformed SCRAM client-first-message');
    this.clientFirstBare = m[3]!;
    const attrs = attributes(this.clientFirstBare);
    const clientNonce = attrs.get('r');
    if (!clientNonce || !PRINTABLE.test(clientNonce)) throw new AuthProtocolError('SCRAM client-first-message has no valid nonce');
    this.nonce = clientNonce + this.serverNonce;
    this.serverFirst = `r=${this.nonce},s=${this.secret.salt.toString('base64')},i=${this.secret.iterations}`;
    return this.serverFirst;
  }

  handleClientFinal(msg: string): { ok: true; serverFinal: string } | { ok: false; reason: string } {
    const at = msg.lastIndexOf(',p=');
    if (at < 0 || !this.serverFirst) return { ok: false, reason: 'malformed SCRAM client-final-message' };
    const withoutProof = msg.slice(0, at);
    let attrs: Map<string, string>;
    try {
      attrs = attributes(withoutProof);
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
    if (attrs.get('r') !== this.nonce) return { ok: false, reason: 'SCRAM nonce mismatch' };
    const proof = Buffer.from(msg.slice(at + 3), 'base64');
    if (proof.length !== 32) return { ok: false, reason: 'malformed SCRAM proof' };
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.secret.storedKey, authMessage);
    const clientKey = xor(proof, clientSignature);
    if (!timingSafeEqual(sha256(clientKey), this.secret.storedKey)) return { ok: false, reason: 'wrong password' };
    return { ok: true, serverFinal: `v=${hmac(this.secret.serverKey, authMessage).toString('base64')}` };
  }
}

export class ScramClient {
  private clientFirstBare = '';
  private expectedServerSignature: Buffer | undefined;

  constructor(
    private readonly password: string,
    private readonly clientNonce: string = randomBytes(18).toString('base64'),
    private readonly user = '*',
  ) {}

  clientFirst(): string {
    this.clientFirstBare = `n=${this.user},r=${this.clientNonce}`;
    return `n,,${this.clientFirstBare}`;
  }

  handleServerFirst(msg: string): string {
    const attrs = attributes(msg);
    const nonce = attrs.get('r');
    const salt = attrs.get('s');
    const iterations = Number(attrs.get('i'));
    if (!nonce?.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length) {
      throw new AuthProtocolError('SCRAM server nonce does not extend the client nonce');
    }
    if (!salt || !Number.isInteger(iterations) || iterations <= 0) throw new AuthProtocolError('malformed SCRAM server-first-message');
    const salted = saltedPassword(this.password, Buffer.from(salt, 'base64'), iterations);
    const clientKey = hmac(salted, 'Client Key');
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${msg},${withoutProof}`;
    const proof = xor(clientKey, hmac(sha256(clientKey), authMessage));
    this.expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  verifyServerFinal(msg: string): void {
    const attrs = attributes(msg);
    if (attrs.has('e')) throw new AuthProtocolError(`SCRAM authentication failed: ${attrs.get('e')}`);
    const v = Buffer.from(attrs.get('v') ?? '', 'base64');
    if (!this.expectedServerSignature || v.length !== 32 || !timingSafeEqual(v, this.expectedServerSignature)) {
      throw new AuthProtocolError('the database server did not prove it knows the password (SCRAM server signature mismatch)');
    }
  }
}
