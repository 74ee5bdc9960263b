/**
 * DBProxy v1alpha1 — one zod schema for the spec and the status: runtime validation in the operator,
 * and the CRD's openAPIV3Schema generated from it (generate-crd.ts). Field names follow RDS Proxy.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { z } from 'zod';
import { PINNING_FILTERS } from '../../../../contract/pinning-filters.js';
import { duration, name, passThrough } from './fields.js';
import {
  BackendTLSSchema,
  CLIENT_TLS_DESCRIPTION,
  ClientTLSSchema,
  KUBERNETES_AUTH_DESCRIPTION,
  KubernetesAuthSchema,
  LimitsSchema,
} from './security-schema.js';

export { BackendTLSSchema, SSL_MODE_NAMES } from './security-schema.js';

export const GROUP = 'dbproxy.io';
export const VERSION = 'v1alpha1';
export const KIND = 'DBProxy';
export const PLURAL = 'dbproxies';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const TargetSchema = z
  .object({
    host: z.string().min(1).optional().meta({ description: 'DNS name or IP of a PostgreSQL endpoint.' }),
    port: z.number().int().min(1).max(65535).optional().meta({ description: 'Port of host (default 5432).' }),
    serviceRef: z
      .object({ name, port: z.number().int().min(1).max(65535).default(5432) })
      .optional()
      .meta({ description: 'A Service in the same namespace: every ready address of its EndpointSlices is a candidate.' }),
  })
  .refine((t) => (t.host === undefined) !== (t.serviceRef === undefined), { message: 'set exactly one of host or serviceRef' })
  .refine((t) => t.port === undefined || t.host !== undefined, { message: 'port goes with host (serviceRef has its own port)' })
  .meta({
    'x-kubernetes-validations': [
      { rule: 'has(self.host) != has(self.serviceRef)', message: 'set exactly one of host or serviceRef' },
      { rule: '!has(self.port) || has(self.host)', message: 'port goes with host (serviceRef has its own port)' },
    ],
  });

/** A NetworkPolicyPeer (networking.k8s.io/v1), passed through to the NetworkPolicy; the apiserver validates it. */
const NetworkPeerSchema = z
  .object({
    podSelector: passThrough('A label selector (matchLabels, matchExpressions) for pods.').optional(),
    namespaceSelector: passThrough('A label selector for namespaces.').optional(),
    ipBlock: z.object({ cidr: z.string().min(1), except: z.array(z.string().min(1)).max(32).optional() }).optional(),
  })
  .refine((p) => p.podSelector !== undefined || p.namespaceSelector !== undefined || p.ipBlock !== undefined, {
    message: 'set podSelector, namespaceSelector or ipBlock',
  })
  .meta({
    'x-kubernetes-validations': [
      { rule: 'has(self.podSelector) || has(self.namespaceSelector) || has(self.ipBlock)', message: 'set podSelector, namespaceSelector or ipBlock' },
    ],
  });

/** The port a host target uses when none is given. */
export const DEFAULT_PG_PORT = 5432;

/** The proxy's list of pinning filter names (one list for the CRD and the proxy config). */
export { PINNING_FILTERS };

export const DBProxySpecSchema = z
  .object({
    engineFamily: z.enum(['POSTGRESQL']).default('POSTGRESQL'),
    targets: z.array(TargetSchema).min(1).max(16).meta({ description: 'Candidate endpoints; the operator picks the one that is up and not in recovery.' }),
    auth: z
      .array(z.object({ secretRef: z.object({ name }) }))
      .min(1)
      .max(64)
      .meta({ description: 'Secrets with keys username and password (RDS: Secrets Manager secrets). The first is also used for health probes.' }),
    adminUsers: z.array(z.string().min(1).max(128)).max(64).optional().meta({
      description:
        'Users who may open the admin console, the virtual database dbproxy (SHOW POOLS, PAUSE, …; PgBouncer admin_users). Each is the username of a spec.auth Secret and logs in with its password.',
    }),
    clientPasswordAuthType: z.enum(['SCRAM_SHA_256', 'MD5']).default('SCRAM_SHA_256'),
    requireTLS: z.boolean().default(false),
    tls: ClientTLSSchema.optional().meta({ description: CLIENT_TLS_DESCRIPTION }),
    backendTLS: BackendTLSSchema.optional().meta({
      description:
        "TLS from the proxy to the databases, for the pooled connections and the health probes (the proxy's and the operator's). Unset: Prefer, as libpq's default.",
    }),
    kubernetesAuth: KubernetesAuthSchema.optional().meta({ description: KUBERNETES_AUTH_DESCRIPTION }),
    limits: LimitsSchema,
    idleClientTimeout: duration('1800s', 'Close client connections idle this long.'),
    shutdown: z
      .object({
        preStopDelay: duration(
          '5s',
          "A stopping pod's preStop sleep: it leaves the Service's endpoints while still serving, before it drains; 0s: no preStop hook.",
        ),
        drainTimeout: duration('20s', 'After the preStop sleep, how long clients get to finish their transactions before they are closed.'),
      })
      .prefault({})
      .meta({ description: "A pod's stop (rollout, scale-down, eviction): terminationGracePeriodSeconds is preStopDelay + drainTimeout + 5 s." }),
    connectionPool: z
      .object({
        maxConnectionsPercent: z
          .number()
          .int()
          .min(1)
          .max(100)
          .default(100)
          .meta({ description: "Share of the writer's max_connections the whole fleet may use." }),
        maxIdleConnectionsPercent: z.number().int().min(0).max(100).default(50),
        maxDbConnectionsPercent: z.number().int().min(1).max(100).optional().meta({
          description:
            "Share of each pod's connections (its part of maxConnectionsPercent) one database may use (PgBouncer max_db_connections); unset: no limit of its own.",
        }),
        maxUserConnectionsPercent: z
          .number()
          .int()
          .min(1)
          .max(100)
          .optional()
          .meta({ description: "Share of each pod's connections one user may use (PgBouncer max_user_connections); unset: no limit of its own." }),
        connectionBorrowTimeout: duration('120s', 'How long a client waits for a database connection.'),
        sessionPinningFilters: z.array(z.enum(PINNING_FILTERS)).max(8).default(['EXCLUDE_VARIABLE_SETS']),
        initQuery: z.string().max(4096).optional(),
      })
      .prefault({}),
    healthCheck: z
      .object({
        interval: duration('1s', 'How often the operator probes each target.'),
        failureThreshold: z.number().int().min(1).max(100).default(2),
      })
      .prefault({}),
    readerEndpoint: z
      .object({
        enabled: z.boolean().default(false),
        whenNoReader: z
          .enum(['Wait', 'UseWriter'])
          .default('Wait')
          .meta({ description: 'With no available standby: clients wait (up to the borrow timeout) or read from the writer.' }),
      })
      .prefault({})
      .meta({ description: 'A read-only endpoint (Service X-ro): pools on the available standbys among the targets.' }),
    replicas: z.number().int().min(1).max(100).default(2),
    image: z.string().min(1).optional().meta({ description: "Proxy image; defaults to the operator's --proxy-image." }),
    template: z
      .object({
        labels: z.record(z.string(), z.string()).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
        resources: passThrough('Container resources (requests, limits).').optional(),
        nodeSelector: z.record(z.string(), z.string()).optional(),
        tolerations: z.array(passThrough('A toleration.')).optional(),
        affinity: passThrough('Pod affinity.').optional(),
        topologySpreadConstraints: z
          .array(passThrough('A topology spread constraint.'))
          .max(8)
          .optional()
          .meta({ description: 'Replaces the default: spread over nodes (kubernetes.io/hostname, maxSkew 1, ScheduleAnyway). [] spreads nothing.' }),
        priorityClassName: z.string().min(1).max(253).optional(),
        imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional().meta({ description: 'Default IfNotPresent.' }),
        imagePullSecrets: z
          .array(z.object({ name }))
          .max(16)
          .optional()
          .meta({ description: 'Secrets (in the DBProxy namespace) for pulling the proxy image.' }),
        podSecurityContext: passThrough('Merged key by key over the default (non-root uid 65532, RuntimeDefault seccomp).').optional(),
        securityContext: passThrough(
          "The proxy container's: merged key by key over the default (read-only root, no privilege escalation, all capabilities dropped).",
        ).optional(),
      })
      .optional()
      .meta({ description: 'Overrides for the proxy pods.' }),
    monitoring: z
      .object({
        podMonitor: z
          .object({
            enabled: z
              .boolean()
              .default(false)
              .meta({ description: "Create a PodMonitor (monitoring.coreos.com/v1) X-proxy that scrapes the proxy pods' /metrics." }),
            interval: z
              .string()
              .regex(/^\d+(ms|s|m|h)$/, 'a Prometheus duration like 15s, 1m')
              .optional()
              .meta({ description: "Scrape interval; unset: the Prometheus's own." }),
            labels: z
              .record(z.string(), z.string())
              .optional()
              .meta({ description: "Extra labels on the PodMonitor, for a Prometheus's podMonitorSelector (e.g. release: kube-prometheus-stack)." }),
          })
          .prefault({}),
      })
      .prefault({})
      .meta({ description: 'Prometheus Operator objects for the proxy pods (needs its CRDs; without them the DBProxy gets a MonitoringUnavailable Event).' }),
    networkPolicy: z
      .object({
        enabled: z.boolean().default(false).meta({ description: 'Create a NetworkPolicy X-proxy (Ingress only) for the proxy pods.' }),
        from: z.array(NetworkPeerSchema).min(1).max(32).optional().meta({
          description: 'Who may connect to the PostgreSQL ports (5432, and 5433 with readerEndpoint), as NetworkPolicyPeers. Unset: any source.',
        }),
        metricsFrom: z.array(NetworkPeerSchema).max(32).default([]).meta({
          description: "Who may reach the admin port 9187 (/metrics, /status) besides the operator's pods, which always may (e.g. Prometheus).",
        }),
      })
      .prefault({})
      .meta({ description: 'Which clients may reach the proxy pods (the operator keeps its own access to the admin port).' }),
  })
  .superRefine((s, ctx) => {
    if (s.requireTLS && !s.tls) ctx.addIssue({ code: 'custom', path: ['tls'], message: 'requireTLS needs tls.secretRef' });
  })
  .meta({ 'x-kubernetes-validations': [{ rule: '!has(self.requireTLS) || !self.requireTLS || has(self.tls)', message: 'requireTLS needs tls.secretRef' }] });

export type DBProxySpec = z.output<typeof DBProxySpecSchema>;
export type DBProxySpecInput = z.input<typeof DBProxySpecSchema>;

const time = z.string().meta({ format: 'date-time' });

export const ConditionSchema = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: time,
  observedGeneration: z.number().int().optional(),
});

export const TargetStatusSchema = z.object({
  endpoint: z.string(),
  role: z.enum(['WRITER', 'READER', 'UNKNOWN']),
  state: z.enum(['AVAILABLE', 'UNAVAILABLE', 'REGISTERING']),
  reason: z.string().optional(),
  lastTransitionTime: time.optional(),
});

export const DBProxyStatusSchema = z.object({
  observedGeneration: z.number().int().optional(),
  endpoint: z.string().optional(),
  readerEndpoint: z.string().optional().meta({ description: 'X-ro.N.svc:5432, when spec.readerEndpoint.enabled.' }),
  readers: z.array(z.string()).optional().meta({ description: 'The standbys the reader endpoint serves now.' }),
  currentTarget: z.string().optional(),
  targetGeneration: z.number().int().optional(),
  replicas: z.number().int().optional(),
  readyReplicas: z.number().int().optional(),
  poolSizePerPod: z.number().int().optional().meta({ description: 'pool.maxConnections rendered into each proxy pod.' }),
  readerPoolSizePerPod: z.number().int().optional().meta({ description: "The reader pools' size in each proxy pod, from the readers' max_connections." }),
  writerMaxConnections: z.number().int().optional().meta({ description: "The writer's max_connections as last probed." }),
  configVersion: z.string().optional().meta({ description: "The config Secret's resourceVersion: the config the operator wrote last." }),
  podsOnCurrentConfig: z.number().int().optional().meta({ description: 'How many proxy pods say (on their /config) that they run configVersion.' }),
  targets: z.array(TargetStatusSchema).optional(),
  conditions: z.array(ConditionSchema).optional(),
});

export type Condition = z.output<typeof ConditionSchema>;
export type TargetStatus = z.output<typeof TargetStatusSchema>;
export type DBProxyStatus = z.output<typeof DBProxyStatusSchema>;

export interface DBProxy {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: V1ObjectMeta & { name: string; namespace: string };
  spec: unknown;
  status?: DBProxyStatus;
}
