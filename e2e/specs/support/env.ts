/** Where the e2e specs run: the local control plane (default) or a kind cluster (make e2e-kind). */
import { existsSync } from 'node:fs';
import path from 'node:path';

// From the sources the repo root is three levels up; from dist/e2e/specs/support (the bench), four.
export const ROOT = path.resolve(import.meta.dirname, existsSync(path.resolve(import.meta.dirname, '../../../package.json')) ? '../../..' : '../../../..');
export const KUBE_BIN = path.join(ROOT, '.cache/kube/bin/current');

/** Set by e2e/kind/run.sh: real kubelets run the pods, no node agent, PostgreSQL runs in the cluster. */
export const ON_KIND = process.env['DBPROXY_E2E_KIND'] === '1';

/** The image the specs put in pod specs: the agent runs anything named *dbproxy*; kind needs the loaded tag. */
export const IMAGE = process.env['DBPROXY_E2E_IMAGE'] ?? 'dbproxy:dev';

export function kubeconfig(): string {
  const kc = process.env['KUBECONFIG'];
  if (!kc) throw new Error('KUBECONFIG is not set: the e2e global setup sets it (run through `npx vitest run --project e2e`)');
  return kc;
}
