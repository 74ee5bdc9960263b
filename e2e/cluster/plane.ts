/**
 * A real Kubernetes control plane for the e2e tests, inside the network namespace the run created
 * (e2e/cluster/exec): etcd on loopback, kube-apiserver on the node address of the pod bridge
 * (10.244.0.1, where pods reach it), kube-controller-manager, an admin token, and a kubeconfig. No
 * kubelet, scheduler or kube-proxy: e2e/agent stands in for the node (see docs/control-plane.md).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from '../../proxy/src/testing/ports.js';
import { stopChild } from './child.js';
import { NODE_IP } from '../agent/ip-pool.js';
import { ensureNodeNetwork } from '../agent/pod-network.js';

export const ROOT = path.resolve(import.meta.dirname, existsSync(path.resolve(import.meta.dirname, '../../package.json')) ? '../..' : '../../..');
export const BIN = path.join(ROOT, '.cache/kube/bin/current');

export interface ControlPlane {
  kubeconfig: string;
  apiserverUrl: string;
  token: string;
  dir: string;
  pids: number[];
  stop(): Promise<void>;
}

const CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'endpointslice-controller',
  'disruption-controller',
];

function start(name: string, args: string[], dir: string, detached: boolean): ChildProcess {
  const log = openSync(path.join(dir, `${name}.log`), 'a');
  const child = spawn(path.join(BIN, name), args, { stdio: ['ignore', log, log], detached });
  closeSync(log);
  if (detached) child.unref();
  return child;
}

function get(url: string, token?: string, ca?: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const mod = url.startsWith('https') ? https : http;
    const req = mod.get(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, ca, timeout: 2_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      const tail = logFile && existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n') : '';
      throw new Error(`timed out waiting for ${what}\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Starts the plane. `detached` keeps it running after this process exits (make cluster-up). */
export async function startControlPlane(opts: { dir?: string; detached?: boolean } = {}): Promise<ControlPlane> {
  for (const b of ['etcd', 'kube-apiserver', 'kube-controller-manager']) {
    if (!existsSync(path.join(BIN, b))) throw new Error(`${b} is not built: run make kube-binaries`);
  }
  ensureNodeNetwork(); // throws outside the plane's own network namespace
  const dir = opts.dir ?? path.join(ROOT, '.cache/kube/state');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'certs'), { recursive: true });
  const detached = opts.detached ?? false;
  const saKey = path.join(dir, 'certs/sa.key');
  const saPub = path.join(dir, 'certs/sa.pub');
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', saKey]);
  execFileSync('openssl', ['ec', '-in', saKey, '-pubout', '-out', saPub], { stdio: 'ignore' });
  const token = randomBytes(24).toString('hex');
  writeFileSync(path.join(dir, 'certs/tokens.csv'), `${token},admin,admin,"system:masters"\n`);

  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const pids: number[] = [];
  const children: ChildProcess[] = [];
  const etcdUrl = `http://127.0.0.1:${etcdClient}`;
  const etcd = start(
    'etcd',
    [
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ],
    dir,
    detached,
  );
  children.push(etcd);
  pids.push(etcd.pid!);
  // Reverse start order, one at a time: the apiserver shuts down cleanly only while etcd is still up.
  const stop = async () => {
    for (const c of [...children].reverse()) await stopChild(c);
  };
  try {
    await until('etcd', async () => (await get(`${etcdUrl}/health`)).body.includes('true'), 60_000, path.join(dir, 'etcd.log'));
    const certDir = path.join(dir, 'apiserver-certs');
    const api = start(
      'kube-apiserver',
      [
        `--etcd-servers=${etcdUrl}`,
        `--bind-address=${NODE_IP}`,
        `--secure-port=${apiPort}`,
        // Also the address in the default/kubernetes EndpointSlice and in the self-signed serving cert.
        `--advertise-address=${NODE_IP}`,
        `--cert-dir=${certDir}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=Node,RBAC',
        `--token-auth-file=${path.join(dir, 'certs/tokens.csv')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        '--enable-priority-and-fairness=false',
        '--allow-privileged=true',
        '--profiling=false',
        '--v=1',
      ],
      dir,
      detached,
    );
    children.push(api);
    pids.push(api.pid!);
    const apiserverUrl = `https://${NODE_IP}:${apiPort}`;
    const caFile = path.join(certDir, 'apiserver.crt');
    await until(
      'kube-apiserver /readyz',
      async () => existsSync(caFile) && (await get(`${apiserverUrl}/readyz`, token, readFileSync(caFile))).status === 200,
      120_000,
      path.join(dir, 'kube-apiserver.log'),
    );
    const kubeconfig = path.join(path.dirname(dir), 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: local',
        '  cluster:',
        `    server: ${apiserverUrl}`,
        `    certificate-authority: ${caFile}`,
        'users:',
        '- name: admin',
        '  user:',
        `    token: ${token}`,
        'contexts:',
        '- name: local',
        '  context: { cluster: local, user: admin, namespace: default }',
        'current-context: local',
        '',
      ].join('\n'),
    );
    const kcm = start(
      'kube-controller-manager',
      [
        `--kubeconfig=${kubeconfig}`,
        '--leader-elect=false',
        '--secure-port=0',
        `--controllers=${CONTROLLERS.join(',')}`,
        `--service-account-private-key-file=${saKey}`,
        `--root-ca-file=${caFile}`,
        '--concurrent-deployment-syncs=2',
        '--v=1',
      ],
      dir,
      detached,
    );
    children.push(kcm);
    pids.push(kcm.pid!);
    const ca = readFileSync(caFile);
    await until(
      'the default ServiceAccount',
      async () => (await get(`${apiserverUrl}/api/v1/namespaces/default/serviceaccounts/default`, token, ca)).status === 200,
      120_000,
      path.join(dir, 'kube-controller-manager.log'),
    );
    writeFileSync(path.join(dir, 'plane.json'), JSON.stringify({ pids, apiserverUrl, kubeconfig }, null, 2));
    return { kubeconfig, apiserverUrl, token, dir, pids, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
