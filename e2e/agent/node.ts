/** Registers the Node `local` and keeps its Ready condition fresh. */
import type { Api } from './api.js';
import { expectStatus } from './api.js';
import { NODE_IP } from './ip-pool.js';

export const NODE_NAME = 'local';

function nodeStatus(now: string): Record<string, unknown> {
  // Capacity large enough for every pod the tests create; nothing schedules against it (no scheduler).
  const resources = { cpu: '16', memory: '32Gi', pods: '250', 'ephemeral-storage': '100Gi' };
  return {
    capacity: resources,
    allocatable: resources,
    addresses: [
      { type: 'InternalIP', address: NODE_IP },
      { type: 'Hostname', address: NODE_NAME },
    ],
    conditions: [
      { type: 'Ready', status: 'True', reason: 'AgentReady', message: 'local node agent is running', lastHeartbeatTime: now, lastTransitionTime: now },
    ],
    nodeInfo: {
      machineID: 'local',
      systemUUID: 'local',
      bootID: 'local',
      kernelVersion: '',
      osImage: 'local node agent',
      containerRuntimeVersion: 'agent://0',
      kubeletVersion: 'v1.36.3',
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    },
  };
}

export async function registerNode(api: Api): Promise<void> {
  const created = await api.request('POST', '/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: NODE_NAME, labels: { 'kubernetes.io/hostname': NODE_NAME, 'kubernetes.io/os': 'linux', 'node.dbproxy.io/agent': 'true' } },
  });
  expectStatus('create Node local', created, [201, 409]);
  await heartbeat(api);
}

export async function heartbeat(api: Api): Promise<void> {
  const res = await api.request(
    'PATCH',
    `/api/v1/nodes/${NODE_NAME}/status`,
    { status: nodeStatus(new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')) },
    'application/merge-patch+json',
  );
  expectStatus('update Node local status', res);
}
