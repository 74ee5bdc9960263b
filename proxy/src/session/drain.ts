/**
 * Handing a backend back after its client left: the next step towards a provably idle backend.
 * End a COPY the client abandoned, roll back an open batch or transaction block (an implicit
 * transaction is rolled back, never committed by a Sync, as PostgreSQL does for a client that goes
 * away), wait for the cancels in flight, reset a pinned session with DISCARD ALL — or close the
 * backend when a request of the client still runs or its state cannot be trusted.
 */
import { serialize } from 'pg-protocol';
import { Outcome, Req, type Hook } from './ledger.js';
import type { BackendState } from './machine.js';
import { INJECTED } from './prepared.js';
import { SYNC } from './statements.js';

export type DrainStep =
  | { kind: 'wait' }
  | { kind: 'send'; requests: [Buffer, Req, Hook][]; reset?: boolean }
  | { kind: 'release' }
  | { kind: 'discard'; reason: string };

/** Pin reasons whose session state DISCARD ALL cannot undo. */
export const UNRESETTABLE = new Set(['load']);

const I = 0x49;
const ROLLBACK = serialize.query('ROLLBACK');
const DISCARD_ALL = serialize.query('DISCARD ALL');
const COPY_FAIL = serialize.copyFail('the client disconnected during COPY');
const WAIT: DrainStep = { kind: 'wait' };
const RELEASE: DrainStep = { kind: 'release' };

/**
 * `cleaning`: the proxy already sent cleanup requests; they are waited for. A request of the
 * departed client that is still running is not: the backend is closed instead (gracefully, so the
 * server still reads what it was sent, then ends any open transaction, as for a client that quits).
 */
export function drainStep(b: BackendState, pinReason: string | undefined, reset: boolean, cleaning: boolean): DrainStep {
  const l = b.ledger;
  if (l.unreliable) return { kind: 'discard', reason: 'its protocol state is not known' };
  if (b.statements.unknown) return { kind: 'discard', reason: 'its prepared statements are not known' };
  if (!cleaning && l.awaitsCopyEnd()) return { kind: 'send', requests: [[COPY_FAIL, Req.CopyFail, INJECTED]] };
  if (l.owes()) return cleaning ? WAIT : { kind: 'discard', reason: 'the client left while its request was running' };
  if (l.awaitsSync()) {
    // A Query inside an open batch rolls back its implicit transaction; the Sync ends the batch
    // (and, if an error made the server skip the Query, ends the aborted transaction).
    return {
      kind: 'send',
      requests: [
        [ROLLBACK, Req.Query, INJECTED],
        [SYNC, Req.Sync, INJECTED],
      ],
    };
  }
  if (l.status !== I) return { kind: 'send', requests: [[ROLLBACK, Req.Query, INJECTED]] };
  if (b.cancels > 0) return WAIT;
  if (pinReason !== undefined && !reset) {
    if (UNRESETTABLE.has(pinReason)) return { kind: 'discard', reason: `its session state (${pinReason}) cannot be reset` };
    return { kind: 'send', requests: [[DISCARD_ALL, Req.Query, resetHook(b)]], reset: true };
  }
  return RELEASE;
}

function resetHook(b: BackendState): Hook {
  return {
    injected: true,
    done: (o) => {
      if (o !== Outcome.Ok || b.ledger.queryFailed) {
        b.statements.unknown = true;
        return;
      }
      b.params.clear();
      b.statements.clearAll();
    },
  };
}
