/**
 * The admin console: what a client connected to the virtual database `dbproxy` talks to instead of
 * a backend (PgBouncer's `pgbouncer` database). Simple Query protocol only; every answer is an
 * ordinary result (or error) and a ReadyForQuery, so psql and drivers show it as they would a
 * server's. A failed command answers an error and the session goes on. PAUSE and RELOAD answer
 * later: messages that arrive meanwhile wait their turn.
 */
import type { Conn } from '../../io/conn.js';
import {
  FrontendCode,
  commandComplete,
  errorResponse,
  message,
  noticeResponse,
  parameterStatus,
  backendKeyData,
  readyForQuery,
  type ErrorInfo,
} from '../../protocol/messages.js';
import { decodeFrontend } from '../../session/frontend.js';
import { ConsoleError, HELP_LINES, parseCommand, type Command } from './commands.js';
import type { ConsoleHost } from './host.js';
import { encodeResultSet } from './rows.js';

export const CONSOLE_DATABASE = 'dbproxy';

/** What the console needs of its client session (client/session.ts). */
export interface ConsoleLink {
  readonly conn: Conn;
  readonly ended: boolean;
  /** Runs one event of the session; an exception ends the session only. */
  guard(f: () => void): void;
  closeSocket(fatal?: ErrorInfo): void;
}

/** The FATAL for a user who may not open the console (PostgreSQL's for a database without CONNECT); undefined if they may. */
export function consoleRefusal(host: ConsoleHost, user: string): ErrorInfo | undefined {
  if (host.isAdmin(user)) return undefined;
  return {
    severity: 'FATAL',
    code: '42501',
    message: `permission denied for database "${CONSOLE_DATABASE}"`,
    detail: `"${CONSOLE_DATABASE}" is the proxy's admin console, and user "${user}" is not among its admin users (admin.users).`,
  };
}

const ONLY_SIMPLE: ErrorInfo = {
  severity: 'ERROR',
  code: '0A000',
  message: 'the admin console supports only the simple query protocol',
  hint: 'send each command as a simple Query (psql does; in node-postgres, a query without parameters)',
};

const EXTENDED = new Set<number>([FrontendCode.Parse, FrontendCode.Bind, FrontendCode.Describe, FrontendCode.Execute, FrontendCode.Close]);

const EMPTY_QUERY = message(0x49, Buffer.alloc(0));

interface Pending {
  type: number;
  sql: string;
}

export class AdminConsole {
  /** A command is running (PAUSE, RELOAD): later messages wait in `queued`. */
  private running: { cancellable: boolean; settled: boolean } | undefined;
  private readonly queued: Pending[] = [];
  /** After an error in an extended-protocol batch, everything up to Sync is skipped. */
  private skipToSync = false;

  constructor(
    private readonly host: ConsoleHost,
    private readonly link: ConsoleLink,
  ) {}

  /** ParameterStatus, BackendKeyData and ReadyForQuery, after AuthenticationOk. */
  welcome(startup: ReadonlyMap<string, string>, keys: { processId: number; secretKey: number }): Buffer {
    const params: [string, string][] = [
      ['server_encoding', 'UTF8'],
      ['client_encoding', 'UTF8'],
      ['DateStyle', 'ISO, MDY'],
      ['integer_datetimes', 'on'],
      ['standard_conforming_strings', 'on'],
      ['application_name', startup.get('application_name') ?? ''],
    ];
    const version = this.host.serverVersion();
    if (version !== undefined) params.unshift(['server_version', version]);
    return Buffer.concat([...params.map(([k, v]) => parameterStatus(k, v)), backendKeyData(keys.processId, keys.secretKey), readyForQuery('I')]);
  }

  onMessage(buf: Buffer, start: number, end: number): void {
    const m = decodeFrontend(buf, start, end);
    if (m.type === FrontendCode.Terminate) return this.link.closeSocket();
    if (this.running) this.queued.push({ type: m.type, sql: m.sql });
    else this.handle({ type: m.type, sql: m.sql });
  }

  /** A CancelRequest for this session: a PAUSE that waits stops waiting (the pools stay paused). */
  cancel(): void {
    const r = this.running;
    if (!r?.cancellable || r.settled) return;
    r.settled = true;
    this.finish(
      Buffer.concat([
        errorResponse({
          severity: 'ERROR',
          code: '57014',
          message: 'canceling statement due to user request',
          detail: 'PAUSE stopped waiting; the pools stay paused (RESUME resumes them).',
        }),
        readyForQuery('I'),
      ]),
    );
  }

  private handle(m: Pending): void {
    if (m.type === FrontendCode.Sync) {
      this.skipToSync = false;
      return this.write(readyForQuery('I'));
    }
    if (this.skipToSync || m.type === FrontendCode.Flush) return;
    if (EXTENDED.has(m.type)) {
      this.skipToSync = true;
      return this.write(errorResponse(ONLY_SIMPLE));
    }
    if (m.type === FrontendCode.FunctionCall) return this.write(Buffer.concat([errorResponse(ONLY_SIMPLE), readyForQuery('I')]));
    if (m.type !== FrontendCode.Query) return; // COPY messages outside a COPY: nothing to answer
    this.run(parseCommand(m.sql));
  }

  private run(cmd: Command): void {
    switch (cmd.kind) {
      case 'empty':
        return this.write(Buffer.concat([EMPTY_QUERY, readyForQuery('I')]));
      case 'error':
        return this.write(
          Buffer.concat([
            errorResponse({ severity: 'ERROR', code: cmd.code, message: cmd.message, ...(cmd.hint ? { hint: cmd.hint } : {}) }),
            readyForQuery('I'),
          ]),
        );
      case 'show':
        if (cmd.what === 'help') {
          const help = noticeResponse({ severity: 'NOTICE', code: '00000', message: 'Console usage', detail: HELP_LINES.join('\n') });
          return this.write(Buffer.concat([help, commandComplete('SHOW'), readyForQuery('I')]));
        }
        return this.write(Buffer.concat([encodeResultSet(this.host.show(cmd.what)), readyForQuery('I')]));
      case 'resume':
        try {
          this.host.resume(cmd.database);
        } catch (err) {
          return this.write(Buffer.concat([errorResponse(asError(err)), readyForQuery('I')]));
        }
        return this.write(Buffer.concat([commandComplete('RESUME'), readyForQuery('I')]));
      case 'pause':
        return this.await(this.host.pause(cmd.database), 'PAUSE', true);
      case 'reload':
        return this.await(this.host.reload(), 'RELOAD', false);
    }
  }

  /** A command that answers when `work` settles; messages meanwhile are queued. */
  private await(work: Promise<void>, tag: string, cancellable: boolean): void {
    const r = { cancellable, settled: false };
    this.running = r;
    const settle = (reply: Buffer): void => {
      this.link.guard(() => {
        if (r.settled) return; // canceled: already answered
        r.settled = true;
        this.finish(reply);
      });
    };
    work.then(
      () => settle(Buffer.concat([commandComplete(tag), readyForQuery('I')])),
      (err: unknown) => settle(Buffer.concat([errorResponse(asError(err, 'F0000')), readyForQuery('I')])),
    );
  }

  /** The running command's answer; then what was queued behind it, until one runs again. */
  private finish(reply: Buffer): void {
    this.running = undefined;
    this.write(reply);
    while (!this.running && this.queued.length > 0 && !this.link.ended) this.handle(this.queued.shift()!);
  }

  private write(bytes: Buffer): void {
    if (!this.link.ended) this.link.conn.write(bytes);
  }
}

/** A ConsoleError as it is; anything else (a config that does not load) under `code`. */
function asError(err: unknown, code = 'XX000'): ErrorInfo {
  if (err instanceof ConsoleError) return { severity: 'ERROR', code: err.code, message: err.message, ...(err.detail ? { detail: err.detail } : {}) };
  return { severity: 'ERROR', code, message: (err as Error).message };
}
