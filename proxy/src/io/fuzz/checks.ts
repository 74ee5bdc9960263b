// The run's checks outside the workers: which native core is loaded, and the state after the run.
import { readFileSync, realpathSync } from 'node:fs';
import type pg from 'pg';
import type { ProxyServer } from '../../server.js';
import { waitFor } from '../../testing/wait.js';
import { resolveMover } from '../movers.js';
import { nativeEchoOpen } from './echo-servers.js';
import { REQUIRE_ASAN } from './knobs.js';
import { failure } from './report.js';
import { pgConnect } from './workload.js';

/** The native core is the one loaded and (with FUZZ_REQUIRE_ASAN=1) the ASAN build: whether ASAN is in, and whether to go on. */
export function checkCore(): { asan: boolean; ok: boolean } {
  const io = resolveMover('native'); // throws when the core cannot load
  if (io.mover !== 'native') throw new Error(`resolveMover('native') gave ${io.mover}`);
  const maps = readFileSync('/proc/self/maps', 'utf8');
  const asan = /libasan/.test(maps);
  const addon = process.env['DBPROXY_NATIVE_ADDON'];
  const addonMapped = addon !== undefined && maps.includes(realpathSync(addon));
  console.log(
    `native-fuzz: native core ${addon ?? '(default path)'} loaded${addonMapped ? '' : ' (NOT mapped from that path)'}; ASAN runtime ${asan ? 'present' : 'absent'}`,
  );
  if (REQUIRE_ASAN && (!asan || !addonMapped)) {
    failure('driver', `FUZZ_REQUIRE_ASAN=1 but ${!asan ? 'libasan is not in the process' : `the addon at ${addon} is not the one mapped`}`);
    return { asan, ok: false };
  }
  return { asan, ok: true };
}

async function checkEchoClosed(): Promise<void> {
  try {
    await waitFor(
      () => nativeEchoOpen() === 0,
      () => `the native echo server's ${nativeEchoOpen()} connections to close`,
      { timeoutMs: 10_000 },
    );
  } catch (err) {
    failure('echo', (err as Error).message);
  }
}

type Status = { clients: { total: number; byState: Record<string, number> }; databaseConnections: { active: number } };

async function checkProxyIdle(server: ProxyServer): Promise<void> {
  try {
    await waitFor(
      () => {
        const s = server.status() as Status;
        return s.clients.total === 0 && s.databaseConnections.active === 0;
      },
      () => `the proxy to let go of every client: ${JSON.stringify(server.status())}`,
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  } catch (err) {
    failure('proxy', (err as Error).message);
  }
}

async function checkCommitted(direct: pg.Client, workload: { me: number; rows: number }[]): Promise<void> {
  for (const { me, rows } of workload) {
    const r = await direct.query('select count(*)::int as n from fuzz_work where client = $1', [me]);
    if (r.rows[0].n !== rows) failure('workload', `client ${me}: the table has ${r.rows[0].n} of its rows, it committed ${rows}`);
  }
}

/** Whether a fresh client gets `SELECT 1` answered through the proxy. */
async function checkProxyAnswers(server: ProxyServer, port: number): Promise<boolean> {
  try {
    const c = await pgConnect(port);
    const r = await c.query('select 1 as n');
    await c.end();
    const ok = r.rows[0]?.n === 1;
    if (!ok) failure('proxy', `a fresh SELECT 1 through the proxy gave ${JSON.stringify(r.rows)}`);
    return ok;
  } catch (err) {
    failure('proxy', `a fresh SELECT 1 through the proxy failed: ${(err as Error).message}; proxy status ${JSON.stringify(server.status())}`);
    return false;
  }
}

/**
 * After the workers: every connection was let go of, the data is what the workload committed, and
 * the proxy still answers (the returned proxyAnswers).
 */
export async function checkAfterRun(server: ProxyServer, port: number, direct: pg.Client, workload: { me: number; rows: number }[]): Promise<boolean> {
  await checkEchoClosed();
  await checkProxyIdle(server);
  await checkCommitted(direct, workload);
  return checkProxyAnswers(server, port);
}
