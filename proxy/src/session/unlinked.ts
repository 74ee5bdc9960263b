/**
 * What the session answers itself, with no backend: a lone Sync or Flush, a transaction cut by a
 * lost backend (errors until ROLLBACK), a batch being discarded up to its Sync, and the requests
 * of a borrow that timed out — each as PostgreSQL would answer it.
 */
import type { Decision } from '../pinning/index.js';
import { FrontendCode, commandComplete, errorResponse, readyForQuery } from '../protocol/messages.js';
import type { FrontendMessage } from './frontend.js';
import { describeReq, reqOf, ServerMode, type Req, type ReplyLedger } from './ledger.js';
import { ABORTED, failRequests, lostError } from './replies.js';
import { Mode } from './state.js';

export interface Answer {
  bytes?: Buffer | undefined;
  /** The next mode. */
  next?: Mode;
  /** Discard up to the client's Sync, then report `status` and go to `after`. */
  discardUntilSync?: { after: Mode.Idle | Mode.FailedTransaction; status: 'I' | 'E' };
  /** A unit of work starts: queue the message and borrow a backend. */
  borrow?: boolean;
  /** The client ends the session. */
  finish?: boolean;
}

const NOTHING: Answer = {};

/** Messages that owe nothing outside COPY or a batch. */
function owesNothing(type: number): boolean {
  return type === FrontendCode.Flush || type === FrontendCode.CopyData || type === FrontendCode.CopyDone || type === FrontendCode.CopyFail;
}

export function whenIdle(m: FrontendMessage): Answer {
  if (m.type === FrontendCode.Terminate) return { finish: true };
  if (m.type === FrontendCode.Sync) return { bytes: readyForQuery('I') };
  if (owesNothing(m.type)) return NOTHING;
  return { borrow: true };
}

export function inFailedTransaction(m: FrontendMessage, decide: (sql: string) => Decision): Answer {
  if (m.type === FrontendCode.Terminate) return { finish: true };
  if (owesNothing(m.type)) return NOTHING;
  switch (m.type) {
    case FrontendCode.Query:
      if (decide(m.sql).endsTransaction) return { bytes: Buffer.concat([commandComplete('ROLLBACK'), readyForQuery('I')]), next: Mode.Idle };
      return { bytes: Buffer.concat([errorResponse(ABORTED), readyForQuery('E')]) };
    case FrontendCode.FunctionCall:
      return { bytes: Buffer.concat([errorResponse(ABORTED), readyForQuery('E')]) };
    case FrontendCode.Sync:
      return { bytes: readyForQuery('E') };
    default:
      return { bytes: errorResponse(ABORTED), discardUntilSync: { after: Mode.FailedTransaction, status: 'E' } };
  }
}

export function discarding(m: FrontendMessage, after: { mode: Mode.Idle | Mode.FailedTransaction; status: 'I' | 'E' }): Answer {
  if (m.type === FrontendCode.Terminate) return { finish: true };
  if (m.type !== FrontendCode.Sync) return NOTHING;
  return { bytes: readyForQuery(after.status), next: after.mode };
}

/** The queued requests of a borrow that failed: each answered with its error. */
export function borrowFailed(pending: readonly FrontendMessage[], err: { sqlstate: string; message: string }): Answer {
  const reqs: Req[] = [];
  for (const m of pending) {
    const r = m.type === FrontendCode.Describe ? describeReq(m.kind) : reqOf(m.type);
    if (r !== undefined) reqs.push(r);
  }
  const replies = failRequests(reqs, { severity: 'ERROR', code: err.sqlstate, message: err.message }, 'I');
  const bytes = replies.bytes.length > 0 ? Buffer.concat(replies.bytes) : undefined;
  if (replies.openBatch) return { bytes, discardUntilSync: { after: Mode.Idle, status: 'I' } };
  return { bytes, next: Mode.Idle };
}

/**
 * The backend died with requests outstanding: each gets the error a failing server would give; a
 * transaction block that was open is failed (the client sees `E` until its ROLLBACK).
 */
export function backendLost(ledger: ReplyLedger, reason: string, opts: { batchErrorTold: boolean } = { batchErrorTold: true }): Answer {
  const inTxn = ledger.status !== 0x49;
  const status = inTxn ? 'E' : 'I';
  // A server skipping to Sync has failed the batch; the client knows unless that error was swallowed.
  const told = ledger.mode === ServerMode.Skip && opts.batchErrorTold;
  const replies = failRequests(ledger.outstanding(), lostError(reason, inTxn), status, told);
  const bytes = replies.bytes.length > 0 ? Buffer.concat(replies.bytes) : undefined;
  const after = inTxn ? Mode.FailedTransaction : Mode.Idle;
  if (replies.openBatch) return { bytes, discardUntilSync: { after, status } };
  return { bytes, next: after };
}
