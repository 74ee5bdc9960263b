/**
 * Chooses the pod address range (see ip-pool.ts). Default: loopback addresses from 127.0.1.1 — test
 * traffic must stay on loopback in shared sandboxes, where connections to private ranges (10.x, …)
 * are flagged even when they never leave the machine. The apiserver refuses loopback addresses in
 * EndpointSlices, so Services get no endpoints (specs use pod IPs, as kube-proxy would).
 * DBPROXY_AGENT_POD_NETWORK=routed (on your own machine) makes 10.244.0.0/16 a local range on `lo`
 * instead, so EndpointSlices fill in as in a cluster.
 */
import { execFileSync } from 'node:child_process';
import { IpPool } from './ip-pool.js';

export const POD_CIDR = '10.244.0.0/16';

export function setupPodNetwork(log: (m: string) => void): { pool: IpPool; mode: 'routed' | 'loopback' } {
  if (process.env['DBPROXY_AGENT_POD_NETWORK'] === 'routed') {
    try {
      // `local` route: every address in the range is this host's, delivered on lo; nothing leaves the machine.
      execFileSync('ip', ['route', 'replace', 'local', POD_CIDR, 'dev', 'lo'], { stdio: 'pipe' });
      return { pool: new IpPool('10.244', 0), mode: 'routed' };
    } catch (err) {
      log(`cannot route ${POD_CIDR} to lo (${(err as Error).message.split('\n')[0]}); using loopback pod IPs`);
    }
  }
  log('pod IPs from 127.0.1.1 (loopback): Services get no EndpointSlice endpoints; specs use pod IPs');
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
