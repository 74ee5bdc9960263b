/** Probes one PostgreSQL endpoint: can we log in, is it in recovery (a standby), its max_connections. */
import pg from 'pg';

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
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET']);

export async function probeEndpoint(o: ProbeOptions): Promise<ProbeResult> {
  const client = new pg.Client({
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
    return { ok: false, ...classifyProbeError(err) };
  } finally {
    client.end().catch(() => undefined);
  }
}

export function classifyProbeError(err: unknown): { reason: ProbeFailure; message: string } {
  const e = err as Error & { code?: string };
  const message = e.message ?? String(err);
  if (e.code === '28P01' || e.code === '28000') return { reason: 'AUTH_FAILURE', message };
  if (e.code && UNREACHABLE.has(e.code)) return { reason: 'UNREACHABLE', message };
  if (/timeout/i.test(message)) return { reason: 'TIMEOUT', message };
  return { reason: 'CONNECTION_FAILED', message };
}
