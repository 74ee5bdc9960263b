/**
 * Containment: an exception on one client session's path (its socket, another client's release, a
 * pool callback, a timer) ends that session only, with the error PostgreSQL would give for it.
 */
import type { BackendConnection } from '../backend/connection.js';
import { ProtocolError } from '../protocol/errors.js';
import type { ClientSession } from './session.js';

/** Ends `s` after `err`; a malformed server message (`from` that backend) ends the backend too. */
export function endAfterError(s: ClientSession, err: unknown, from: BackendConnection | undefined): void {
  const e = err as Error & { sqlstate?: string };
  const protocol = err instanceof ProtocolError;
  if (protocol) s.ctx.log.warn({ client: s.remoteAddress, err: e.message }, 'protocol violation');
  else s.ctx.log.error({ client: s.remoteAddress, err }, 'client session failed');
  s.ctx.onSessionError(protocol ? 'protocol_violation' : from ? 'server_message' : 'internal');
  if (protocol) s.setupFailed('protocol');
  else if (from) s.setupFailed('backend');
  s.flow.drop();
  const m = s.machine;
  const b = from ?? m?.backend;
  // After an exception the session's view of its backend cannot be trusted: close it.
  if (b) {
    s.side.abandon();
    s.side.detach(b);
    b.destroy();
    s.handle?.pool.remove(b);
  }
  m?.abort();
  const message = from ? `the database connection failed: ${e.message}` : e.message;
  s.closeSocket({ severity: 'FATAL', code: protocol ? (e.sqlstate ?? '08P01') : from ? '08006' : 'XX000', message });
}
