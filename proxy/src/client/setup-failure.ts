/**
 * Why a client connection was refused before it was ready for queries: the `reason` label of
 * dbproxy_client_connection_setup_failures_total (RDS Proxy's ClientConnectionsSetupFailedAuth is
 * reason="auth"). A small fixed set, so the metric's series are known in advance.
 */
export const SETUP_FAILURES = ['auth', 'tls', 'limits', 'timeout', 'backend', 'protocol', 'unsupported', 'shutdown'] as const;

export type SetupFailure = (typeof SETUP_FAILURES)[number];

/**
 * The first client of a pool waits for a database connection before it is welcomed: when that
 * borrow fails, the reason is the database side's. SQLSTATE class 53 is "insufficient resources"
 * (too_many_connections, or a connection limit the proxy applies).
 */
export function borrowFailureReason(err: { sqlstate: string; timedOut: boolean }): SetupFailure {
  if (err.sqlstate.startsWith('53')) return 'limits';
  if (err.timedOut) return 'timeout';
  if (err.sqlstate === '57P01' || err.sqlstate === '57P03') return 'shutdown';
  return 'backend';
}
