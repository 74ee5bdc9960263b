/** Probes one PostgreSQL endpoint: can we log in, is it in recovery (a standby), its max_connections. */
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { describeTlsError, isCertificateError, SSL_REQUIRED_MESSAGE, tlsConnectOptions, wantsSsl, type BackendTls } from '../config/backend-tls.js';

export type ProbeFailure = 'UNREACHABLE' | 'CONNECTION_FAILED' | 'AUTH_FAILURE' | 'TIMEOUT';

export type ProbeResult =
  | { ok: true; inRecovery: boolean; maxConnections: number; serverVersion: string }
  | { ok: false; reason: ProbeFailure; message: string };

export interface ProbeOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string;
  timeoutMs: number;
  /** TLS as the proxy's database connections use it (backendTls); undefined: plaintext. */
  tls?: BackendTls | undefined;
}

/** node-postgres's words for a server that answered 'N' to its SSLRequest. */
const NO_SSL = 'The server does not support SSL connections';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET']);

/**
 * With sslmode prefer, a server that answers 'N' is probed again in plaintext (node-postgres has no
 * prefer of its own), within what is left of the timeout.
 */
export async function probeEndpoint(o: ProbeOptions): Promise<ProbeResult> {
  const t = o.tls;
  if (!t || !wantsSsl(t.sslmode)) return probeOnce(o, false);
  const started = Date.now();
  const r = await probeOnce(o, tlsConnectOptions(t, o.host));
  if (r.ok || r.message !== NO_SSL) return r;
  if (t.sslmode !== 'prefer') return { ok: false, reason: 'CONNECTION_FAILED', message: `${SSL_REQUIRED_MESSAGE} (backendTls.sslmode ${t.sslmode})` };
  return probeOnce({ ...o, timeoutMs: Math.max(1, o.timeoutMs - (Date.now() - started)) }, false);
}

async function probeOnce(o: ProbeOptions, ssl: ConnectionOptions | false): Promise<ProbeResult> {
  const client = new pg.Client({
    ssl,
    host: o.host,
    port: o.port,
    user: o.user,
    password: o.password,
    database: o.database ?? 'postgres',
    connectionTimeoutMillis: o.timeoutMs,
    query_timeout: o.timeoutMs,
    application_name: 'dbproxy-health',
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const r = await client.query<{ r: boolean; m: number; v: string }>(
      `select pg_is_in_recovery() as r, current_setting('max_connections')::int as m, current_setting('server_version') as v`,
    );
    const row = r.rows[0]!;
    return { ok: true, inRecovery: row.r, maxConnections: row.m, serverVersion: row.v };
  } catch (err) {
    if (ssl && o.tls && err instanceof Error && isCertificateError(err)) {
      return { ok: false, reason: 'CONNECTION_FAILED', message: describeTlsError(o.tls, `${o.host}:${o.port}`, err) };
    }
    return { ok: false, ...classifyProbeError(err) };
  } finally {
    // Close before answering so probes never pile up connections; bounded, as a hung peer may never
    // finish closing.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((r) => (timer = setTimeout(r, o.timeoutMs)));
    await Promise.race([client.end().catch(() => undefined), bound]);
    clearTimeout(timer);
  }
}

/** SQLSTATE 28xxx: bad credentials or pg_hba; network errors: unreachable; pg's timeouts: TIMEOUT. */
export function classifyProbeError(err: unknown): { reason: ProbeFailure; message: string } {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code === '28P01' || code === '28000') return { reason: 'AUTH_FAILURE', message };
  if (code && UNREACHABLE.has(code)) return { reason: 'UNREACHABLE', message };
  if (/timeout/i.test(message)) return { reason: 'TIMEOUT', message };
  return { reason: 'CONNECTION_FAILED', message };
}
