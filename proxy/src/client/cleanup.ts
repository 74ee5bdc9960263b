/**
 * A client left while its backend was not clean. The backend goes back to the pool only after the
 * proxy has cleaned it — ROLLBACK for an open transaction, DISCARD ALL for a pinned session — and is
 * closed instead when cleaning cannot be trusted (replies still in flight, LOAD, errors, timeout).
 */
import type { Logger } from 'pino';
import { serialize } from 'pg-protocol';
import type { BackendConnection, BackendOwner } from '../backend/connection.js';
import type { Pool } from '../pool/pool.js';
import { Code } from '../protocol/messages.js';
import { canReturnBackend } from '../session/state.js';

export interface GiveBackState {
  owed: number;
  inTransaction: boolean;
  pinReason: string | undefined;
  log: Logger;
}

const CLEANUP_TIMEOUT_MS = 5_000;
const UNRESETTABLE = new Set(['load']);

export function giveBack(backend: BackendConnection, pool: Pool<BackendConnection>, s: GiveBackState): void {
  if (backend.closed) return pool.remove(backend);
  if (canReturnBackend(s.inTransaction ? 0x54 : 0x49, s.owed, s.pinReason !== undefined)) return pool.release(backend);
  if (s.owed > 0 || (s.pinReason !== undefined && UNRESETTABLE.has(s.pinReason))) return discard(backend, pool);

  const queries = [...(s.inTransaction ? ['ROLLBACK'] : []), ...(s.pinReason ? ['DISCARD ALL'] : [])];
  let waiting = queries.length;
  let failed = false;
  const timer = setTimeout(() => finish(false), CLEANUP_TIMEOUT_MS);
  const finish = (ok: boolean): void => {
    clearTimeout(timer);
    backend.owner = undefined;
    if (!ok) return discard(backend, pool);
    if (s.pinReason) {
      backend.params.clear();
      backend.prepared.clear();
    }
    pool.release(backend);
  };
  const cleaner: BackendOwner = {
    onBackendData: (chunk) => {
      backend.scanner.scan(chunk);
    },
    onBackendLost: () => {
      clearTimeout(timer);
      backend.owner = undefined;
      pool.remove(backend);
    },
  };
  backend.scanner.setVisitor({
    keep: () => false,
    message: (type, body) => {
      if (type === Code.Execute) failed = true;
      if (type === Code.ReadyForQuery && --waiting === 0) finish(!failed && body[0] === 0x49);
    },
  });
  backend.owner = cleaner;
  backend.socket.write(Buffer.concat(queries.map((q) => serialize.query(q))));
  s.log.debug({ backend: backend.id, queries }, 'cleaning backend before reuse');
}

function discard(backend: BackendConnection, pool: Pool<BackendConnection>): void {
  backend.destroy();
  pool.remove(backend);
}
