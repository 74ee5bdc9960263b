/** The benchmark's results and their readable form (a Markdown table plus the key ratios). */
import os from 'node:os';
import type { PgbenchRun } from './pgbench.js';

/** One pgbench run through one target, with what was measured around it. */
export interface Result extends Omit<PgbenchRun, 'ran'> {
  case: string;
  target: string;
  clients: number;
  peakBackends: number;
  /** Distinct backend pids sampled during the run (≥ peak; more than the pool size: churn). */
  backendsSeen: number;
  /** Proxy utime+stime over the run ÷ transactions processed; null for direct. */
  cpuMicrosPerTx: number | null;
  cpuUserMicrosPerTx: number | null;
  cpuSysMicrosPerTx: number | null;
  rssMiB: number | null;
  /** DBProxy only: sessions pinned during the run (dbproxy_session_pins_total delta). */
  pins: number | null;
}

export interface IdleResult {
  clientsHeld: number;
  failed: number;
  rssBeforeMiB: number;
  rssWithClientsMiB: number;
  kibPerClient: number;
  backendConnections: number;
}

/** One mover's idle clients measured inside the proxy process after forced GCs (idle-heap.ts). */
export interface IdleHeapResult {
  clients: number;
  failed: number;
  heapKiBPerClient: number;
  externalKiBPerClient: number;
  arrayBuffersKiBPerClient: number;
  rssKiBPerClient: number;
  /** Client sessions the proxy had at the measurement (should equal `clients`). */
  sessions: number;
  /** Database connections the proxy held (its status: idle + active + opening). */
  backendConnections: number;
  /** Client backends PostgreSQL counted (pg_stat_activity). */
  pgBackends: number;
}

export interface RunInfo {
  seconds: number;
  pool: number;
  maxConnections: number;
  scale: number;
}

const fmt = (v: number | null | undefined, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(d));

/** A result is comparable only if the run completed without clients being aborted. */
const clean = (r: Result | undefined): boolean => r !== undefined && r.tps > 0 && r.abortedClients === 0;

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM; Node ${process.version}; ${os.type()} ${os.release()}`;
}

function ratio(a: Result, b: Result | undefined): string {
  return b && clean(a) && clean(b) ? fmt(a.tps / b.tps, 2) : '—';
}

function row(r: Result, all: Result[]): string {
  const peer = (t: string) => all.find((x) => x.case === r.case && x.target === t);
  const cpu = r.cpuMicrosPerTx === null ? '—' : `${fmt(r.cpuMicrosPerTx)} (${fmt(r.cpuUserMicrosPerTx)} + ${fmt(r.cpuSysMicrosPerTx)})`;
  const broken = r.abortedClients > 0 || !clean(r) ? ` ⚠ ${r.abortedClients} clients aborted` : '';
  const cells = [
    r.case,
    r.target + broken,
    fmt(r.tps, 0),
    fmt(r.latencyAvgMs, 2),
    fmt(r.latencyP99Ms, 2),
    String(r.failed),
    `${r.peakBackends} (${r.backendsSeen})`,
    r.peakBackends > 0 ? fmt(r.clients / r.peakBackends, 1) : '—',
    r.pins === null ? '' : String(r.pins),
    cpu,
    fmt(r.rssMiB),
    r.target.startsWith('dbproxy') ? ratio(r, peer('pgbouncer')) : '',
    r.target.startsWith('dbproxy') ? ratio(r, peer('direct')) : '',
  ];
  return `| ${cells.join(' | ')} |`;
}

export function summary(results: Result[]): string[] {
  const lines: string[] = [];
  const cases = [...new Set(results.map((r) => r.case))];
  for (const c of cases) {
    const get = (t: string) => results.find((r) => r.case === c && r.target === t);
    const d = get('dbproxy');
    if (!d) continue;
    const b = get('pgbouncer');
    const parts = [`DBProxy/PgBouncer ${ratio(d, b)}`];
    const n = get('dbproxy-node');
    if (n) parts.push(`DBProxy on Node sockets/PgBouncer ${ratio(n, b)}`);
    const direct = get('direct');
    if (direct) parts.push(`DBProxy/direct ${ratio(d, direct)}`);
    const cpuB = b?.cpuMicrosPerTx;
    if (clean(d) && clean(b) && cpuB && d.cpuMicrosPerTx !== null) parts.push(`DBProxy CPU/tx ÷ PgBouncer's ${fmt(d.cpuMicrosPerTx / cpuB, 2)}`);
    const cpu = ['dbproxy', 'dbproxy-node', 'pgbouncer', 'relay'].filter((t) => clean(get(t))).map((t) => [t, get(t)?.cpuMicrosPerTx] as const);
    if (cpu.length) parts.push(`CPU µs/tx ${cpu.map(([t, v]) => `${t} ${fmt(v ?? null)}`).join(', ')}`);
    if (b && !clean(b)) parts.push(`PgBouncer: ${b.abortedClients} clients aborted (${b.firstError ?? 'no report'})`);
    if (!clean(d)) parts.push(`DBProxy: ${d.abortedClients} clients aborted (${d.firstError ?? 'no report'})`);
    lines.push(
      `- ${c}: ${parts.join('; ')}; DBProxy peak backends ${d.peakBackends} (${d.backendsSeen} distinct seen), ` +
        `${d.peakBackends > 0 ? fmt(d.clients / d.peakBackends, 1) : '—'} clients per backend, ${d.pins ?? 0} pins, failed ${d.failed}.`,
    );
  }
  return lines;
}

export function markdown(info: RunInfo, results: Result[], idle: Record<string, IdleResult>, idleHeap?: Record<string, IdleHeapResult>): string {
  const lines = [
    `# DBProxy benchmark — ${new Date().toISOString()}`,
    '',
    `Machine: ${machine()}.`,
    `pgbench ${info.seconds} s per run, scale ${info.scale}, pool ${info.pool}, PostgreSQL max_connections ${info.maxConnections}, fsync off, loopback TCP.`,
    'CPU is the proxy process’s utime+stime over the run ÷ transactions (user + kernel in brackets).',
    'Backends: the most seen at once in pg_stat_activity (200 ms samples), and how many distinct ones were seen.',
    '',
    '| case | target | tps | latency avg ms | p99 ms | failed | peak backends (distinct seen) | clients per backend | pins | proxy CPU µs/tx (user + kernel) | proxy RSS MiB | ÷ PgBouncer | ÷ direct |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...results.map((r) => row(r, results)),
    '',
    '## Summary',
    '',
    ...summary(results),
    '',
    '## Idle clients held at once (one query each, then idle)',
    '',
    '| proxy | clients held | failed | RSS before MiB | RSS with clients MiB | KiB per client | backend connections |',
    '|---|---|---|---|---|---|---|',
    ...Object.entries(idle).map(
      ([name, i]) => `| ${name} | ${i.clientsHeld} | ${i.failed} | ${i.rssBeforeMiB} | ${i.rssWithClientsMiB} | ${i.kibPerClient} | ${i.backendConnections} |`,
    ),
    '',
  ];
  if (idleHeap) {
    lines.push(
      '## Idle clients, proxy heap after GC',
      '',
      'An in-process proxy per mover, clients in another process; two forced GCs before and after; KiB per client of the growth.',
      '',
      '| mover | clients | failed | heap KiB per client | external KiB per client | RSS KiB per client | backend connections |',
      '|---|---|---|---|---|---|---|',
      ...Object.entries(idleHeap).map(
        ([m, h]) =>
          `| ${m} | ${h.clients} | ${h.failed} | ${fmt(h.heapKiBPerClient, 2)} | ${fmt(h.externalKiBPerClient, 2)} | ${fmt(h.rssKiBPerClient, 2)} | ${h.backendConnections} |`,
      ),
      '',
    );
  }
  return lines.join('\n');
}
