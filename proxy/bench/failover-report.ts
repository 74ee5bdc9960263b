/** The failover bench's table: one row per failover, then the median flip per mode. */
import type { WorkloadResult } from './failover-workload.js';

export interface FailoverRun extends WorkloadResult {
  mode: 'dbproxy' | 'direct';
  run: number;
  clients: number;
  promoteAfterMs: number;
}

export interface FailoverSummary {
  mode: string;
  medianFlipMs: number | null;
  medianAllClientsMs: number | null;
  errorsBetween: number;
  errorsInside: number;
  drops: number;
}

function median(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0 || v.length < xs.length) return null;
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
}

export function summarize(runs: FailoverRun[]): FailoverSummary[] {
  return [...new Set(runs.map((r) => r.mode))].map((mode) => {
    const rs = runs.filter((r) => r.mode === mode);
    const sum = (k: 'errorsBetween' | 'errorsInside' | 'drops') => rs.reduce((s, r) => s + r[k], 0);
    return {
      mode,
      medianFlipMs: median(rs.map((r) => r.flipMs)),
      medianAllClientsMs: median(rs.map((r) => r.allClientsMs)),
      errorsBetween: sum('errorsBetween'),
      errorsInside: sum('errorsInside'),
      drops: sum('drops'),
    };
  });
}

const ms = (x: number | null) => (x === null ? '— (not reached)' : `${Math.round(x)} ms`);

export function failoverMarkdown(runs: FailoverRun[], summary: FailoverSummary[]): string {
  const lines = [
    `Failover: ${runs[0]?.clients ?? 0} clients in a loop of BEGIN; INSERT; COMMIT; the primary stopped (immediate), the standby promoted ${runs[0]?.promoteAfterMs ?? 0} ms later.`,
    '',
    '| mode | run | flip (promotion → first commit on the new writer) | all clients on the new writer | errors at BEGIN (clients between transactions) | errors after BEGIN (transactions cut) | dropped connections | errors seen | first drop | stuck (never answered) |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...runs.map(
      (r) =>
        `| ${r.mode} | ${r.run} | ${ms(r.flipMs)} | ${ms(r.allClientsMs)} | ${r.errorsBetween} | ${r.errorsInside} | ${r.drops} | ${r.errors.join('; ')} | ${r.firstDrop ?? ''} | ${r.stuck.length ? `${r.stuck.length}: ${r.stuck.join(', ')}` : 0} |`,
    ),
    '',
    '| mode | median flip | median all clients | errors at BEGIN (total) | errors after BEGIN (total) | drops (total) |',
    '|---|---|---|---|---|---|',
    ...summary.map((s) => `| ${s.mode} | ${ms(s.medianFlipMs)} | ${ms(s.medianAllClientsMs)} | ${s.errorsBetween} | ${s.errorsInside} | ${s.drops} |`),
    '',
  ];
  return lines.join('\n');
}
