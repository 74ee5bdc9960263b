/**
 * The local node agent: stands in for the kubelet, the scheduler and the CNI plugin on this machine.
 * It binds pending pods of the images it knows (images.ts) to the Node `local`, gives each a network
 * namespace on the pod bridge, runs them (PodRunner), and finishes their deletion.
 * Pods come from a list + watch loop (relist on 410 or any error), the informer pattern in small.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { apiFromKubeconfig, expectStatus } from './api.js';
import { IpPool, NODE_IP, POD_CIDR } from './ip-pool.js';
import { isAgentPod } from './images.js';
import { ensureNodeNetwork } from './pod-network.js';
import { heartbeat, NODE_NAME, registerNode } from './node.js';
import { PodRunner } from './pod-runner.js';

export interface AgentOptions {
  kubeconfig: string;
  /** Pod logs and kubeconfigs go to `<stateDir>/pods/`. */
  stateDir: string;
  /** The repo root: pods run `<root>/bin/dbproxy`. */
  root: string;
  log?: (msg: string) => void;
}

export interface Agent {
  stop(): Promise<void>;
}

/** The kubelet honours any grace period; the agent caps it so a test run stays bounded. */
const MAX_GRACE_MS = 120_000;

export async function startAgent(opts: AgentOptions): Promise<Agent> {
  const log = opts.log ?? ((m: string) => process.stdout.write(`${new Date().toISOString()} ${m}\n`));
  const api = apiFromKubeconfig(opts.kubeconfig);
  const podsDir = path.join(opts.stateDir, 'pods');
  mkdirSync(podsDir, { recursive: true });
  const netns = ensureNodeNetwork(); // throws outside the plane's own network namespace
  await registerNode(api);
  const ips = new IpPool();
  const runners = new Map<string, PodRunner>();
  // Pods in their grace period: out of `runners`, still to be cleaned up (network, scratch dir, mount points).
  const leaving = new Set<PodRunner>();
  const finishing = new Set<string>();
  const abort = new AbortController();
  const beat = setInterval(() => heartbeat(api).catch((e: Error) => log(`heartbeat: ${e.message}`)), 20_000);

  const stopRunner = async (key: string, graceMs: number) => {
    const r = runners.get(key);
    if (!r) return;
    runners.delete(key);
    leaving.add(r);
    await r.stop(graceMs);
    leaving.delete(r);
    ips.release(r.podIP);
  };

  const finishDeletion = async (pod: V1Pod, key: string) => {
    if (finishing.has(key)) return;
    finishing.add(key);
    try {
      const grace = Math.min((pod.metadata?.deletionGracePeriodSeconds ?? 30) * 1000, MAX_GRACE_MS);
      await stopRunner(key, grace);
      const { namespace, name, uid } = pod.metadata!;
      const res = await api.request('DELETE', `/api/v1/namespaces/${namespace}/pods/${name}`, { gracePeriodSeconds: 0, preconditions: { uid } });
      expectStatus(`delete pod ${key}`, res, [200, 404, 409]);
      log(`${key}: deleted`);
    } catch (err) {
      log(`${key}: finishing deletion: ${(err as Error).message}`);
    } finally {
      finishing.delete(key);
    }
  };

  const bind = async (pod: V1Pod, key: string) => {
    const { namespace, name } = pod.metadata!;
    const res = await api.request('POST', `/api/v1/namespaces/${namespace}/pods/${name}/binding`, {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name, namespace },
      target: { apiVersion: 'v1', kind: 'Node', name: NODE_NAME },
    });
    if (res.status === 201) log(`${key}: bound to ${NODE_NAME}`);
    else if (res.status !== 409 && res.status !== 404) log(`${key}: binding failed: HTTP ${res.status}`);
  };

  const handle = (type: string, pod: V1Pod) => {
    if (!isAgentPod(pod) || !pod.metadata?.name || !pod.metadata.namespace) return;
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const runner = runners.get(key);
    if (runner && runner.uid !== pod.metadata.uid) void stopRunner(key, 0); // same name, new pod
    if (type === 'DELETED') {
      void stopRunner(key, 0);
      return;
    }
    if (!pod.spec?.nodeName) {
      if (!pod.metadata.deletionTimestamp) void bind(pod, key);
      return;
    }
    if (pod.spec.nodeName !== NODE_NAME) return;
    if (pod.metadata.deletionTimestamp) {
      void finishDeletion(pod, key);
      return;
    }
    const current = runners.get(key);
    if (current && current.uid === pod.metadata.uid) {
      current.update(pod);
      return;
    }
    const r = new PodRunner(pod, ips.allocate(), { api, root: opts.root, podsDir, log });
    runners.set(key, r);
    r.start();
  };

  const loop = async () => {
    while (!abort.signal.aborted) {
      try {
        const list = await api.request<{ items: V1Pod[]; metadata: { resourceVersion: string } }>('GET', '/api/v1/pods');
        expectStatus('list pods', list, [200]);
        const seen = new Set(list.body.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`));
        for (const key of runners.keys()) if (!seen.has(key)) void stopRunner(key, 0);
        for (const p of list.body.items) handle('ADDED', p);
        let rv = list.body.metadata.resourceVersion;
        let expired = false;
        while (!abort.signal.aborted && !expired) {
          await api.watch(
            `/api/v1/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=60&resourceVersion=${rv}`,
            (type, obj) => {
              if (type === 'ERROR') {
                expired = true; // 410 Gone or another watch error: relist
                return;
              }
              rv = (obj as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion ?? rv;
              if (type !== 'BOOKMARK') handle(type, obj as V1Pod);
            },
            abort.signal,
          );
        }
      } catch (err) {
        if (abort.signal.aborted) break;
        log(`pod watch: ${(err as Error).message}; relisting`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  };
  const running = loop();
  log(`node agent up: Node ${NODE_NAME} at ${NODE_IP} in network namespace ${netns}, pods on ${POD_CIDR}, pod logs in ${podsDir}`);

  return {
    async stop() {
      abort.abort();
      clearInterval(beat);
      await running;
      // A node going down kills what is still in its grace period, so its clean-up runs before the exit.
      await Promise.all([...[...runners.keys()].map((k) => stopRunner(k, 5_000)), ...[...leaving].map((r) => r.stop(0))]);
      api.close();
    },
  };
}
