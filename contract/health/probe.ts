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
