/**
 * Thousands of sockets need a high open-files limit, in this process (the idle clients), in the
 * proxies (one descriptor per client) and in pgbench. Node cannot call setrlimit, so when the soft
 * limit is too low the script re-runs itself under `prlimit`; children inherit the raised limit.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const REEXEC_MARK = 'DBPROXY_BENCH_NOFILE_RAISED';

/** The soft and hard "Max open files" of this process. */
export function openFilesLimit(): { soft: number; hard: number } {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const [soft, hard] = (line ?? '').trim().split(/\s+/).slice(3, 5);
  const n = (v: string | undefined) => (v === 'unlimited' ? Infinity : Number(v) || 1024);
  return { soft: n(soft), hard: n(hard) };
}

/**
 * Ensures at least `needed` open files. Returns normally when the limit is fine; otherwise re-runs
 * this script under prlimit and exits with its status. Returns the limit in force when it cannot
 * raise it (the caller then scales down), never throws.
 */
export function ensureOpenFiles(needed: number): number {
  const { soft, hard } = openFilesLimit();
  if (soft >= needed || process.env[REEXEC_MARK]) return soft;
  // Anyone may raise the soft limit up to the hard one; raising the hard one needs CAP_SYS_RESOURCE,
  // which root in a container may lack: try the best setting first, keep the first that works.
  const tries = [`${needed}:${Math.max(hard, needed)}`, `${Math.min(needed, hard)}:${hard}`].map((t) => t.replace('Infinity', 'unlimited'));
  const works = tries.find((t) => spawnSync('prlimit', [`--nofile=${t}`, '--', 'true']).status === 0);
  if (!works || works.startsWith(`${soft}:`)) return soft; // no prlimit, or nothing to gain
  const r = spawnSync('prlimit', [`--nofile=${works}`, '--', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [REEXEC_MARK]: '1' },
  });
  process.exit(r.status ?? 1);
}
