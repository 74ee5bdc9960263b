// The fuzz run's bookkeeping: counters, recorded failures, what each worker is doing, the summary.
import { SEED } from './knobs.js';

export const stats = {
  relay: { connections: 0, bytes: 0, handovers: 0, bursts: 0, refused: 0, hardCap: '' as string, modes: {} as Record<string, number> },
  hostile: { connections: 0, bytesOut: 0, bytesIn: 0, logins: 0, scenarios: {} as Record<string, number> },
  workload: { transactions: 0, failures: 0 },
  proxyLogs: {} as Record<string, number>,
};
export const failures: { kind: string; message: string }[] = [];
/** What each worker is doing now, for the watchdog's message. */
export const doing = new Map<string, string>();

export function failure(kind: 'echo' | 'workload' | 'proxy' | 'driver' | 'uncaught', message: string): void {
  failures.push({ kind, message });
  if (failures.length <= 30) process.stderr.write(`native-fuzz: FAIL [${kind}] ${message}\n`);
}

export const bump = (m: Record<string, number>, k: string): void => void (m[k] = (m[k] ?? 0) + 1);

/** One line of progress, for the ticker and the watchdog. */
export function progress(): string {
  return JSON.stringify({
    relay: stats.relay.connections,
    hostile: stats.hostile.connections,
    workload: stats.workload.transactions,
    failures: failures.length,
    doing: Object.fromEntries(doing),
  });
}

/** The JSON summary printed as the last line on stdout. */
export function summary(start: number, asan: boolean, proxyAnswers: boolean): Record<string, unknown> {
  return {
    seed: SEED,
    seconds: Math.round((Date.now() - start) / 100) / 10,
    asan,
    iterations: stats.relay.connections + stats.hostile.connections + stats.workload.transactions,
    bytes: stats.relay.bytes + stats.hostile.bytesOut,
    relayConnections: stats.relay.connections,
    relayBytes: stats.relay.bytes,
    relayHandovers: stats.relay.handovers,
    relayBursts: stats.relay.bursts,
    relayRefused: stats.relay.refused,
    relayHardCap: stats.relay.hardCap || 'not reached',
    hostileConnections: stats.hostile.connections,
    hostileBytes: stats.hostile.bytesOut,
    hostileLogins: stats.hostile.logins,
    workloadTransactions: stats.workload.transactions,
    workloadFailures: stats.workload.failures,
    echoFailures: failures.filter((f) => f.kind === 'echo').length,
    otherFailures: failures.filter((f) => f.kind !== 'echo' && f.kind !== 'workload').length,
    proxyAnswers,
    proxyLogs: stats.proxyLogs,
    hostileScenarios: stats.hostile.scenarios,
    relayModes: stats.relay.modes,
  };
}
