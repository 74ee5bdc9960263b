/**
 * The startup phase of one client: SSL negotiation, StartupMessage, CancelRequest and password or
 * SCRAM authentication against the proxy's users. Errors are the ones PostgreSQL gives, so clients
 * and their users see what they would see talking to the database.
 */
import { randomBytes } from 'node:crypto';
import { cleartextMatches } from '../auth/cleartext.js';
import { looksLikeJwt } from '../auth/identity-rules.js';
import type { IdentityVerdict } from '../auth/kube-identity.js';
import { verifyMd5Response } from '../auth/md5.js';
import { ScramServer } from '../auth/scram.js';
import { ProtocolError } from '../protocol/errors.js';
import {
  authenticationCleartextPassword,
  authenticationMD5Password,
  authenticationSASL,
  authenticationSASLContinue,
  authenticationSASLFinal,
  FrontendCode,
  decodeStartupPacket,
  readCString,
} from '../protocol/messages.js';
import type { SessionContext } from './context.js';
import type { SetupFailure } from './setup-failure.js';
import { checkClientCertificate, type PeerCertificate } from '../tls/client-tls.js';

export type HandshakeStep =
  | { kind: 'reply'; bytes: Buffer }
  | { kind: 'tls' } // answer 'S' was sent: upgrade the socket, then expect a new startup packet
  | { kind: 'cancel'; processId: number; secretKey: number }
  /** `prefix`: bytes to send before AuthenticationOk (SCRAM's SASLFinal). */
  | { kind: 'authenticated'; user: string; database: string; params: Map<string, string>; prefix?: Buffer }
  | { kind: 'fail'; sqlstate: string; message: string; reason: SetupFailure }
  /** An answer that needs a round trip (a TokenReview); `next` never rejects. */
  | { kind: 'wait'; next: Promise<HandshakeStep> };

const enum Phase {
  Startup,
  Password,
  SaslInitial,
  SaslResponse,
  /** Asked for a cleartext password: a Kubernetes token, or the user's password. */
  Cleartext,
  /** A TokenReview runs; the client must wait for the answer. */
  Reviewing,
}

export class Handshake {
  private phase = Phase.Startup;
  private tlsDone = false;
  private params = new Map<string, string>();
  private salt: Buffer | undefined;
  private scram: ScramServer | undefined;

  constructor(
    private readonly ctx: SessionContext,
    private readonly encrypted: () => boolean,
    /** The client's TLS certificate (tls.clientCertificates checks it). */
    private readonly peer: () => PeerCertificate | undefined = () => undefined,
  ) {}

  get user(): string {
    return this.params.get('user') ?? '';
  }

  onStartupPacket(buf: Buffer, start: number, end: number): HandshakeStep {
    const packet = decodeStartupPacket(buf, start, end);
    switch (packet.kind) {
      case 'ssl':
        if (this.tlsDone) throw new ProtocolError('SSLRequest after TLS was established');
        if (this.ctx.tls) {
          this.tlsDone = true;
          return { kind: 'tls' };
        }
        return { kind: 'reply', bytes: Buffer.from('N') };
      case 'gssenc':
        return { kind: 'reply', bytes: Buffer.from('N') };
      case 'cancel':
        return { kind: 'cancel', processId: packet.processId, secretKey: packet.secretKey };
      case 'startup':
        return this.onStartup(packet.params);
    }
  }

  private onStartup(params: Map<string, string>): HandshakeStep {
    this.params = params;
    const user = params.get('user')!;
    if (!params.get('database')) params.set('database', user);
    if (params.has('replication') && params.get('replication') !== 'false' && params.get('replication') !== '0') {
      return { kind: 'fail', sqlstate: '0A000', message: 'replication connections are not supported by the proxy', reason: 'unsupported' };
    }
    if (this.ctx.requireTls && !this.encrypted()) {
      return {
        kind: 'fail',
        sqlstate: '28000',
        message: `no encryption: the proxy requires TLS for user "${user}" (connect with sslmode=require)`,
        reason: 'tls',
      };
    }
    // As PostgreSQL's clientcert: before any password, whatever the auth method; a plaintext client has no certificate.
    const certProblem = checkClientCertificate(this.ctx.clientCertificates, this.encrypted() ? this.peer() : undefined, user);
    if (certProblem !== undefined) return { kind: 'fail', sqlstate: '28000', message: certProblem, reason: 'tls' };
    if (this.ctx.shuttingDown) {
      return { kind: 'fail', sqlstate: '57P03', message: 'the proxy is shutting down', reason: 'shutdown' };
    }
    const method = this.ctx.authMethod;
    if (method === 'trust') return this.authenticated();
    // Users named in the Kubernetes identity rules are asked for a cleartext password (a token or
    // their password) — on TLS only, unless the config allows plaintext: elsewhere they get scram/md5.
    const identity = this.ctx.identity;
    if (identity?.covers(user) && (this.encrypted() || identity.allowPlaintext)) {
      this.phase = Phase.Cleartext;
      return { kind: 'reply', bytes: authenticationCleartextPassword() };
    }
    if (method === 'md5') {
      this.salt = randomBytes(4);
      this.phase = Phase.Password;
      return { kind: 'reply', bytes: authenticationMD5Password(this.salt) };
    }
    // SCRAM: an unknown user still gets a full exchange (with a mock secret), so the reply does not
    // reveal which user names exist — as PostgreSQL does. Secrets are derived once per user, not
    // per login (PBKDF2 would dominate connection-per-transaction workloads).
    const { secret, known } = this.ctx.users.scramSecretFor(user);
    this.scram = new ScramServer(secret);
    this.knownUser = known;
    this.phase = Phase.SaslInitial;
    return { kind: 'reply', bytes: authenticationSASL(['SCRAM-SHA-256']) };
  }

  private knownUser = false;

  onMessage(buf: Buffer, start: number, end: number): HandshakeStep {
    if (buf[start] !== FrontendCode.PasswordMessage) {
      throw new ProtocolError(`expected password response, got message type "${String.fromCharCode(buf[start]!)}"`);
    }
    const body = buf.subarray(start + 5, end);
    switch (this.phase) {
      case Phase.Password:
        return this.onPassword(body);
      case Phase.SaslInitial:
        return this.onSaslInitial(body);
      case Phase.SaslResponse:
        return this.onSaslResponse(body);
      case Phase.Cleartext:
        return this.onCleartext(body);
      default:
        throw new ProtocolError('unexpected message during startup');
    }
  }

  private onPassword(body: Buffer): HandshakeStep {
    const [response] = readCString(body, 0, body.length);
    const secret = this.ctx.users.lookup(this.user)?.md5Secret();
    if (secret === undefined || !verifyMd5Response(this.user, secret, this.salt!, response)) return this.passwordFailed();
    return this.authenticated();
  }

  /** A JWT-shaped password is a Kubernetes token (TokenReview); anything else is the user's password. */
  private onCleartext(body: Buffer): HandshakeStep {
    const [password] = readCString(body, 0, body.length);
    if (looksLikeJwt(password)) {
      this.phase = Phase.Reviewing;
      return { kind: 'wait', next: this.ctx.identity!.verify(password, this.user).then((v) => this.afterReview(v)) };
    }
    const stored = this.ctx.users.lookup(this.user);
    if (stored === undefined || !cleartextMatches(stored, password)) return this.passwordFailed();
    return this.authenticated();
  }

  private afterReview(v: IdentityVerdict): HandshakeStep {
    if (!v.ok) return { kind: 'fail', sqlstate: v.sqlstate, message: v.message, reason: 'auth' };
    return this.authenticated();
  }

  private onSaslInitial(body: Buffer): HandshakeStep {
    const [mechanism, at] = readCString(body, 0, body.length);
    if (mechanism !== 'SCRAM-SHA-256') {
      return { kind: 'fail', sqlstate: '28000', message: `client selected an invalid SASL authentication mechanism`, reason: 'auth' };
    }
    if (body.length < at + 4) throw new ProtocolError('malformed SASLInitialResponse message');
    const len = body.readInt32BE(at);
    const data = len < 0 ? '' : body.toString('utf8', at + 4, at + 4 + len);
    this.phase = Phase.SaslResponse;
    return { kind: 'reply', bytes: authenticationSASLContinue(this.scram!.handleClientFirst(data)) };
  }

  private onSaslResponse(body: Buffer): HandshakeStep {
    const result = this.scram!.handleClientFinal(body.toString('utf8'));
    if (!result.ok || !this.knownUser) return this.passwordFailed();
    return this.authenticated(authenticationSASLFinal(result.serverFinal));
  }

  private authenticated(prefix?: Buffer): HandshakeStep {
    const step: HandshakeStep = { kind: 'authenticated', user: this.user, database: this.params.get('database')!, params: this.params };
    if (prefix) step.prefix = prefix;
    return step;
  }

  private passwordFailed(): HandshakeStep {
    return { kind: 'fail', sqlstate: '28P01', message: `password authentication failed for user "${this.user}"`, reason: 'auth' };
  }
}
