/**
 * Where an ErrorResponse from the server goes. A FATAL one ends the backend: the client ends with
 * it too, as on PostgreSQL — unless the server is shutting down, which for the proxy is a lost
 * backend (failover) and the client stays. An error for one of the proxy's own requests stays with
 * the proxy unless the request stood in for the client's. Backend names become the client's.
 */
import { BackendCode, decodeErrorFields, errorResponseFromFields, message } from '../protocol/messages.js';
import { Match, type Hook } from './ledger.js';

/** FATAL codes of a server going down: a lost backend (failover), not the client's end. */
const SHUTDOWN = new Set(['57P01', '57P02', '57P03']);

export interface ErrorRoute {
  /** The bytes for the client, if it gets the error. */
  forward?: Buffer;
  /** The error counts as the client's (its statement or transaction failed). */
  clientError: boolean;
  /** FATAL: 'shutdown' (the client stays) or 'client' (the client ends with it). */
  fatal?: 'shutdown' | 'client';
  /** 25006: the server refused a write as read-only (it may have been demoted to a standby). */
  readOnly?: boolean;
}

const READ_ONLY_SQL_TRANSACTION = '25006';

export function routeError(body: Buffer, hook: Hook | undefined, match: Match): ErrorRoute {
  const fields = decodeErrorFields(body);
  const severity = fields['V'] ?? fields['S'];
  if (severity === 'FATAL' || severity === 'PANIC') {
    if (SHUTDOWN.has(fields['C'] ?? '')) return { clientError: false, fatal: 'shutdown' };
    return { forward: message(BackendCode.ErrorResponse, body), clientError: false, fatal: 'client' };
  }
  const readOnly = fields['C'] === READ_ONLY_SQL_TRANSACTION;
  if (match === Match.Injected) {
    hook?.onError?.(fields);
    if (!hook?.forwardErrors) return { clientError: false, readOnly };
  }
  return { forward: hook?.rewrite ? errorResponseFromFields(hook.rewrite(fields)) : message(BackendCode.ErrorResponse, body), clientError: true, readOnly };
}
