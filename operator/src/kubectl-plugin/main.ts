/**
 * `kubectl dbproxy` (bin/kubectl-dbproxy): finds a DBProxy's proxy pods by the labels the operator
 * puts on them and reads each pod's admin `/status` and `/config` through the apiserver's pod proxy, so it needs
 * nothing but the user's kubeconfig (and RBAC `get` on pods/proxy); no port-forward, no pod network.
 * `/status` wants the DBProxy's admin token: read from Secret X-proxy-admin-token (RBAC `get` on it),
 * sent in the header the pod proxy forwards (it consumes `Authorization` itself).
 */
import type { KubeConfig, V1Pod, V1PodList } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../../contract/kube/kube.js';
import { getJson, HttpStatusError } from '../../../contract/kube/request.js';
import { GROUP, PLURAL, VERSION } from '../api/v1alpha1/schema.js';
import { ADMIN_TOKEN_HEADER } from '../../../contract/admin-auth.js';
import { ADMIN_PORT, ADMIN_TOKEN_KEY, childNames, selectorLabels } from '../controller/names.js';
import { formatTable, parseArgs, podRow, USAGE, type PodInfo } from './status-table.js';

export { UsageError } from './status-table.js';

const STATUS_TIMEOUT_MS = 10_000;

export async function runKubectlPlugin(argv: readonly string[], out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const args = parseArgs(argv);
  if (args === 'help') return void out.write(USAGE);
  const kc = loadKubeConfig();
  const ns = args.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  const enc = encodeURIComponent;
  try {
    await getJson(kc, `/apis/${GROUP}/${VERSION}/namespaces/${enc(ns)}/${PLURAL}/${enc(args.name)}`, {});
  } catch (err) {
    if (err instanceof HttpStatusError && err.code === 404) throw new Error(`DBProxy ${ns}/${args.name} not found`);
    throw err;
  }
  const selector = Object.entries(selectorLabels(args.name))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = (await getJson<V1PodList>(kc, `/api/v1/namespaces/${enc(ns)}/pods`, { labelSelector: selector })).items;
  if (pods.length === 0) return void out.write(`No proxy pods for DBProxy ${ns}/${args.name}.\n`);
  pods.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  const token = await adminToken(kc, ns, args.name);
  const rows = await Promise.all(
    pods.map(async (p) => {
      const pod = podInfo(p);
      if (pod.unreachable) return podRow(pod, undefined);
      const [status, config] = await Promise.all([read(kc, ns, pod.name, 'status', token), read(kc, ns, pod.name, 'config')]);
      return podRow(pod, status, config);
    }),
  );
  out.write(formatTable(rows));
}

function podInfo(p: V1Pod): PodInfo {
  const name = p.metadata?.name ?? '';
  const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const phase = p.status?.phase ?? 'Unknown';
  if (p.metadata?.deletionTimestamp) return { name, ready, unreachable: 'terminating' };
  if (phase !== 'Running') return { name, ready, unreachable: `not running (${phase})` };
  return { name, ready };
}

/** The body of the pod's admin `/status` or `/config`, or the Error that says why it could not be read. */
async function read(kc: KubeConfig, ns: string, pod: string, what: 'status' | 'config', token?: string): Promise<unknown> {
  const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod)}:${ADMIN_PORT}/proxy/${what}`;
  try {
    return await getJson(kc, path, {}, STATUS_TIMEOUT_MS, token ? { [ADMIN_TOKEN_HEADER]: token } : {});
  } catch (err) {
    if (err instanceof HttpStatusError) return new Error(`/${what}: HTTP ${err.code}${hint(err.code, token)}`);
    return new Error(`/${what}: ${(err as Error).message}`);
  }
}

function hint(code: number, token: string | undefined): string {
  if (code === 403) return ' (RBAC: get pods/proxy is needed)';
  if (code === 401) return token ? ' (the admin token was refused)' : ' (the admin token is needed: RBAC get on its Secret)';
  return '';
}

/** The DBProxy's admin token, or undefined when its Secret cannot be read (then /status says 401 per pod). */
async function adminToken(kc: KubeConfig, ns: string, name: string): Promise<string | undefined> {
  const secret = childNames(name).adminTokenSecret;
  try {
    const s = await getJson<{ data?: Record<string, string> }>(kc, `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(secret)}`, {});
    const b64 = s.data?.[ADMIN_TOKEN_KEY];
    return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
  } catch {
    return undefined;
  }
}
