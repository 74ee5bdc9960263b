/** One server connection: connect (TLS per backendTls), authenticate, startup, and the state the session machine keeps on it. */
import { serialize } from 'pg-protocol';
import { ScramClient } from '../auth/scram.js';
import { md5Response } from '../auth/md5.js';
import type { Conn, Mover } from '../io/conn.js';
import { connectConn } from '../io/movers.js';
import { ClientFramer, FrameMode } from '../protocol/framer.js';
import { BackendCode, decodeErrorFields, decodeParameterStatus, readCString, type ErrorFields } from '../protocol/messages.js';
import { ServerScanner, type ServerMessageVisitor } from '../protocol/server-scanner.js';
import { ReplyLedger } from '../session/ledger.js';
import type { BackendState } from '../session/machine.js';
import { BackendStatements } from '../session/statements.js';
import { PermanentOpenError } from '../pool/pool.js';
import { wantsSsl, type BackendTls } from '../../../contract/config/backend-tls.js';
import { negotiateTls } from './secure.js';

export interface Endpoint {
  host: string;
  port: number;
}

export interface BackendOptions {
  target: Endpoint;
  user: string;
  database: string;
  /** The password for the kind of authentication the database asks for; undefined if none. */
  password: (request: 'cleartext' | 'md5' | 'scram') => string | undefined;
  initQuery: string | undefined;
  connectTimeoutMs: number;
  generation: number;
  /** Which mover carries the connection's bytes (TLS moves them to Node's sockets). */
  mover: Mover;
  /** TLS to the server (backendTls); undefined: plaintext, as sslmode disable. */
  tls?: BackendTls | undefined;
}

/** An error the database sent while the proxy opened a connection. */
export class BackendStartupError extends Error {
  constructor(
    message: string,
    readonly fields: ErrorFields | undefined,
  ) {
    super(message);
    this.name = 'BackendStartupError';
  }
}

const PERMANENT = new Set(['28P01', '28000', '3D000', '42704', '0A000']);

let nextBackendId = 1;

/** Whoever holds a backend receives its bytes and learns when it dies. */
export interface BackendOwner {
  onBackendData(chunk: Buffer): void;
  onBackendLost(reason: string): void;
  onCancelDone?(backend: BackendConnection): void;
}

/** Messages a server may send at any time (NoticeResponse, ParameterStatus, NotificationResponse). */
const ASYNC = new Set([0x4e, 0x53, 0x41]);

/**
 * One server connection after startup. The session that holds it owns the byte flow; this object
 * carries what the proxy knows about the server's side: its key for cancels, the parameters it
 * reported, the reply ledger, the settings applied to it, its prepared statements, its generation.
 */
export class BackendConnection implements BackendState {
  readonly id = nextBackendId++;
  /** When the connection was ready (the admin console's SHOW SERVERS). */
  readonly openedAt = Date.now();
  owner: BackendOwner | undefined;
  readonly scanner: ServerScanner;
  readonly ledger = new ReplyLedger();
  readonly statements = new BackendStatements();
  /** Session parameters applied with SET on this connection (name → SQL value text). */
  params: Map<string, string> = new Map();
  cancels = 0;
  closed = false;
  lastUsed = Date.now();
  /** While nobody holds it, the server sent something other than a notice: never reuse it. */
  stray = false;
  /** The type of the first such message, for the log. */
  strayType: string | undefined;
  /**
   * The scanner's visitor while nobody holds the backend: notices are dropped; any other message
   * is a reply the proxy did not expect (its model of the connection was wrong), so the backend is
   * closed instead of serving another client.
   */
  readonly unowned: ServerMessageVisitor = {
    begin: (type) => {
      if (!ASYNC.has(type) && !this.stray) {
        this.stray = true;
        this.strayType = String.fromCharCode(type);
      }
      return false;
    },
    end: () => {},
  };

  constructor(
    readonly conn: Conn,
    readonly target: Endpoint,
    readonly generation: number,
    readonly processId: number,
    readonly secretKey: number,
    readonly serverParams: ReadonlyMap<string, string>,
  ) {
    this.scanner = new ServerScanner(this.unowned);
    const want = this.scanner.wantBody;
    want[BackendCode.ReadyForQuery] = 1;
    want[BackendCode.ErrorResponse] = 1;
    want[BackendCode.CommandComplete] = 1;
  }

  /**
   * Closes the connection: Terminate after whatever was already written, so the server reads and
   * runs it all first (as for a client that quits) and logs a clean exit; cut after a grace period.
   */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    const conn = this.conn;
    if (!conn.writable) return void conn.destroy();
    conn.end(serialize.end());
    const t = setTimeout(() => conn.destroy(), 5_000);
    t.unref();
    this.onClosed = () => clearTimeout(t);
  }

  /** Why the proxy aborted the connection, for the client of a request it cut. */
  abortReason: string | undefined;

  /** Ends the connection at once, without a Terminate: for a server that may be gone (a failover). */
  abort(reason: string): void {
    this.closed = true;
    this.abortReason = reason;
    this.conn.destroy();
  }

  /** Set by `destroy`: what to undo when the connection is gone. */
  onClosed: (() => void) | undefined;
}

/** Connects, authenticates and runs the init query; resolves with a connection ready for queries. */
export function openBackend(opts: BackendOptions): Promise<BackendConnection> {
  return new Promise((resolve, reject) => {
    let socket: Conn | undefined;
    const framer = new ClientFramer(64 * 1024 * 1024);
    framer.mode = FrameMode.Typed;
    const serverParams = new Map<string, string>();
    let processId = 0;
    let secretKey = 0;
    let scram: ScramClient | undefined;
    let initSent = false;
    let initError: ErrorFields | undefined;
    let done = false;
    let cancelTls: (() => void) | undefined;

    const timer = setTimeout(
      () => fail(new Error(`timed out after ${opts.connectTimeoutMs} ms connecting to ${opts.target.host}:${opts.target.port}`)),
      opts.connectTimeoutMs,
    );

    function fail(err: Error): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cancelTls?.();
      socket?.destroy();
      reject(err);
    }

    function succeed(): void {
      done = true;
      clearTimeout(timer);
      resolve(new BackendConnection(socket!, opts.target, opts.generation, processId, secretKey, serverParams));
    }

    function send(bytes: Buffer): void {
      socket!.write(bytes);
    }

    function needPassword(request: 'cleartext' | 'md5' | 'scram'): string {
      let password: string | undefined;
      try {
        password = opts.password(request);
      } catch (err) {
        throw new PermanentOpenError((err as Error).message, '28P01');
      }
      if (password === undefined) {
        throw new PermanentOpenError(
          `the database asks for a password for user "${opts.user}" and the proxy has none (add it to the users list or set PGPASSWORD)`,
          '28P01',
        );
      }
      return password;
    }

    function onAuth(body: Buffer): void {
      const code = body.readInt32BE(0);
      switch (code) {
        case 0:
          return;
        case 3:
          send(serialize.password(needPassword('cleartext')));
          return;
        case 5:
          send(serialize.password(md5Response(opts.user, needPassword('md5'), body.subarray(4, 8))));
          return;
        case 10: {
          const mechanisms: string[] = [];
          for (let pos = 4; pos < body.length && body[pos] !== 0; ) {
            const [m, next] = readCString(body, pos, body.length);
            mechanisms.push(m);
            pos = next;
          }
          if (!mechanisms.includes('SCRAM-SHA-256')) {
            throw new PermanentOpenError(`the database offers SASL mechanisms ${mechanisms.join(', ')}; the proxy supports SCRAM-SHA-256`, '0A000');
          }
          scram = new ScramClient(needPassword('scram'));
          send(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', scram.clientFirst()));
          return;
        }
        case 11:
          if (!scram) throw new Error('database sent SASLContinue before SASL');
          send(serialize.sendSCRAMClientFinalMessage(scram.handleServerFirst(body.toString('utf8', 4))));
          return;
        case 12:
          if (!scram) throw new Error('database sent SASLFinal before SASL');
          scram.verifyServerFinal(body.toString('utf8', 4));
          return;
        default:
          throw new PermanentOpenError(`the database asks for an authentication method the proxy does not support (code ${code})`, '0A000');
      }
    }

    function onMessage(buf: Buffer, start: number, end: number): void {
      const type = buf[start]!;
      const body = buf.subarray(start + 5, end);
      switch (type) {
        case BackendCode.Authentication:
          onAuth(body);
          return;
        case BackendCode.ParameterStatus: {
          const [name, value] = decodeParameterStatus(body);
          serverParams.set(name, value);
          return;
        }
        case BackendCode.BackendKeyData:
          processId = body.readInt32BE(0);
          secretKey = body.readInt32BE(4);
          return;
        case BackendCode.ErrorResponse: {
          const fields = decodeErrorFields(body);
          if (initSent) {
            initError = fields;
            return;
          }
          const message = `${fields['M'] ?? 'error'} (SQLSTATE ${fields['C'] ?? '?'})`;
          const code = fields['C'] ?? '';
          throw PERMANENT.has(code) ? new PermanentOpenError(fields['M'] ?? message, code) : new BackendStartupError(message, fields);
        }
        case BackendCode.ReadyForQuery:
          if (opts.initQuery && !initSent) {
            initSent = true;
            send(serialize.query(opts.initQuery));
            return;
          }
          if (initError) {
            throw new PermanentOpenError(`initQuery failed: ${initError['M'] ?? 'error'}`, initError['C'] ?? 'XX000');
          }
          succeed();
          return;
        default:
          return; // NoticeResponse and the results of the init query
      }
    }

    const where = `${opts.target.host}:${opts.target.port}`;
    const startup = {
      data: (chunk: Buffer) => {
        try {
          framer.push(chunk, { onMessage });
        } catch (err) {
          fail(err as Error);
        }
      },
      close: (err?: Error) => fail(new Error(err ? `cannot connect to ${where}: ${err.message}` : `${where} closed the connection during startup`)),
    };
    const sendStartup = () => send(serialize.startup({ user: opts.user, database: opts.database, client_encoding: 'UTF8' }));
    const t = opts.tls;
    const connected = () => {
      if (!t || !wantsSsl(t.sslmode)) return sendStartup();
      cancelTls = negotiateTls(socket!, t, opts.target.host, where, (err, n) => {
        cancelTls = undefined;
        if (err || !n) return fail(err ?? new Error('SSL negotiation ended without a connection'));
        socket = n.conn;
        socket.setHandlers(startup);
        sendStartup();
      });
    };
    connectConn(opts.target.host, opts.target.port, opts.mover, { ...startup, connect: connected }).then(
      (conn) => {
        socket = conn;
        if (done) conn.destroy();
      },
      (err: Error) => fail(new Error(`cannot connect to ${where}: ${err.message}`)),
    );
  });
}
