/**
 * The machine's boundary: what it knows of a backend, the effects it asks for, and the one pure
 * dependency it has (the SQL classifier). The join in client/session.ts implements SessionIO.
 */
import type { Decision } from '../pinning/index.js';
import type { ErrorInfo } from '../protocol/messages.js';
import type { ReplyLedger } from './ledger.js';
import type { BackendStatements } from './statements.js';

/** What the machine knows of a backend (BackendConnection implements it). */
export interface BackendState {
  readonly id: number;
  readonly ledger: ReplyLedger;
  readonly statements: BackendStatements;
  /** Settings applied to it with SET (name → SQL value). */
  params: Map<string, string>;
  /** CancelRequests forwarded for it and not yet done: it may not change hands until they are. */
  cancels: number;
  readonly serverParams: ReadonlyMap<string, string>;
}

export interface SessionIO<B extends BackendState> {
  toClient(bytes: Buffer): void;
  toBackend(backend: B, bytes: Buffer): void;
  borrow(): void;
  cancelBorrow(): void;
  /** The backend is idle: back to the pool. */
  release(backend: B): void;
  /** The backend cannot be trusted: close it. */
  discard(backend: B, reason: string): void;
  /** ParameterStatus…, BackendKeyData, ReadyForQuery for a client that waited for its pool's first backend. */
  welcome(serverParams: ReadonlyMap<string, string>): void;
  /** Close the client's connection, after a FATAL error if given. */
  end(fatal?: ErrorInfo): void;
  pinned(reason: string, rule: string): void;
  /** The server refused a write as read-only (25006): the writer may have been demoted, probe now. */
  serverReadOnly(): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface MachineContext {
  decide(sql: string): Decision;
}
