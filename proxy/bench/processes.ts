/** Benchmark support: the processes under test, started on loopback, and their CPU and memory. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../src/testing/ports.js';

export const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../../..');

export interface Proc {
  name: string;
  port: number;
  pid: number;
  adminPort?: number;
  stop(): Promise<void>;
}

/** utime + stime of a process, in microseconds (from /proc/PID/stat; clock ticks are 100 Hz). */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / 100;
}

export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function waitFor(child: ChildProcess, text: string, out: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!out().includes(text)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`process did not start:\n${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
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

export async function startDbproxy(targetPort: number, poolSize: number): Promise<Proc> {
  const port = await freePort();
  const adminPort = await freePort();
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'bin/dbproxy'), 'proxy', '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`, '--target', `127.0.0.1:${targetPort}`, '--pool-size', String(poolSize), '--auth', 'trust', '--log-level', 'warn'],
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
  return { name: 'dbproxy', port, adminPort, pid: child.pid!, stop: stopper(child) };
}

export async function startPgbouncer(targetPort: number, poolSize: number): Promise<Proc> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbproxy-pgbouncer-'));
  const ini = path.join(dir, 'pgbouncer.ini');
  writeFileSync(path.join(dir, 'users.txt'), '"postgres" ""\n');
  writeFileSync(
    ini,
    `[databases]\n* = host=127.0.0.1 port=${targetPort}\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = ${port}\nunix_socket_dir =\nauth_type = trust\nauth_file = ${dir}/users.txt\npool_mode = transaction\ndefault_pool_size = ${poolSize}\nmax_client_conn = 12000\nmax_db_connections = ${poolSize}\nignore_startup_parameters = extra_float_digits\nlogfile = ${dir}/pgbouncer.log\n`,
  );
  const { uid, gid } = postgresIds();
  for (const f of [dir, ini, path.join(dir, 'users.txt')]) chownSync(f, uid, gid);
  const child = spawn('runuser', ['-u', 'postgres', '--', 'bash', '-c', `ulimit -n 20000 2>/dev/null; exec /usr/sbin/pgbouncer ${ini}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 20_000;
  let pid = 0;
  while (pid === 0) {
    const r = await run('pgrep', ['-f', `pgbouncer ${ini}`]).catch(() => ({ stdout: '' }));
    pid = Number(r.stdout.trim().split('\n').filter(Boolean).find((p) => Number(p) !== child.pid) ?? 0);
    const listening = await run('bash', ['-c', `ss -ltn | grep -q ':${port} '`]).then(() => true, () => false);
    if (!listening) pid = 0;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`pgbouncer did not start:\n${out}`);
    if (pid === 0) await new Promise((r) => setTimeout(r, 100));
  }
  return { name: 'pgbouncer', port, pid, stop: async () => void (await run('kill', [String(pid)]).catch(() => undefined)) };
}

export async function startRelay(targetPort: number): Promise<Proc> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/proxy/bench/relay.js'), String(port), String(targetPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await waitFor(child, 'relay listening', () => out);
  return { name: 'relay', port, pid: child.pid!, stop: stopper(child) };
}

function postgresIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'))!;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}
