/**
 * The objects that should exist for DBProxy X, pure: Deployment X-proxy, Service X, Secret
 * X-proxy-config, ServiceAccount/Role/RoleBinding X-proxy and PDB X-proxy, each owned by X and
 * annotated with a hash of its own content (plan.ts compares it). The pod template carries a hash of
 * the template only: the config is NOT hashed into it, because the pods hot-reload the config Secret
 * through a watch and a failover must not roll the fleet.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { DBProxySpec } from '../api/v1alpha1/schema.js';
import { parseDuration } from '../../../contract/config/duration.js';
import { stableHash } from './hash.js';
import { networkPolicyObjects, type OperatorPeer } from './network-policy.js';
import {
  ADMIN_PORT,
  ADMIN_TOKEN_KEY,
  CONFIG_KEY,
  PG_PORT,
  READER_PORT,
  SPEC_HASH,
  TLS_MOUNT,
  BACKEND_CA_MOUNT,
  childLabels,
  childNames,
  ownerRef,
  selectorLabels,
} from './names.js';

export interface DesiredInput {
  name: string;
  namespace: string;
  uid: string;
  spec: DBProxySpec;
  configYaml: string;
  /** The operator's default proxy image (--proxy-image); spec.image wins. */
  defaultImage: string;
  /** The operator's defaults for pulling the proxy image (its --proxy-image-pull-* flags); spec.template wins. */
  pull?: ProxyPull | undefined;
  /** The operator's pods, which spec.networkPolicy always lets reach the admin port. */
  operator?: OperatorPeer | undefined;
  /** The pods' /status token (admin-token.ts), kept in Secret X-proxy-admin-token; absent: no such Secret. */
  adminToken?: string | undefined;
}

export type Obj = KubernetesObject & Record<string, unknown>;

/** Adds the standard metadata and the content hash annotation to a child. */
function child(i: DesiredInput, apiVersion: string, kind: string, name: string, body: Record<string, unknown>): Obj {
  const metadata = { name, namespace: i.namespace, labels: childLabels(i.name), ownerReferences: [ownerRef(i.name, i.uid)] };
  const hash = stableHash({ apiVersion, kind, metadata, ...body });
  return { apiVersion, kind, metadata: { ...metadata, annotations: { [SPEC_HASH]: hash } }, ...body };
}

export function desiredObjects(i: DesiredInput): Obj[] {
  const n = childNames(i.name);
  return [
    child(i, 'v1', 'ServiceAccount', n.serviceAccount, { automountServiceAccountToken: true }),
    child(i, 'rbac.authorization.k8s.io/v1', 'Role', n.role, {
      // The pod lists/watches with fieldSelector metadata.name=<secret>, which resourceNames allows.
      rules: [
        { apiGroups: [''], resources: ['secrets'], resourceNames: [n.configSecret], verbs: ['get', 'list', 'watch'] },
        // Its peers for cancel forwarding: Service X's EndpointSlices, by label (slice names are generated, so no resourceNames).
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    }),
    child(i, 'rbac.authorization.k8s.io/v1', 'RoleBinding', n.roleBinding, {
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: n.role },
      subjects: [{ kind: 'ServiceAccount', name: n.serviceAccount, namespace: i.namespace }],
    }),
    // Before the config that carries it: a failed write leaves no config with a token nobody can read.
    ...(i.adminToken !== undefined
      ? [child(i, 'v1', 'Secret', n.adminTokenSecret, { type: 'Opaque', data: { [ADMIN_TOKEN_KEY]: Buffer.from(i.adminToken, 'utf8').toString('base64') } })]
      : []),
    child(i, 'v1', 'Secret', n.configSecret, {
      type: 'Opaque',
      // `data` (not stringData) so plan.ts can compare it byte for byte with what the apiserver returns.
      data: { [CONFIG_KEY]: Buffer.from(i.configYaml, 'utf8').toString('base64') },
    }),
    child(i, 'v1', 'Service', n.service, {
      spec: {
        type: 'ClusterIP',
        selector: selectorLabels(i.name),
        ports: [{ name: 'postgresql', port: PG_PORT, targetPort: 'pg', protocol: 'TCP' }],
      },
    }),
    ...(i.spec.readerEndpoint.enabled
      ? [
          child(i, 'v1', 'Service', n.readerService, {
            spec: { type: 'ClusterIP', selector: selectorLabels(i.name), ports: [{ name: 'postgresql', port: PG_PORT, targetPort: 'pg-ro', protocol: 'TCP' }] },
          }),
        ]
      : []),
    child(i, 'policy/v1', 'PodDisruptionBudget', n.pdb, {
      spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(i.name) } },
    }),
    child(i, 'apps/v1', 'Deployment', n.deployment, {
      spec: {
        replicas: i.spec.replicas,
        selector: { matchLabels: selectorLabels(i.name) },
        // Surge first: a ready pod is replaced only once its successor is ready.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: podTemplate(i),
      },
    }),
    ...networkPolicyObjects(i),
  ];
}

export interface ProxyPull {
  policy?: 'Always' | 'IfNotPresent' | 'Never';
  secrets?: string[];
}

function pullSecrets(secrets: { name: string }[] | undefined): Record<string, unknown> {
  return secrets?.length ? { imagePullSecrets: secrets } : {};
}

/** The default placement: proxy pods on different nodes where the scheduler can, never a reason not to schedule. */
function spreadOverNodes(name: string): Record<string, unknown> {
  return { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selectorLabels(name) } };
}

/** Seconds of spec.shutdown's durations, rounded up (a part-second still needs its wait). */
function shutdownSeconds(spec: DBProxySpec): { preStop: number; drain: number } {
  return { preStop: Math.ceil(parseDuration(spec.shutdown.preStopDelay) / 1000), drain: Math.ceil(parseDuration(spec.shutdown.drainTimeout) / 1000) };
}

/**
 * The preStop sleep (a kubelet action since 1.30, GA; no shell needed in the image): the endpoints
 * drop a terminating pod at once, but clients' routes (kube-proxy, load balancers) follow later, so
 * the pod keeps serving until they have, and only then gets SIGTERM and drains.
 */
function preStop(spec: DBProxySpec): Record<string, unknown> {
  const s = shutdownSeconds(spec).preStop;
  return s > 0 ? { lifecycle: { preStop: { sleep: { seconds: s } } } } : {};
}

/** The preStop sleep and the drain fit, with 5 s to close the pooled connections and exit. */
function gracePeriodSeconds(spec: DBProxySpec): number {
  const s = shutdownSeconds(spec);
  return s.preStop + s.drain + 5;
}

function podTemplate(i: DesiredInput): Record<string, unknown> {
  const t = i.spec.template ?? {};
  const n = childNames(i.name);
  const tls = i.spec.tls;
  const backendCa = i.spec.backendTLS?.caSecretRef;
  const container: Record<string, unknown> = {
    name: 'proxy',
    image: i.spec.image ?? i.defaultImage,
    imagePullPolicy: t.imagePullPolicy ?? i.pull?.policy ?? 'IfNotPresent',
    args: ['proxy', '--config-secret', n.configSecret, '--bind-host', '$(POD_IP)'],
    env: [
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    ],
    ports: [
      { name: 'pg', containerPort: PG_PORT, protocol: 'TCP' },
      ...(i.spec.readerEndpoint.enabled ? [{ name: 'pg-ro', containerPort: READER_PORT, protocol: 'TCP' }] : []),
      { name: 'admin', containerPort: ADMIN_PORT, protocol: 'TCP' },
    ],
    readinessProbe: { httpGet: { path: '/readyz', port: 'admin' }, periodSeconds: 2, failureThreshold: 2, timeoutSeconds: 1 },
    livenessProbe: { httpGet: { path: '/healthz', port: 'admin' }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 2 },
    ...preStop(i.spec),
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      ...t.securityContext,
    },
    volumeMounts: [
      { name: 'tmp', mountPath: '/tmp' },
      ...(tls ? [{ name: 'tls', mountPath: TLS_MOUNT, readOnly: true }] : []),
      ...(backendCa ? [{ name: 'backend-ca', mountPath: BACKEND_CA_MOUNT, readOnly: true }] : []),
    ],
    ...(t.resources ? { resources: t.resources } : {}),
  };
  const spec: Record<string, unknown> = {
    serviceAccountName: n.serviceAccount,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
      ...t.podSecurityContext,
    },
    terminationGracePeriodSeconds: gracePeriodSeconds(i.spec),
    topologySpreadConstraints: t.topologySpreadConstraints ?? [spreadOverNodes(i.name)],
    containers: [container],
    volumes: [
      { name: 'tmp', emptyDir: {} },
      ...(tls ? [{ name: 'tls', secret: { secretName: tls.secretRef.name } }] : []),
      // Only the CA's key, under its own name: a Secret may hold more than the proxy needs.
      ...(backendCa ? [{ name: 'backend-ca', secret: { secretName: backendCa.name, items: [{ key: backendCa.key, path: backendCa.key }] } }] : []),
    ],
    ...(t.nodeSelector ? { nodeSelector: t.nodeSelector } : {}),
    ...(t.tolerations ? { tolerations: t.tolerations } : {}),
    ...(t.affinity ? { affinity: t.affinity } : {}),
    ...(t.priorityClassName ? { priorityClassName: t.priorityClassName } : {}),
    ...pullSecrets(t.imagePullSecrets ?? i.pull?.secrets?.map((name) => ({ name }))),
  };
  // Selector labels last: user labels may add, never override (validate.ts also rejects them).
  const labels = { ...t.labels, ...selectorLabels(i.name) };
  const hash = stableHash({ labels, annotations: t.annotations ?? {}, spec });
  return { metadata: { labels, annotations: { ...t.annotations, [SPEC_HASH]: hash } }, spec };
}
