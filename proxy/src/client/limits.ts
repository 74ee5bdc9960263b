/**
 * The proxy's limits on client connections (config `limits`): how many the pod and each user may
 * hold, with PostgreSQL's own refusals (FATAL 53300), and the refusal of a connection at accept.
 */
import type { Logger } from 'pino';
import type { Conn } from '../io/conn.js';
import { errorResponse, type ErrorInfo } from '../protocol/messages.js';
import type { SetupFailure } from './setup-failure.js';

/** Why a client connection was refused or closed by a limit: the `reason` of dbproxy_client_connections_refused_total. */
export const LIMIT_REASONS = ['max_client_connections', 'max_client_connections_per_user', 'startup_timeout', 'authentication_timeout'] as const;
export type LimitReason = (typeof LIMIT_REASONS)[number];

export interface ClientLimitsConfig {
  maxClientConnections: number;
  maxClientConnectionsPerUser: number;
  startupTimeout: number;
  authenticationTimeout: number;
}

/** PostgreSQL's words past max_connections. */
export const TOO_MANY_CLIENTS: ErrorInfo = { severity: 'FATAL', code: '53300', message: 'sorry, too many clients already' };

/** FATAL 53300 when `open` connections already fill `max`; undefined when one more may come in. */
export function podRefusal(open: number, max: number): ErrorInfo | undefined {
  return open >= max ? TOO_MANY_CLIENTS : undefined;
}

/** PostgreSQL's refusal past a role's CONNECTION LIMIT, for `user` holding `open` of `max` (0: no limit). */
export function userRefusal(user: string, open: number, max: number): ErrorInfo | undefined {
  if (max <= 0 || open < max) return undefined;
  return { severity: 'FATAL', code: '53300', message: `too many connections for role "${user}"` };
}

/** Authenticated client connections per user, counted up at login and down once at close. */
export class UserCounts {
  private readonly counts = new Map<string, number>();

  of(user: string): number {
    return this.counts.get(user) ?? 0;
  }

  add(user: string): void {
    this.counts.set(user, this.of(user) + 1);
  }

  remove(user: string): void {
    const n = this.of(user) - 1;
    if (n > 0) this.counts.set(user, n);
    else this.counts.delete(user);
  }

  get size(): number {
    return this.counts.size;
  }
}

/**
 * Connections past maxClientConnections that may still wait for their StartupMessage to be refused
 * (as PostgreSQL answers an SSLRequest with N first: libpq shows no error sent in reply to its
 * SSLRequest). Past this many at once, one more is refused at accept, before anything is read.
 */
export const MAX_PENDING_REFUSALS = 1_000;

/** A refused connection waits this long for the client to close after the error, then goes. */
const REFUSED_LINGER_MS = 1_000;

/**
 * Refuses a connection that was just accepted: the error, then FIN. What the client already sent is
 * read and dropped meanwhile, so closing does not reset the connection and lose the error on its way.
 */
export function refuseConnection(conn: Conn, fatal: ErrorInfo): void {
  const timer = setTimeout(() => conn.destroy(), REFUSED_LINGER_MS);
  timer.unref();
  conn.setHandlers({ data: () => {}, close: () => clearTimeout(timer) });
  conn.end(errorResponse(fatal));
}

/** Logs at most once per `everyMs`, with how many happened since the last line. */
export class Throttled {
  private last = Number.NEGATIVE_INFINITY;
  private since = 0;

  constructor(private readonly everyMs: number) {}

  /** The count to log now (this one included), or 0 when this one goes in the next line. */
  tick(now = Date.now()): number {
    this.since++;
    if (now - this.last < this.everyMs) return 0;
    this.last = now;
    const n = this.since;
    this.since = 0;
    return n;
  }
}

/** The server's side of the limits: the pod's check at accept and the per-user counts. */
export class ClientLimits {
  private readonly users = new UserCounts();
  private readonly refusals = new Throttled(10_000);

  constructor(
    private readonly deps: {
      config: () => ClientLimitsConfig;
      log: Logger;
      onLimit: (reason: LimitReason) => void;
      onSetupFailure: (reason: SetupFailure) => void;
    },
  ) {}

  /** Connections being refused at their StartupMessage (not among the clients); the server removes each as it closes. */
  readonly refusing = new Set<object>();

  /**
   * At accept, with `open` client connections already: undefined when `conn` may come in; the
   * refusal to give at its StartupMessage; or 'refused' when it was refused at once (and is closing).
   */
  admit(open: number, conn: Conn): ErrorInfo | 'refused' | undefined {
    const max = this.deps.config().maxClientConnections;
    const refused = podRefusal(open, max);
    if (!refused) return undefined;
    // A flood of refusals is one log line per 10 s; the metric counts each.
    const n = this.refusals.tick();
    if (n > 0) this.deps.log.warn({ maxClientConnections: max, refused: n }, 'refusing clients: limits.maxClientConnections reached');
    this.deps.onLimit('max_client_connections');
    if (this.refusing.size < MAX_PENDING_REFUSALS) return refused;
    this.deps.onSetupFailure('limits');
    refuseConnection(conn, refused);
    return 'refused';
  }

  userLogin(user: string): ErrorInfo | undefined {
    const refused = userRefusal(user, this.users.of(user), this.deps.config().maxClientConnectionsPerUser);
    if (!refused) this.users.add(user);
    return refused;
  }

  userLogout(user: string): void {
    this.users.remove(user);
  }

  /** Authenticated connections of `user` now (for tests and /status). */
  of(user: string): number {
    return this.users.of(user);
  }
}
