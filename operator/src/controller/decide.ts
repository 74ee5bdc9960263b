/**
 * One reconcile's decisions for one DBProxy, pure: from what was observed to the actions, the status,
 * the Events and what the prober should watch. reconcile.ts does the I/O around it; tests run it
 * twice against an in-memory apiserver to show a second pass changes nothing.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { ConfigError, parseConfigText } from '../../../contract/config/load.js';
import { readerSet } from '../../../contract/health/readers.js';
import { initialHealth, type TargetHealth } from '../../../contract/health/writer.js';
import type { BackendTls } from '../../../contract/config/backend-tls.js';
import { SSL_MODE_NAMES, type DBProxy, type DBProxySpec, type DBProxyStatus } from '../api/v1alpha1/schema.js';
import { durationMs, validateSpec } from '../api/v1alpha1/validate.js';
import { adminTokenOf } from './admin-token.js';
import { desiredObjects, type ProxyPull } from './desired.js';
import { plan, type Action } from './plan.js';
import { childNames } from './names.js';
import { configOutcome, type ConfigOutcome, type PodConfigReport } from './pod-config.js';
import type { OperatorPeer } from './network-policy.js';
import { podMonitorPlan } from './pod-monitor.js';
import { poolSizePerPod, readerPoolSizePerPod } from './pool-size.js';
import { renderConfigYaml } from './render-config.js';
import { resolveSecrets, type SecretLookup } from './secrets.js';
import { computeStatus, statusEqual, type DeploymentView } from './status.js';
import { notBoundEvent, tokenReviewBinding } from './token-review.js';
import { candidateEndpoints, chooseWriter, fallbackEndpoints, type EndpointSliceLike } from './targets.js';

export interface Observed {
  dbproxy: DBProxy & { metadata: { uid: string } };
  /** The DBProxy's own children, each with apiVersion and kind set. */
  children: KubernetesObject[];
  secret: SecretLookup;
  endpointSlices: EndpointSliceLike[];
  /** The prober's latest view of an endpoint, undefined when not probed yet. */
  health: (endpoint: string) => TargetHealth | undefined;
  now: string;
  defaultImage: string;
  defaultPull?: ProxyPull | undefined;
  /** The operator's own pods (for spec.networkPolicy); undefined: not known. */
  operatorPeer?: OperatorPeer | undefined;
  /** Makes a new admin token when the DBProxy has none yet (admin-token.ts); tests pass a fixed one. */
  newAdminToken?: () => string;
  /** Whether the apiserver serves PodMonitors (pod-monitor-watch.ts); undefined: not known. */
  podMonitorsServed?: boolean | undefined;
  /** What each proxy pod said on /config (pod-config.ts); undefined: the pods were not asked. */
  podConfigs?: PodConfigReport[] | undefined;
  /** Whether this operator creates the TokenReview ClusterRoleBinding of spec.kubernetesAuth (token-review.ts). */
  tokenReviewBindings?: boolean | undefined;
}

export interface ProbePlan {
  endpoints: string[];
  intervalMs: number;
  failureThreshold: number;
  user: string;
  password: string;
  /** The operator's probes use the pods' backend TLS settings, with the CA read from its Secret. */
  tls: BackendTls;
}

/** spec.backendTLS for the operator's own probes (unset: Prefer, the proxy's default). */
export function probeTls(spec: DBProxySpec, ca: string | undefined): BackendTls {
  const t = spec.backendTLS;
  return {
    sslmode: t ? SSL_MODE_NAMES[t.sslMode] : 'prefer',
    ...(ca !== undefined ? { ca } : {}),
    ...(t?.serverName !== undefined ? { serverName: t.serverName } : {}),
  };
}

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface Decision {
  actions: Action[];
  status: DBProxyStatus;
  statusChanged: boolean;
  events: EventSpec[];
  /** What the prober should probe for this DBProxy; undefined stops probing it. */
  probe: ProbePlan | undefined;
  /** Recomputes the status after a failed apply (the only input that changes after decide). */
  withApplyError(message: string): DBProxyStatus;
  /** Look again this soon: the pods are not all on the current config yet. */
  requeueAfterMs?: number;
}

/** How soon to ask the pods again while a new config spreads. */
export const CONFIG_REQUEUE_MS = 2_000;

export function decide(o: Observed): Decision {
  const { metadata } = o.dbproxy;
  const base = { name: metadata.name, namespace: metadata.namespace, generation: metadata.generation ?? 0, previous: o.dbproxy.status, now: o.now };

  const v = validateSpec(o.dbproxy.spec, metadata.name);
  const secrets = v.ok ? resolveSecrets(v.spec, o.secret) : undefined;
  if (!v.ok) return refuse(o, base, { reason: 'InvalidSpec', problems: v.problems });
  if (!secrets?.ok) return refuse(o, base, { reason: 'SecretUnavailable', problems: secrets && !secrets.ok ? secrets.problems : [] });
  return decideValid(o, v.spec, secrets.users, base, secrets.backendCa);
}

type StatusBase = Omit<Parameters<typeof computeStatus>[0], 'desiredReplicas' | 'deployment' | 'healths' | 'writer' | 'targetGeneration'>;

/**
 * Nothing is applied: a typo must not take a working fleet down. Ready=False says why, and an
 * Event when the reason or the problems changed.
 */
function refuse(o: Observed, base: StatusBase, invalid: { reason: string; problems: string[] }): Decision {
  const prevGen = o.dbproxy.status?.targetGeneration ?? 0;
  const status = computeStatus({
    ...base,
    invalid,
    desiredReplicas: 0,
    deployment: deploymentOf(o.children),
    healths: [],
    writer: o.dbproxy.status?.currentTarget,
    targetGeneration: prevGen,
  });
  const was = o.dbproxy.status?.conditions?.find((c) => c.type === 'Ready');
  const changed = was?.reason !== invalid.reason || was.message !== invalid.problems.join('; ');
  return {
    actions: [],
    status,
    statusChanged: !statusEqual(status, o.dbproxy.status),
    events: changed ? [{ type: 'Warning', reason: invalid.reason, message: invalid.problems.join('; ') }] : [],
    probe: undefined,
    withApplyError: () => status,
  };
}

/** What the proxy pods would refuse in the rendered config, by the loader they run. */
function configProblems(configYaml: string): string[] {
  try {
    parseConfigText(configYaml, 'config.yaml');
    return [];
  } catch (err) {
    return err instanceof ConfigError ? err.problems : [(err as Error).message];
  }
}

function decideValid(o: Observed, spec: DBProxySpec, users: { username: string; password: string }[], base: StatusBase, backendCa?: string): Decision {
  const { metadata } = o.dbproxy;
  const endpoints = candidateEndpoints(spec, o.endpointSlices);
  const healths = endpoints.map((e) => o.health(e) ?? initialHealth(e));
  const prev = { writer: o.dbproxy.status?.currentTarget, generation: o.dbproxy.status?.targetGeneration ?? 0 };
  const choice = chooseWriter(healths, prev);
  const writerHealth = healths.find((h) => h.endpoint === choice.writer);
  const writerMax = writerHealth?.maxConnections ?? lastKnownMax(o, choice.writer);
  const poolSize = poolSizePerPod(writerMax, spec.connectionPool.maxConnectionsPercent, spec.replicas);
  const readers = spec.readerEndpoint.enabled ? readerSet(healths) : undefined;
  const readerPoolSize =
    readers &&
    readerPoolSizePerPod(
      readers.map((r) => healths.find((h) => h.endpoint === r)?.maxConnections),
      spec.connectionPool.maxConnectionsPercent,
      spec.replicas,
    );
  const adminToken = adminTokenOf(metadata.name, o.children, o.newAdminToken);
  const configYaml = renderConfigYaml({
    spec,
    users,
    adminToken,
    namespace: metadata.namespace,
    name: metadata.name,
    writer: choice.writer,
    fallbackTargets: fallbackEndpoints(spec, metadata.namespace),
    poolSize,
    targetGeneration: choice.generation,
    ...(readers ? { readers } : {}),
    ...(readerPoolSize !== undefined ? { readerPoolSize } : {}),
    service: childNames(metadata.name).service,
  });
  const refused = configProblems(configYaml);
  if (refused.length > 0)
    return refuse(o, base, { reason: 'ConfigRefused', problems: refused.map((p) => `the proxy pods would refuse the rendered config: ${p}`) });
  const desired = desiredObjects({
    name: metadata.name,
    namespace: metadata.namespace,
    uid: metadata.uid,
    spec,
    configYaml,
    defaultImage: o.defaultImage,
    pull: o.defaultPull,
    operator: o.operatorPeer,
    adminToken,
  });
  const monitor = podMonitorPlan({ name: metadata.name, namespace: metadata.namespace, uid: metadata.uid, spec }, o.podMonitorsServed);
  // Last: an operator without RBAC for it still applies everything else first (then Ready=False says why).
  const ids = { name: metadata.name, namespace: metadata.namespace, uid: metadata.uid };
  const binding = spec.kubernetesAuth && o.tokenReviewBindings ? [tokenReviewBinding(ids)] : [];
  const actions = plan([...desired, ...monitor.desired, ...binding], o.children);

  const config = o.podConfigs && podConfigView(o, actions, o.podConfigs);
  const statusInput = {
    ...base,
    desiredReplicas: spec.replicas,
    deployment: deploymentOf(o.children),
    healths,
    writer: choice.writer,
    targetGeneration: choice.generation,
    poolSizePerPod: poolSize,
    writerMaxConnections: writerMax,
    ...(readers ? { readers } : {}),
    ...(readerPoolSize !== undefined ? { readerPoolSizePerPod: readerPoolSize } : {}),
    ...(config ? { config } : {}),
  };
  const status = computeStatus(statusInput);
  const events: EventSpec[] = [...monitor.events];
  if (spec.kubernetesAuth && !o.tokenReviewBindings && o.dbproxy.status?.observedGeneration !== metadata.generation)
    events.push(notBoundEvent(metadata.namespace, metadata.name));
  if (choice.changed && choice.writer !== undefined) {
    events.push({
      type: 'Normal',
      reason: 'TargetChanged',
      message: `writer ${prev.writer ?? '(none)'} → ${choice.writer}, target generation ${choice.generation}`,
    });
  }
  const prober = users[0]!;
  return {
    actions,
    status,
    statusChanged: !statusEqual(status, o.dbproxy.status),
    events,
    probe: {
      endpoints,
      intervalMs: durationMs(spec.healthCheck.interval),
      failureThreshold: spec.healthCheck.failureThreshold,
      user: prober.username,
      password: prober.password,
      tls: probeTls(spec, backendCa),
    },
    withApplyError: (message) => computeStatus({ ...statusInput, applyError: message }),
    ...(config?.outcome.converging ? { requeueAfterMs: CONFIG_REQUEUE_MS } : {}),
  };
}

/**
 * The current config is the config Secret's resourceVersion as cached, unless this reconcile writes
 * the Secret: then the version is not known until the write is seen, and the next reconcile counts.
 */
function podConfigView(o: Observed, actions: Action[], pods: PodConfigReport[]): { version: string | undefined; outcome: ConfigOutcome } {
  const name = childNames(o.dbproxy.metadata.name).configSecret;
  const writing = actions.some((a) => a.type !== 'nothing' && a.type !== 'delete' && a.object.kind === 'Secret' && a.object.metadata?.name === name);
  const secret = o.children.find((c) => c.kind === 'Secret' && c.metadata?.name === name);
  const version = writing ? undefined : secret?.metadata?.resourceVersion;
  return { version, outcome: configOutcome({ version, pods }) };
}

/**
 * The pool size needs the writer's max_connections. A new leader has not probed yet: rather than
 * re-render every config with the default, reuse the value the status recorded for the same writer.
 */
function lastKnownMax(o: Observed, writer: string | undefined): number | undefined {
  const s = o.dbproxy.status;
  return writer !== undefined && writer === s?.currentTarget ? s.writerMaxConnections : undefined;
}

function deploymentOf(children: KubernetesObject[]): DeploymentView | undefined {
  const d = children.find((c) => c.kind === 'Deployment') as (KubernetesObject & { spec?: { replicas?: number }; status?: DeploymentView }) | undefined;
  if (!d) return undefined;
  const view: DeploymentView = { ...(d.status ?? {}) };
  if (d.metadata?.generation !== undefined) view.generation = d.metadata.generation;
  return view;
}
