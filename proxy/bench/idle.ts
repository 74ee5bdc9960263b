/**
 * Opens N client connections through a proxy, runs one query on each (so each really logged in and
 * borrowed a backend), holds them all, and reports the proxy's memory per client and the backends
 * PostgreSQL saw. Raw protocol, so the load generator itself stays light.
 */
import net from 'node:net';
import { serialize } from 'pg-protocol';
import type { PgInstance } from '../src/testing/postgres.js';
import { rssKiB, type Proc } from './processes.js';
import type { IdleResult } from './report.js';

/** One client: StartupMessage, ReadyForQuery, `select 1`, ReadyForQuery; then it stays idle. */
export function idleClient(port: number, user: string, timeoutMs = 60_000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let ready = 0;
    let buf: Buffer = Buffer.alloc(0);
    s.setTimeout(timeoutMs, () => s.destroy(new Error('timed out')));
    s.on('connect', () => s.write(serialize.startup({ user, database: 'postgres' })));
    s.on('error', reject);
    s.on('close', () => reject(new Error('closed before it was idle')));
    s.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 5) {
        const len = buf.readInt32BE(1);
        if (buf.length < len + 1) break;
        const type = String.fromCharCode(buf[0]!);
        buf = buf.subarray(len + 1);
        if (type === 'E') return s.destroy(new Error('server sent an ErrorResponse'));
        if (type !== 'Z') continue;
        if (++ready === 1) s.write(serialize.query('select 1'));
        else {
          s.setTimeout(0);
          s.removeAllListeners('data');
          resolve(s);
          return;
        }
      }
    });
  });
}

export async function holdIdleClients(p: Proc, user: string, n: number, db: PgInstance): Promise<IdleResult> {
  const before = rssKiB(p.pid);
  const sockets: net.Socket[] = [];
  const batch = 500;
  let failed = 0;
  for (let i = 0; i < n; i += batch) {
    const got = await Promise.allSettled(Array.from({ length: Math.min(batch, n - i) }, () => idleClient(p.port, user)));
    for (const g of got) {
      if (g.status === 'fulfilled') sockets.push(g.value);
      else failed++;
    }
  }
  await new Promise((r) => setTimeout(r, 1_000));
  const after = rssKiB(p.pid);
  const backends = (await db.query(`select count(*)::int as n from pg_stat_activity where usename = $1`, [user])).rows[0].n as number;
  for (const s of sockets) s.destroy();
  await new Promise((r) => setTimeout(r, 1_000));
  return {
    clientsHeld: sockets.length,
    failed,
    rssBeforeMiB: Math.round(before / 102.4) / 10,
    rssWithClientsMiB: Math.round(after / 102.4) / 10,
    kibPerClient: sockets.length ? Math.round(((after - before) / sockets.length) * 10) / 10 : 0,
    backendConnections: backends,
  };
}
