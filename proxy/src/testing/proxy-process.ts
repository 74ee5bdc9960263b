/**
 * Test support: `bin/dbproxy proxy` as its own process (needs `npm run build`). startProxyProcess:
 * from a config, on free loopback ports, with what a load test watches (whether it is up, its
 * resident memory from /proc, its /status, the tail of its output); spawnDbproxy: with the given
 * arguments, as a user runs it, until it says it listens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

const BIN = path.resolve(import.meta.dirname, '../../../bin/dbproxy');
const OUTPUT_KEPT = 64 * 1024;

export interface ProxyProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly adminPort: number;
  /** The process has not exited. */
  alive(): boolean;
  /** Resident memory now and its peak so far (VmRSS, VmHWM), in bytes. */
  memory(): { rss: number; peak: number };
  status(): Promise<{ clients: { total: number; byState: Record<string, number> } }>;
  metrics(): Promise<string>;
  /** The last 64 KiB the process wrote (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

export interface SpawnedProxy {
  child: ChildProcess;
  /** The ports its "proxy listening" line names. */
  port: number;
  adminPort: number;
  /** Everything it wrote so far (stdout and stderr). */
  output: () => string;
  exited: Promise<number | null>;
}

/** `bin/dbproxy proxy ARGS`, once it logs "proxy listening"; rejects with its output if it exits first. */
export async function spawnDbproxy(args: string[]): Promise<SpawnedProxy> {
  const child = spawn(process.execPath, [BIN, 'proxy', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`proxy did not start:\n${out}`);
      return out.includes('proxy listening');
    },
    () => `the proxy to start:\n${out}`,
  );
  const line = out.split('\n').find((l) => l.includes('proxy listening'))!;
  const info = JSON.parse(line) as { listen: string; admin: string };
  return { child, port: Number(info.listen.split(':').pop()), adminPort: Number(info.admin.split(':').pop()), output: () => out, exited };
}

/** Starts the proxy with `config` (file shape; listen and admin.listen are set here). */
export async function startProxyProcess(config: Record<string, unknown>): Promise<ProxyProcess> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbproxy-proc-'));
  const port = await freePort();
  const adminPort = await freePort();
  const file = path.join(dir, 'config.json');
  const admin = { ...((config['admin'] as object | undefined) ?? {}), listen: `127.0.0.1:${adminPort}` };
  writeFileSync(file, JSON.stringify({ ...config, listen: `127.0.0.1:${port}`, admin }));
  const child = spawn(process.execPath, [BIN, 'proxy', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-OUTPUT_KEPT);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const admin_ = (p: string) => fetch(`http://127.0.0.1:${adminPort}${p}`);
  const p: ProxyProcess = {
    child,
    port,
    adminPort,
    alive,
    memory() {
      const s = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
      return { rss: kib('VmRSS'), peak: kib('VmHWM') };
    },
    status: async () => (await admin_('/status')).json() as never,
    metrics: async () => (await admin_('/metrics')).text(),
    output: () => out,
    async stop() {
      if (alive()) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(
      async () => {
        if (!alive()) throw new Error(`the proxy exited:\n${out}`);
        return (await admin_('/healthz').catch(() => undefined))?.ok === true;
      },
      () => `the proxy to serve /healthz:\n${out}`,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  } catch (err) {
    await p.stop();
    throw err;
  }
  return p;
}
