/**
 * Chooses the pod address range (see ip-pool.ts): a local route for 10.244.0.0/16 on `lo` when the
 * agent may add one, else loopback addresses. DBPROXY_AGENT_POD_NETWORK=loopback forces the fallback.
 */
import { execFileSync } from 'node:child_process';
import { IpPool } from './ip-pool.js';

export const POD_CIDR = '10.244.0.0/16';

export function setupPodNetwork(log: (m: string) => void): { pool: IpPool; mode: 'routed' | 'loopback' } {
  if (process.env['DBPROXY_AGENT_POD_NETWORK'] !== 'loopback') {
    try {
      // `local` route: every address in the range is this host's, delivered on lo; nothing leaves the machine.
      execFileSync('ip', ['route', 'replace', 'local', POD_CIDR, 'dev', 'lo'], { stdio: 'pipe' });
      return { pool: new IpPool('10.244', 0), mode: 'routed' };
    } catch (err) {
      log(`cannot route ${POD_CIDR} to lo (${(err as Error).message.split('\n')[0]}); pod IPs from 127.0.1.1, Services will have no EndpointSlice endpoints`);
    }
  }
  return { pool: new IpPool('127.0', 1), mode: 'loopback' };
}

/** Removes the route (make cluster-down, the e2e teardown); absent is fine. */
export function removePodRoute(): void {
  try {
    execFileSync('ip', ['route', 'del', 'local', POD_CIDR, 'dev', 'lo'], { stdio: 'ignore' });
  } catch {
    /* not there */
  }
}
