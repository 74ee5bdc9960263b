/**
 * The node's pod network, as a CNI bridge plugin would set it up: a bridge in the plane's network
 * namespace with the node address, and per pod a network namespace joined to it by a veth pair, with
 * an address from the pod CIDR and a default route via the node. Everything lives inside the network
 * namespace the test run created (e2e/cluster/exec); nothing here touches the host's own interfaces,
 * and the functions refuse to run outside such a namespace.
 */
import { execFileSync } from 'node:child_process';
import { BRIDGE, NODE_IP, POD_PREFIX_LENGTH, podNetnsName, vethName } from './ip-pool.js';

/** Namespaces the project creates are named `dbproxy…` (e2e/cluster/exec); their name is passed in DBPROXY_NETNS. */
const OWN_NETNS = /^dbproxy[a-z0-9-]*$/;

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * The name of the network namespace this process runs in, when it is one the project created
 * (DBPROXY_NETNS names it and `ip netns identify` agrees); otherwise why not.
 */
export function planeNetns(): { name: string } | { why: string } {
  const name = process.env['DBPROXY_NETNS'];
  if (!name) return { why: 'not inside the plane network namespace (run through e2e/cluster/exec; DBPROXY_NETNS is unset)' };
  if (!OWN_NETNS.test(name)) return { why: `DBPROXY_NETNS=${name} is not a namespace name this project creates (dbproxy…)` };
  let actual: string;
  try {
    actual = ip('netns', 'identify', String(process.pid)).trim();
  } catch (err) {
    return { why: `ip netns identify failed: ${(err as Error).message.split('\n')[0]}` };
  }
  if (actual !== name) return { why: `DBPROXY_NETNS=${name}, but this process runs in network namespace "${actual || 'the host'}"` };
  return { name };
}

function requireOwnNetns(): string {
  const ns = planeNetns();
  if ('why' in ns) throw new Error(`refusing to configure pod networking: ${ns.why}`);
  return ns.name;
}

/** Brings up lo and the pod bridge with the node address; idempotent. Returns the namespace name. */
export function ensureNodeNetwork(): string {
  const ns = requireOwnNetns();
  ip('link', 'set', 'lo', 'up');
  if (!ip('-o', 'link', 'show').includes(` ${BRIDGE}:`)) ip('link', 'add', BRIDGE, 'type', 'bridge');
  if (!ip('-o', 'addr', 'show', 'dev', BRIDGE).includes(` ${NODE_IP}/`)) ip('addr', 'add', `${NODE_IP}/${POD_PREFIX_LENGTH}`, 'dev', BRIDGE);
  ip('link', 'set', BRIDGE, 'up');
  return ns;
}

/** Creates the pod's network namespace on the bridge with `podIP`; returns the namespace name (for `ip netns exec`). */
export function addPodNetwork(podIP: string): string {
  const plane = requireOwnNetns();
  const netns = podNetnsName(plane, podIP);
  const veth = vethName(podIP);
  removePodNetwork(podIP); // leftovers of a pod that had this address and was not cleaned up
  ip('netns', 'add', netns);
  try {
    ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
    ip('link', 'set', veth, 'master', BRIDGE, 'up');
    const inPod = (...args: string[]) => ip('-n', netns, ...args);
    inPod('link', 'set', 'lo', 'up');
    inPod('addr', 'add', `${podIP}/${POD_PREFIX_LENGTH}`, 'dev', 'eth0');
    inPod('link', 'set', 'eth0', 'up');
    inPod('route', 'add', 'default', 'via', NODE_IP);
  } catch (err) {
    removePodNetwork(podIP);
    throw err;
  }
  return netns;
}

/** Deletes the pod's namespace (which takes its veth pair with it); absent is fine. */
export function removePodNetwork(podIP: string): void {
  const plane = planeNetns();
  if ('why' in plane) return;
  for (const args of [
    ['netns', 'del', podNetnsName(plane.name, podIP)],
    ['link', 'del', vethName(podIP)],
  ]) {
    try {
      ip(...args);
    } catch {
      /* not there */
    }
  }
}
