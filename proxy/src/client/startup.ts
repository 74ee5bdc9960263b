/**
 * The startup phase of one client connection, before the session machine exists: SSL negotiation
 * and the TLS upgrade, the handshake's replies, cancel requests, and the welcome (ParameterStatus,
 * BackendKeyData, ReadyForQuery) once the pool knows what its server reports.
 */
import type tls from 'node:tls';
import type { Conn } from '../io/conn.js';
import { ProtocolError } from '../protocol/errors.js';
import { FrameMode, type ClientFramer } from '../protocol/framer.js';
import { backendKeyData, parameterStatus, readyForQuery, type ErrorInfo } from '../protocol/messages.js';
import { FRONTEND_TYPES } from '../session/frontend.js';
import type { SessionContext } from './context.js';
import { Handshake, type HandshakeStep } from './handshake.js';
import type { SetupFailure } from './setup-failure.js';
import type { PeerCertificate } from '../tls/client-tls.js';

/** Parameters PostgreSQL reports to clients; a client's own value wins over the pool's. */
const REPORTED = ['application_name', 'client_encoding', 'DateStyle', 'IntervalStyle', 'TimeZone'];

export interface StartupOwner {
  conn(): Conn;
  secure(): boolean;
  /** The client's certificate, once the connection runs over TLS. */
  peer(): PeerCertificate | undefined;
  /** The socket is closed or closing (an answer that arrives later is dropped). */
  closed(): boolean;
  /** From now on the connection runs over TLS with `context`. */
  upgradeToTls(context: tls.SecureContext): void;
  closeSocket(fatal?: ErrorInfo): void;
  setupFailed(reason: SetupFailure): void;
  /** The StartupMessage was taken and a password or SASL exchange begins (the authentication timeout's start). */
  authenticating(): void;
  authenticated(user: string, database: string, params: Map<string, string>, prefix?: Buffer): void;
}

export class StartupPhase {
  phase: 'startup' | 'authenticating' = 'startup';
  private readonly handshake: Handshake;
  private upgradeRequested = false;
  /**
   * Set for a connection past limits.maxClientConnections: SSL negotiation and cancel requests go
   * on as usual, whatever follows a StartupMessage is this error instead (as PostgreSQL does).
   */
  refusal: ErrorInfo | undefined;

  constructor(
    private readonly ctx: SessionContext,
    private readonly framer: ClientFramer,
    private readonly owner: StartupOwner,
  ) {
    this.handshake = new Handshake(
      ctx,
      () => owner.secure(),
      () => owner.peer(),
    );
  }

  onMessage(buf: Buffer, start: number, end: number): void {
    const startup = this.phase === 'startup' && this.framer.mode === FrameMode.Startup;
    this.onStep(startup ? this.handshake.onStartupPacket(buf, start, end) : this.handshake.onMessage(buf, start, end));
  }

  /** After a chunk was framed: an SSLRequest answered 'S' switches the socket to TLS here. */
  afterChunk(): void {
    if (!this.upgradeRequested) return;
    this.upgradeRequested = false;
    if (this.framer.takeRemainder().length > 0) throw new ProtocolError('received unencrypted data after SSL request');
    this.owner.upgradeToTls(this.ctx.tls!);
  }

  private onStep(step: HandshakeStep): void {
    if (this.refusal && (step.kind === 'authenticated' || step.kind === 'fail' || (step.kind === 'reply' && step.bytes.length > 1))) {
      step = { kind: 'fail', sqlstate: this.refusal.code, message: this.refusal.message, reason: 'limits' };
    }
    switch (step.kind) {
      case 'reply':
        this.owner.conn().write(step.bytes);
        if (this.framer.mode === FrameMode.Startup && step.bytes.length > 1) {
          this.framer.mode = FrameMode.Typed;
          this.phase = 'authenticating';
          this.owner.authenticating();
        }
        return;
      case 'tls':
        this.owner.conn().write(Buffer.from('S'));
        this.framer.detach();
        this.upgradeRequested = true;
        return;
      case 'cancel':
        this.ctx.cancel(step.processId, step.secretKey);
        return this.owner.closeSocket();
      case 'fail':
        this.owner.setupFailed(step.reason);
        return this.owner.closeSocket({ severity: 'FATAL', code: step.sqlstate, message: step.message });
      case 'wait':
        // The client waits for the answer too; a connection closed meanwhile drops it.
        void step.next
          .then((next) => {
            if (!this.owner.closed()) this.onStep(next);
          })
          .catch((err: Error) => {
            this.ctx.log.error({ err: err.message }, 'client authentication failed');
            this.owner.setupFailed('auth');
            this.owner.closeSocket({ severity: 'FATAL', code: 'XX000', message: 'internal error during authentication' });
          });
        return;
      case 'authenticated':
        this.framer.mode = FrameMode.Typed;
        this.framer.validTypes = FRONTEND_TYPES;
        return this.owner.authenticated(step.user, step.database, step.params, step.prefix);
    }
  }
}

/** What a client is told once authenticated: the server's parameters (with its own), its key, Z; after `before` (AuthenticationOk), in one buffer for one write. */
export function welcomeMessages(
  server: ReadonlyMap<string, string>,
  startup: ReadonlyMap<string, string>,
  keys: { processId: number; secretKey: number },
  before: readonly Buffer[] = [],
): Buffer {
  const parts: Buffer[] = [...before];
  for (const p of statusMessages(server)) {
    const own = p.reported ? (startup.get(p.name) ?? startup.get(p.name.toLowerCase())) : undefined;
    parts.push(own === undefined || own === p.value ? p.bytes : parameterStatus(p.name, own));
  }
  parts.push(backendKeyData(keys.processId, keys.secretKey), READY_IDLE);
  return Buffer.concat(parts);
}

interface StatusMessage {
  name: string;
  value: string;
  reported: boolean;
  bytes: Buffer;
}

/**
 * A pool's server parameters as ParameterStatus messages, encoded once per map, not per client (a
 * backend's map is complete, and no longer changes, when its open resolves; the pool keeps the first).
 */
const encoded = new WeakMap<ReadonlyMap<string, string>, readonly StatusMessage[]>();
const READY_IDLE = readyForQuery('I');

function statusMessages(server: ReadonlyMap<string, string>): readonly StatusMessage[] {
  let list = encoded.get(server);
  if (list === undefined) {
    list = [...server].map(([name, value]) => ({ name, value, reported: REPORTED.includes(name), bytes: parameterStatus(name, value) }));
    encoded.set(server, list);
  }
  return list;
}
