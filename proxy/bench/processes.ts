/** Benchmark support: the processes under test, started on loopback, and their CPU and memory. */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../src/testing/ports.js';
import { waitFor } from '../src/testing/wait.js';

export const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../../..');

export interface Proc {
  name: string;
  port: number;
  pid: number;
  adminPort?: number;
  stop(): Promise<void>;
}

/** CPU a process has used so far, in microseconds, split user / kernel (from /proc/PID/stat). */
export function cpuTimes(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at field 3; utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const toMicros = (ticks: string | undefined) => (Number(ticks) * 1_000_000) / CLOCK_TICKS;
  return { user: toMicros(fields[11]), sys: toMicros(fields[12]) };
}

/** utime + stime of a process, in microseconds. */
export function cpuMicros(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.sys;
}

/** USER_HZ: 100 on every Linux this runs on; `getconf` confirms it where available. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function waitForOutput(child: ChildProcess, text: string, out: () => string): Promise<void> {
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`process did not start:\n${out()}`);
      return out().includes(text);
    },
    () => `process to start (${text}):\n${out()}`,
    { timeoutMs: 20_000 },
  );
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
}

/**
 * Extra Node.js flags for the DBProxy process, for profiling a bench run, e.g.
 * BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=.cache/bench/prof' (written when the proxy exits).
 */
function nodeArgs(): string[] {
  return (process.env['BENCH_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean);
}

/** DBProxy on the native I/O core (`dbproxy`) or on Node's sockets (`dbproxy-node`). */
export async function startDbproxy(targetPort: number | number[], poolSize: number, io: 'native' | 'node' = 'native', extraArgs: string[] = []): Promise<Proc> {
  const targets = (Array.isArray(targetPort) ? targetPort : [targetPort]).map((p) => `127.0.0.1:${p}`).join(',');
  const port = await freePort();
  const adminPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs(),
      path.join(ROOT, 'bin/dbproxy'),
      'proxy',
      '--listen',
      `127.0.0.1:${port}`,
      '--admin-listen',
      `127.0.0.1:${adminPort}`,
      '--target',
      targets,
      '--pool-size',
      String(poolSize),
      '--auth',
      'trust',
      '--log-level',
      'warn',
      '--io',
      io,
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  // The proxy logs at warn: wait for its admin port instead of a log line.
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`dbproxy did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { name: io === 'native' ? 'dbproxy' : 'dbproxy-node', port, adminPort, pid: child.pid!, stop: stopper(child) };
}

/** PgBouncer 1.18 in transaction mode, trust auth for `users` (and postgres), as the postgres user. */
export async function startPgbouncer(targetPort: number, poolSize: number, users: string[] = []): Promise<Proc> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbproxy-pgbouncer-'));
  const ini = path.join(dir, 'pgbouncer.ini');
  writeFileSync(path.join(dir, 'users.txt'), ['postgres', ...users].map((u) => `"${u}" ""\n`).join(''));
  writeFileSync(
    ini,
    `[databases]\n* = host=127.0.0.1 port=${targetPort}\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = ${port}\nunix_socket_dir =\nauth_type = trust\nauth_file = ${dir}/users.txt\npool_mode = transaction\ndefault_pool_size = ${poolSize}\nmax_client_conn = 12000\nmax_db_connections = ${poolSize}\nignore_startup_parameters = extra_float_digits\nlogfile = ${dir}/pgbouncer.log\n`,
  );
  const { uid, gid } = postgresIds();
  for (const f of [dir, ini, path.join(dir, 'users.txt')]) chownSync(f, uid, gid);
  const child = spawn('runuser', ['-u', 'postgres', '--', 'bash', '-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec /usr/sbin/pgbouncer ${ini}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 20_000;
  let pid = 0;
  while (pid === 0) {
    const r = await run('pgrep', ['-f', `pgbouncer ${ini}`]).catch(() => ({ stdout: '' }));
    pid = Number(
      r.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .find((p) => Number(p) !== child.pid) ?? 0,
    );
    if (!(await canConnect(port))) pid = 0;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`pgbouncer did not start:\n${out}`);
    if (pid === 0) await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async () => {
    const exited = new Promise((r) => child.once('exit', r));
    if (child.exitCode === null) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { name: 'pgbouncer', port, pid, stop };
}

export async function startRelay(targetPort: number): Promise<Proc> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/proxy/bench/relay.js'), String(port), String(targetPort)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await waitForOutput(child, 'relay listening', () => out);
  return { name: 'relay', port, pid: child.pid!, stop: stopper(child) };
}

/** Whether something accepts TCP connections on 127.0.0.1:port right now. */
function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function postgresIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'))!;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}
