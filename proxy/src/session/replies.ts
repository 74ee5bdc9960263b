/**
 * What the proxy answers, in the server's place, for requests no backend will answer (the borrow
 * timed out, the backend was lost): what a server that failed each request would send, following
 * the protocol's rules — one error per batch and a ReadyForQuery per Sync, one of each per Query.
 */
import { errorResponse, readyForQuery, type ErrorInfo } from '../protocol/messages.js';
import { isExtended, Req } from './ledger.js';

export interface FailedReplies {
  bytes: Buffer[];
  /** An extended batch got its error and awaits the client's Sync (then ReadyForQuery). */
  openBatch: boolean;
}

/**
 * `alreadyFailed`: the first batch already got its error (the server was skipping to Sync).
 * `status`: the transaction status each ReadyForQuery reports.
 */
export function failRequests(reqs: readonly Req[], error: ErrorInfo, status: 'I' | 'E', alreadyFailed = false): FailedReplies {
  const bytes: Buffer[] = [];
  let erred = alreadyFailed;
  for (const r of reqs) {
    if (r === Req.Sync) {
      if (!erred) bytes.push(errorResponse(error));
      bytes.push(readyForQuery(status));
      erred = false;
    } else if (r === Req.Query || r === Req.FunctionCall) {
      if (!erred) bytes.push(errorResponse(error), readyForQuery(status));
    } else if (isExtended(r) && !erred) {
      bytes.push(errorResponse(error));
      erred = true;
    }
  }
  return { bytes, openBatch: erred };
}

/** What a client is told when the proxy shuts down, as PostgreSQL's fast shutdown says it. */
export const ADMIN_SHUTDOWN: ErrorInfo = { severity: 'FATAL', code: '57P01', message: 'terminating connection due to administrator command' };

export const ABORTED: ErrorInfo = {
  severity: 'ERROR',
  code: '25P02',
  message: 'current transaction is aborted, commands ignored until end of transaction block',
  detail: 'the database connection was lost while the transaction was open (failover or server restart)',
};

export function lostError(reason: string, inTxn: boolean): ErrorInfo {
  return {
    severity: 'ERROR',
    code: '08006',
    message: `the database connection was lost: ${reason}`,
    hint: inTxn ? 'the transaction was rolled back; ROLLBACK and retry it' : 'retry the statement',
  };
}
