/**
 * `dbproxy operator`: admin HTTP (/metrics /healthz /readyz /status), leader election on a Lease, and
 * while leading the controller (controller/manager.ts). SIGTERM/SIGINT stop the controller and release
 * the Lease so a standby takes over at once.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { createLogger } from '../../contract/log.js';
import { startAdminServer } from '../../contract/admin-http.js';
import { tryParseHostPort } from '../../contract/config/host-port.js';
import type { ProxyPull } from './controller/desired.js';
import type { OperatorPeer } from './controller/network-policy.js';
import type { RunningController } from './controller/manager.js';
import { OperatorMetrics } from './metrics.js';
import { loadKubeConfig } from '../../contract/kube/kube.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const DEFAULT_PROXY_IMAGE = 'ghcr.io/dbproxy/dbproxy:0.1.0';
export const LEASE_NAME = 'dbproxy-operator';

export const USAGE = `usage: dbproxy operator [flags]
  --watch-namespaces A,B   reconcile DBProxies in these namespaces only, with no cluster-wide reads (default: all)
  --watch-namespace NS     deprecated alias of --watch-namespaces (one namespace; both may be given)
  --token-review-bindings true|false
                           create the ClusterRoleBinding (to system:auth-delegator) that spec.kubernetesAuth needs
                           for each such DBProxy (default: true cluster-wide, false with --watch-namespaces)
  --lease-namespace NS     namespace of the Lease "${LEASE_NAME}" (default: $POD_NAMESPACE, the service account's, or default)
  --metrics-listen H:P     admin HTTP: /metrics /healthz /readyz /status (default 0.0.0.0:8080)
  --proxy-image IMAGE      default proxy image (default: $DBPROXY_PROXY_IMAGE or ${DEFAULT_PROXY_IMAGE})
  --proxy-image-pull-policy P   Always|IfNotPresent|Never for proxy pods (default IfNotPresent)
  --proxy-image-pull-secrets S  comma-separated Secret names for pulling the proxy image, in each DBProxy's namespace
  --operator-pod-labels K=V,..  labels of the operator's own pods, which every DBProxy NetworkPolicy admits to
                           the proxy pods' admin port, in $POD_NAMESPACE (default app.kubernetes.io/name=dbproxy-operator)
  --concurrency N          DBProxies reconciled in parallel (default 4)
  --log-level LEVEL        fatal|error|warn|info|debug|trace|silent (default info)
Kubernetes access: $KUBECONFIG, ~/.kube/config, or the in-cluster service account.`;

export interface OperatorOptions {
  /** Empty: all namespaces. */
  watchNamespaces: string[];
  /** Whether the operator creates each spec.kubernetesAuth DBProxy's TokenReview ClusterRoleBinding. */
  tokenReviewBindings: boolean;
  /** Undefined when the operator does not know its namespace (run outside a pod, no $POD_NAMESPACE). */
  operatorPeer: OperatorPeer | undefined;
  leaseNamespace: string;
  metricsHost: string;
  metricsPort: number;
  proxyImage: string;
  proxyPull: ProxyPull;
  concurrency: number;
  logLevel: string;
  identity: string;
}

function serviceAccountNamespace(): string | undefined {
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      options: {
        'watch-namespace': { type: 'string' },
        'watch-namespaces': { type: 'string' },
        'token-review-bindings': { type: 'string' },
        'operator-pod-labels': { type: 'string' },
        'lease-namespace': { type: 'string' },
        'metrics-listen': { type: 'string' },
        'proxy-image': { type: 'string' },
        'proxy-image-pull-policy': { type: 'string' },
        'proxy-image-pull-secrets': { type: 'string' },
        concurrency: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
}

export function parseOperatorArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): OperatorOptions | 'help' {
  const values = parseFlags(argv);
  if (values.help) return 'help';
  const listen = values['metrics-listen'] ?? '0.0.0.0:8080';
  const hp = tryParseHostPort(listen);
  if (!hp) throw new UsageError(`--metrics-listen "${listen}": expected HOST:PORT, e.g. 0.0.0.0:8080`);
  const concurrency = Number(values.concurrency ?? '4');
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw new UsageError(`--concurrency "${values.concurrency}": expected an integer from 1 to 64`);
  const logLevel = values['log-level'] ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel))
    throw new UsageError(`--log-level "${logLevel}": expected fatal|error|warn|info|debug|trace|silent`);
  const watchNamespaces = namespaceList([values['watch-namespaces'], values['watch-namespace']].filter((v) => v !== undefined).join(','));
  const ownNamespace = env['POD_NAMESPACE'] || serviceAccountNamespace();
  const podLabels = labelList(values['operator-pod-labels'] ?? 'app.kubernetes.io/name=dbproxy-operator');
  return {
    watchNamespaces,
    tokenReviewBindings: booleanFlag('token-review-bindings', values['token-review-bindings'], watchNamespaces.length === 0),
    operatorPeer: ownNamespace ? { namespace: ownNamespace, podLabels } : undefined,
    leaseNamespace: values['lease-namespace'] ?? env['POD_NAMESPACE'] ?? serviceAccountNamespace() ?? 'default',
    metricsHost: hp.host,
    metricsPort: hp.port,
    proxyImage: values['proxy-image'] ?? env['DBPROXY_PROXY_IMAGE'] ?? DEFAULT_PROXY_IMAGE,
    proxyPull: proxyPull(values['proxy-image-pull-policy'], values['proxy-image-pull-secrets']),
    concurrency,
    logLevel,
    // Unique per process: a restarted pod with the same name must not think it still holds the Lease.
    identity: `${env['POD_NAME'] ?? hostname()}_${randomUUID().slice(0, 8)}`,
  };
}

function booleanFlag(name: string, value: string | undefined, byDefault: boolean): boolean {
  if (value === undefined) return byDefault;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new UsageError(`--${name} "${value}": expected true or false`);
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function namespaceList(text: string): string[] {
  const names = [...new Set(text.split(',').map((s) => s.trim()))].filter((s) => s !== '');
  const bad = names.find((n) => !NAMESPACE.test(n) || n.length > 63);
  if (bad !== undefined) throw new UsageError(`--watch-namespaces: "${bad}" is not a namespace name`);
  return names.sort();
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function labelList(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const eq = pair.indexOf('=');
    const [k, v] = eq < 0 ? [pair, undefined] : [pair.slice(0, eq), pair.slice(eq + 1)];
    if (v === undefined || !LABEL_KEY.test(k) || !LABEL_VALUE.test(v) || v.length > 63)
      throw new UsageError(`--operator-pod-labels: "${pair}" is not KEY=VALUE with a label key and value`);
    out[k] = v;
  }
  if (Object.keys(out).length === 0) throw new UsageError('--operator-pod-labels: give at least one KEY=VALUE');
  return out;
}

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function proxyPull(policy: string | undefined, secrets: string | undefined): ProxyPull {
  const out: ProxyPull = {};
  if (policy !== undefined) {
    if (!(PULL_POLICIES as readonly string[]).includes(policy))
      throw new UsageError(`--proxy-image-pull-policy "${policy}": expected Always|IfNotPresent|Never`);
    out.policy = policy as ProxyPull['policy'];
  }
  const names = (secrets ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = names.find((n) => !OBJECT_NAME.test(n) || n.length > 253);
  if (bad !== undefined) throw new UsageError(`--proxy-image-pull-secrets: "${bad}" is not a Secret name`);
  if (names.length > 0) out.secrets = names;
  return out;
}

export interface RunningOperator {
  stop(): Promise<void>;
  isLeader(): boolean;
  /** The admin server's bound address (port 0 picks a free one). */
  adminAddress(): { host: string; port: number };
}

/** Starts everything and returns at once; the caller owns the process (signals, exit). */
export async function startOperator(o: OperatorOptions, deps: { kc?: KubeConfig; log?: Logger } = {}): Promise<RunningOperator> {
  // Loaded here, not at the top: `--help` and flag errors need no Kubernetes client.
  const [{ startController }, { LeaderElector }] = await Promise.all([import('./controller/manager.js'), import('./runtime/leader.js')]);
  const log = deps.log ?? createLogger({ level: o.logLevel, base: { component: 'operator' } });
  const kc = deps.kc ?? loadKubeConfig();
  const metrics = new OperatorMetrics();
  let controller: RunningController | undefined;
  let starting: Promise<void> | undefined;
  let stopping = false;

  const elector = new LeaderElector({ kc, namespace: o.leaseNamespace, name: LEASE_NAME, identity: o.identity, log: log.child({ component: 'leader' }) });
  const stopController = async () => {
    await starting?.catch(() => undefined);
    const c = controller;
    controller = undefined;
    await c?.stop();
  };

  const admin: Server = await startAdminServer(o.metricsHost, o.metricsPort, {
    registry: metrics.registry,
    // A standby is healthy and ready: it is doing its job (waiting). A leader is ready once its caches synced.
    ready: () => (elector.isLeader() && !controller?.synced() ? { ok: false, reason: 'leading; caches not synced yet' } : { ok: true }),
    status: () => ({
      identity: o.identity,
      leader: elector.isLeader(),
      synced: controller?.synced() ?? false,
      queue: controller?.queueLength() ?? 0,
      watchNamespaces: o.watchNamespaces.length ? o.watchNamespaces : null,
      // Names only: which Secrets the operator reads (besides its own children), for audits.
      watchedSecrets: controller?.watchedSecrets() ?? [],
    }),
  });

  const electing = elector.run({
    onStartedLeading: (signal) => {
      log.info({ identity: o.identity }, 'became leader');
      metrics.isLeader.set(1);
      starting = startController({
        kc,
        log,
        metrics,
        defaultImage: o.proxyImage,
        defaultPull: o.proxyPull,
        watchNamespaces: o.watchNamespaces,
        tokenReviewBindings: o.tokenReviewBindings,
        operatorPeer: o.operatorPeer,
        concurrency: o.concurrency,
      }).then((c) => {
        if (signal.aborted) return void c.stop();
        controller = c;
      });
      starting.catch((err: unknown) => log.error({ err }, 'controller failed to start'));
      signal.addEventListener('abort', () => void stopController(), { once: true });
    },
    onStoppedLeading: () => {
      if (stopping) log.info({ identity: o.identity }, 'released leadership');
      else log.warn({ identity: o.identity }, 'lost leadership; stopping the controller');
      metrics.isLeader.set(0);
      void stopController();
    },
  });
  electing.catch((err: unknown) => log.error({ err }, 'leader election ended with an error'));

  return {
    async stop() {
      stopping = true;
      await stopController();
      await elector.stop(); // releases the Lease
      metrics.isLeader.set(0);
      await electing.catch(() => undefined);
      await new Promise<void>((r) => admin.close(() => r()));
    },
    isLeader: () => elector.isLeader(),
    adminAddress: () => {
      const a = admin.address();
      return a && typeof a === 'object' ? { host: a.address, port: a.port } : { host: o.metricsHost, port: o.metricsPort };
    },
  };
}

/** `dbproxy operator [flags]`: runs until SIGTERM or SIGINT. */
export async function runOperator(argv: string[]): Promise<void> {
  const opts = parseOperatorArgs(argv);
  if (opts === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const log = createLogger({ level: opts.logLevel, base: { component: 'operator' } });
  const running = await startOperator(opts, { log });
  log.info({ identity: opts.identity, lease: `${opts.leaseNamespace}/${LEASE_NAME}`, admin: running.adminAddress() }, 'operator started');
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      log.info({ signal: sig }, 'stopping');
      running.stop().then(resolve, (err: unknown) => {
        log.error({ err }, 'error while stopping');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
