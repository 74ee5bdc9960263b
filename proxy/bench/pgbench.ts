/** Runs one bounded pgbench and reads what it reports, plus p99 from its sampled per-transaction log. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from './processes.js';

export interface PgbenchRun {
  tps: number;
  latencyAvgMs: number;
  latencyP99Ms: number | null;
  /** Transactions pgbench counted as failed (serialization/deadlock, with --max-tries 1). */
  failed: number;
  /** Clients pgbench gave up on after an error: their transactions are lost, not "failed". */
  abortedClients: number;
  /** The first error pgbench printed, if any (why clients were aborted). */
  firstError: string | null;
  processed: number;
  /** False when pgbench produced no report at all (it could not connect, or crashed). */
  ran: boolean;
}

export interface PgbenchOptions {
  port: number;
  user: string;
  clients: number;
  seconds: number;
  args: string[];
  /** Fraction of transactions logged for the p99 (keeps log files small at high tps). */
  samplingRate?: number;
}

export async function pgbench(o: PgbenchOptions): Promise<PgbenchRun> {
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'bench-log-'));
  try {
    const args = ['-h', '127.0.0.1', '-p', String(o.port), '-U', o.user, '-n', '-c', String(o.clients), '-j', '2', '-T', String(o.seconds), ...o.args];
    args.push('--log', `--log-prefix=${logDir}/tx`, `--sampling-rate=${o.samplingRate ?? 0.05}`, 'postgres');
    // pgbench exits non-zero when clients were aborted; its report on stdout is still complete.
    const out = await run('pgbench', args, { maxBuffer: 1 << 26, cwd: logDir }).catch((e: { stdout?: string; stderr?: string; message?: string }) => ({
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? e.message ?? '',
    }));
    return parsePgbench(out.stdout, out.stderr, readLatencies(logDir));
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
}

/** Latencies in ms from pgbench `--log` files (third field: transaction time in µs). */
function readLatencies(dir: string): number[] {
  const ms: number[] = [];
  for (const f of readdirSync(dir).filter((n) => n.startsWith('tx'))) {
    for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      const us = Number(line.split(' ')[2]);
      if (line && Number.isFinite(us)) ms.push(us / 1000);
    }
  }
  return ms;
}

export function parsePgbench(stdout: string, stderr: string, latenciesMs: number[]): PgbenchRun {
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? NaN);
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const errors = stderr.split('\n').filter((l) => /aborted|error/i.test(l));
  const aborted = (stderr.match(/client \d+ (script \d+ )?aborted/g) ?? []).length;
  const ranAtAll = /tps = /.test(stdout);
  return {
    tps: ranAtAll ? num(/tps = ([\d.]+)/) : 0,
    latencyAvgMs: num(/latency average = ([\d.]+) ms/),
    latencyP99Ms: sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]! : null,
    failed: num(/number of failed transactions: (\d+)/) || 0,
    abortedClients: aborted,
    firstError: errors[0]?.replace(/^pgbench: (error: )?/, '').slice(0, 200) ?? null,
    processed: num(/number of transactions actually processed: (\d+)/) || 0,
    ran: ranAtAll,
  };
}
