/** What a client session needs from the server around it: pools, auth, limits, metrics, logging (the server implements it). */
import type { SecureContext } from 'node:tls';
import type { ClientCertificates } from '../tls/client-tls.js';
import type { Logger } from 'pino';
import type { BackendConnection } from '../backend/connection.js';
import type { Pool } from '../pool/pool.js';
import type { UserStore } from '../auth/users.js';
import type { IdentityAuth } from '../auth/kube-identity.js';
import type { PoolMetrics } from '../admin/metrics.js';
import type { SetupFailure } from './setup-failure.js';
import type { ConsoleHost, PoolStats } from '../admin/console/host.js';
import type { ErrorInfo } from '../protocol/messages.js';
import type { ClientLimitsConfig, LimitReason } from './limits.js';

/** One pool per (database, user) and what the proxy learned from its first backend. */
export interface PoolHandle {
  readonly key: string;
  readonly database: string;
  readonly user: string;
  /** The writer's pools, or the reader endpoint's (standbys). */
  readonly endpoint: 'writer' | 'reader';
  readonly pool: Pool<BackendConnection>;
  /** ParameterStatus values a backend of this pool reported at startup (the "welcome" set). */
  serverParams: ReadonlyMap<string, string> | undefined;
  /** Borrows, waits and timeouts since the pool was made (the admin console's SHOW STATS). */
  readonly stats: PoolStats;
  /** The pool's Prometheus series (latencies, timeouts, pins, open failures), resolved once; the server always sets it. */
  readonly metrics?: PoolMetrics;
}

import type { Decision } from '../pinning/index.js';

/** What the pinning classifier and filters decided for one SQL string (defined by the classifier). */
export type SqlDecision = Decision;
export type { SetOp } from '../pinning/index.js';

export interface UserCredentials {
  username: string;
  password: string;
}

/** Everything a client session needs from the proxy around it; the server implements it. */
export interface SessionContext {
  readonly log: Logger;
  readonly maxMessageLength: number;
  readonly authMethod: 'trust' | 'md5' | 'scram';
  readonly tls: SecureContext | undefined;
  readonly requireTls: boolean;
  /** Client certificates asked for in the TLS handshake and checked at startup (tls.clientCertificates). */
  readonly clientCertificates: ClientCertificates;
  readonly shuttingDown: boolean;
  readonly users: UserStore;
  /** Kubernetes identity auth (auth.kubernetes), when configured. */
  readonly identity: IdentityAuth | undefined;
  /** The admin console (the virtual database `dbproxy`): who may open it, what it shows and does. */
  readonly console: ConsoleHost;
  poolFor(database: string, user: string, endpoint: 'writer' | 'reader'): PoolHandle;
  decide(sql: string): SqlDecision;
  register(session: CancelTarget): { processId: number; secretKey: number };
  unregister(processId: number): void;
  cancel(processId: number, secretKey: number): void;
  onPin(reason: string, rule: string, pool?: PoolHandle): void;
  /** The config's client limits (client/limits.ts), read at each use: a reload applies to new connections. */
  readonly limits: ClientLimitsConfig;
  /** `user` logged in: counted, or the refusal past limits.maxClientConnectionsPerUser (not counted). */
  userLogin(user: string): ErrorInfo | undefined;
  /** A connection counted by `userLogin` is gone (once). */
  userLogout(user: string): void;
  /** A connection was refused, or closed, by one of the limits. */
  onLimit(reason: LimitReason): void;
  /** A client connection was refused before it was ready for queries (once per connection). */
  onSetupFailure(reason: SetupFailure): void;
  /** A database connection of this endpoint refused a write as read-only (25006). */
  onServerReadOnly(endpoint: 'writer' | 'reader'): void;
  onClose(session: unknown): void;
  /** A session ended on an exception: `kind` protocol_violation | server_message | internal. */
  onSessionError(kind: string): void;
}

export interface CancelTarget {
  /** The backend running this client's request now, if one runs. */
  cancelTarget(): BackendConnection | undefined;
}
