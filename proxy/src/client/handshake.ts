/**
 * The startup phase of one client: SSL negotiation, StartupMessage, CancelRequest and password or
 * SCRAM authentication against the proxy's users. Errors are the ones PostgreSQL gives, so clients
 * and their users see what they would see talking to the database.
 */
import { randomBytes } from 'node:crypto';
import { verifyMd5Response } from '../auth/md5.js';
import { ScramServer } from '../auth/scram.js';
import { ProtocolError } from '../protocol/errors.js';
import {
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

export type HandshakeStep =
  | { kind: 'reply'; bytes: Buffer }
  | { kind: 'tls' } // answer 'S' was sent: upgrade the socket, then expect a new startup packet
  | { kind: 'cancel'; processId: number; secretKey: number }
  /** `prefix`: bytes to send before AuthenticationOk (SCRAM's SASLFinal). */
  | { kind: 'authenticated'; user: string; database: string; params: Map<string, string>; prefix?: Buffer }
  | { kind: 'fail'; sqlstate: string; message: string; reason: SetupFailure };

const enum Phase {
  Startup,
  Password,
  SaslInitial,
  SaslResponse,
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
    if (this.ctx.shuttingDown) {
      return { kind: 'fail', sqlstate: '57P03', message: 'the proxy is shutting down', reason: 'shutdown' };
    }
    const method = this.ctx.authMethod;
    if (method === 'trust') return this.authenticated();
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
