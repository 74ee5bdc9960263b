/**
 * Vitest globalSetup for the e2e project. Builds nothing (the Makefile runs kube-binaries and build
 * first). Runs only inside the plane's network namespace (e2e/cluster/exec); elsewhere every spec is
 * skipped with the reason. Reuses the plane from `make cluster-up` when `.cache/kube/kubeconfig`
 * answers from here; otherwise starts one (and the node agent) for this run and stops both at the end.
 * On kind (DBPROXY_E2E_KIND=1) it only checks KUBECONFIG.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { stopChild } from '../cluster/child.js';
import { startAgentProcess } from '../cluster/agent-process.js';
import { startControlPlane, type ControlPlane } from '../cluster/plane.js';
import { apiFromKubeconfig } from '../agent/api.js';
import { planeNetns } from '../agent/pod-network.js';
import { ON_KIND, ROOT } from './support/env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    /** The agent's state dir (pod logs under pods/); empty on kind. */
    stateDir: string;
    /** Why the specs cannot run here (no network namespace for the plane); empty when they can. */
    planeUnavailable: string;
  }
}

const SHARED_KUBECONFIG = path.join(ROOT, '.cache/kube/kubeconfig');
const SHARED_STATE = path.join(ROOT, '.cache/kube/state');

async function answers(kubeconfig: string): Promise<boolean> {
  let api: ReturnType<typeof apiFromKubeconfig> | undefined;
  try {
    api = apiFromKubeconfig(kubeconfig);
    return (await api.request('GET', '/readyz')).status === 200;
  } catch {
    return false;
  } finally {
    api?.close();
  }
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (ON_KIND) {
    // e2e/kind/run.sh points KUBECONFIG at the kind cluster (client-certificate auth).
    const kc = process.env['KUBECONFIG'];
    if (!kc) throw new Error('DBPROXY_E2E_KIND=1 needs KUBECONFIG pointing at the kind cluster');
    project.provide('kubeconfig', kc);
    project.provide('stateDir', '');
    project.provide('planeUnavailable', '');
    return async () => {};
  }

  // Pods need network namespaces and the plane needs one to live in; without them the specs would
  // test something unrealistic, so they are skipped with the reason.
  const netns = planeNetns();
  if ('why' in netns) {
    const why = `the e2e specs need the plane's network namespace: ${netns.why}. Run them with \`make test-e2e\` (or \`e2e/cluster/exec npx vitest run --project e2e\`) as root.`;
    process.stderr.write(`\n*** e2e specs skipped: ${why}\n\n`);
    project.provide('kubeconfig', '');
    project.provide('stateDir', '');
    project.provide('planeUnavailable', why);
    return async () => {};
  }

  let plane: ControlPlane | undefined;
  let agent: ChildProcess | undefined;
  let kubeconfig = SHARED_KUBECONFIG;
  let stateDir = SHARED_STATE;
  if (existsSync(SHARED_KUBECONFIG) && (await answers(SHARED_KUBECONFIG))) {
    // make cluster-up is running: use it, and its agent if that is alive.
    const state = JSON.parse(readFileSync(path.join(SHARED_STATE, 'plane.json'), 'utf8')) as { agentPid?: number };
    if (!alive(state.agentPid)) agent = startAgentProcess(kubeconfig, SHARED_STATE);
  } else {
    stateDir = path.join(ROOT, '.cache/kube/e2e-run/state');
    plane = await startControlPlane({ dir: stateDir });
    kubeconfig = plane.kubeconfig;
    agent = startAgentProcess(kubeconfig, stateDir);
  }
  process.env['KUBECONFIG'] = kubeconfig;
  project.provide('kubeconfig', kubeconfig);
  project.provide('stateDir', stateDir);
  project.provide('planeUnavailable', '');

  return async () => {
    if (agent) await stopChild(agent, 15_000);
    await plane?.stop();
  };
}
