/**
 * The images the node agent can run, pure: what a container image name maps to on this machine (the
 * role a container runtime plays), the signal that stops it gracefully (the image's STOPSIGNAL), and
 * the environment the image itself would set.
 */
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';

export interface LocalImage {
  name: 'dbproxy' | 'postgres';
  /** The argv that runs the container, from the repository root and the container's args. */
  command(root: string, args: readonly string[]): string[];
  stopSignal: NodeJS.Signals;
  /** Env the image sets, given the pod's scratch directory (an emptyDir that lives as long as the pod). */
  env(podDir: string): Record<string, string>;
}

const IMAGES: readonly { match: RegExp; image: LocalImage }[] = [
  {
    match: /dbproxy/i,
    image: { name: 'dbproxy', command: (root, args) => [process.execPath, path.join(root, 'bin/dbproxy'), ...args], stopSignal: 'SIGTERM', env: () => ({}) },
  },
  {
    // The official image stops with SIGINT (PostgreSQL's fast shutdown); SIGTERM would wait for every client.
    match: /(^|\/)postgres(:|@|$)/,
    image: {
      name: 'postgres',
      command: (root, args) => [path.join(root, 'e2e/agent/images/postgres'), ...args],
      stopSignal: 'SIGINT',
      env: (podDir) => ({ PGDATA: path.join(podDir, 'pgdata') }),
    },
  },
];

export function imageFor(image: string | undefined): LocalImage | undefined {
  return IMAGES.find((i) => i.match.test(image ?? ''))?.image;
}

/** Pods this agent runs: their (first) container's image is one it knows. */
export function isAgentPod(pod: V1Pod): boolean {
  return imageFor(pod.spec?.containers[0]?.image) !== undefined;
}
