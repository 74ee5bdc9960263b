/**
 * Renders the proxy config (contract/config/schema.ts) a DBProxy's pods load from Secret
 * `X-proxy-config`, key config.yaml. Pure; the same inputs give byte-identical YAML, so an unchanged
 * config never rewrites the Secret (and never wakes the pods' watches).
 */
import { stringify } from 'yaml';
import type { ProxyConfigInput } from '../../../contract/config/schema.js';
import { parseHostPort } from '../../../contract/config/host-port.js';
import { SSL_MODE_NAMES, type DBProxySpec } from '../api/v1alpha1/schema.js';
import { ADMIN_PORT, BACKEND_CA_MOUNT, PG_PORT, READER_PORT, TLS_MOUNT } from './names.js';
import { idlePerPod, limitPerPod } from './pool-size.js';

export interface AuthUser {
  username: string;
  password: string;
}

export interface RenderInput {
  spec: DBProxySpec;
  users: AuthUser[];
  /** The chosen writer (`host:port`); undefined until one is known. */
  writer: string | undefined;
  /** Used as the targets while no writer is known: the proxy probes them itself. */
  fallbackTargets: string[];
  poolSize: number;
  targetGeneration: number;
  /** The available standbys (`host:port`), for the reader endpoint. */
  readers?: string[];
  /** The reader pools' size, from the readers' max_connections; unset, they take poolSize. */
  readerPoolSize?: number;
  /** Service X: the pods forward cancels to the peers behind it (its EndpointSlices). */
  service?: string;
  /** The token /status wants from the network (admin-token.ts); the pods get it with their config. */
  adminToken?: string;
  /** The DBProxy's namespace and name: spec.kubernetesAuth's default audience and rule namespace. */
  namespace?: string;
  name?: string;
}

/** The probe timeout the pods use when they probe fallback targets themselves. */
const POD_PROBE_TIMEOUT = '2s';

export function renderConfig(i: RenderInput): ProxyConfigInput {
  const s = i.spec;
  const targets = (i.writer !== undefined ? [i.writer] : i.fallbackTargets).map((e) => parseHostPort(e));
  const users = [...i.users].sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
  const pool = s.connectionPool;
  return {
    listen: `0.0.0.0:${PG_PORT}`,
    admin: {
      // Explicit: the proxy's own default is loopback, and the kubelet's probes and the operator come over the pod network.
      listen: `0.0.0.0:${ADMIN_PORT}`,
      ...(s.adminUsers?.length ? { users: [...s.adminUsers].sort() } : {}),
      ...(i.adminToken !== undefined ? { statusToken: i.adminToken } : {}),
    },
    targets,
    targetGeneration: i.targetGeneration,
    auth: { method: s.clientPasswordAuthType === 'MD5' ? 'md5' : 'scram', users, ...kubernetesAuth(i) },
    ...(s.readerEndpoint.enabled
      ? {
          reader: {
            listen: `0.0.0.0:${READER_PORT}`,
            whenNoReader: s.readerEndpoint.whenNoReader === 'UseWriter' ? 'writer' : 'wait',
            targets: (i.readers ?? []).map((e) => parseHostPort(e)),
            ...(i.readerPoolSize !== undefined
              ? { pool: { maxConnections: i.readerPoolSize, maxIdleConnections: idlePerPod(i.readerPoolSize, pool.maxIdleConnectionsPercent) } }
              : {}),
          },
        }
      : {}),
    ...(s.tls ? { tls: renderTls(s.tls, s.requireTLS) } : {}),
    ...(s.backendTLS ? { backendTls: renderBackendTls(s.backendTLS) } : {}),
    pool: {
      maxConnections: i.poolSize,
      maxIdleConnections: idlePerPod(i.poolSize, pool.maxIdleConnectionsPercent),
      ...(pool.maxDbConnectionsPercent !== undefined ? { maxDbConnections: limitPerPod(i.poolSize, pool.maxDbConnectionsPercent) } : {}),
      ...(pool.maxUserConnectionsPercent !== undefined ? { maxUserConnections: limitPerPod(i.poolSize, pool.maxUserConnectionsPercent) } : {}),
      borrowTimeout: pool.connectionBorrowTimeout,
      initQuery: pool.initQuery ?? '',
      sessionPinningFilters: [...pool.sessionPinningFilters],
    },
    idleClientTimeout: s.idleClientTimeout,
    limits: {
      maxClientConnections: s.limits.maxClientConnections,
      ...(s.limits.maxClientConnectionsPerUser !== undefined ? { maxClientConnectionsPerUser: s.limits.maxClientConnectionsPerUser } : {}),
      startupTimeout: s.limits.startupTimeout,
      authenticationTimeout: s.limits.authenticationTimeout,
    },
    // The pod's preStop sleep already waited for its endpoints to go: drain at once on SIGTERM.
    shutdown: { delay: '0s', drainTimeout: s.shutdown.drainTimeout },
    healthCheck: { interval: s.healthCheck.interval, failureThreshold: s.healthCheck.failureThreshold, timeout: POD_PROBE_TIMEOUT },
    ...(i.service !== undefined ? { peering: { kubernetes: { service: i.service } } } : {}),
    logLevel: 'info',
  };
}

export function renderConfigYaml(i: RenderInput): string {
  return '# Rendered by dbproxy-operator; edits are overwritten.\n' + stringify(renderConfig(i), { lineWidth: 0 });
}

/** The DBProxy's own audience, when spec.kubernetesAuth.audience is unset. */
export const defaultAudience = (namespace: string, name: string): string => `dbproxy.io/${namespace}/${name}`;

/** spec.kubernetesAuth as the proxy's auth.kubernetes; a rule without a namespace means the DBProxy's. */
function kubernetesAuth(i: RenderInput): { kubernetes?: NonNullable<ProxyConfigInput['auth']>['kubernetes'] } {
  const k = i.spec.kubernetesAuth;
  if (!k || i.namespace === undefined || i.name === undefined) return {};
  const rules = k.rules.map((r) => ({
    serviceAccount: { namespace: r.serviceAccount.namespace ?? i.namespace!, name: r.serviceAccount.name },
    users: [...r.users],
  }));
  return { kubernetes: { audience: k.audience ?? defaultAudience(i.namespace, i.name), rules, cacheTtl: k.cacheTtl } };
}

/** spec.backendTLS as the proxy's backendTls: the CA is the mounted Secret key, re-read by the proxy when kubelet updates it. */
function renderBackendTls(t: NonNullable<DBProxySpec['backendTLS']>): NonNullable<ProxyConfigInput['backendTls']> {
  return {
    sslmode: SSL_MODE_NAMES[t.sslMode],
    ...(t.caSecretRef ? { caFile: `${BACKEND_CA_MOUNT}/${t.caSecretRef.key}` } : {}),
    ...(t.serverName !== undefined ? { serverName: t.serverName } : {}),
  };
}

const CLIENT_CERTIFICATES = { None: 'none', VerifyCA: 'verify-ca', VerifyFull: 'verify-full' } as const;

/**
 * spec.tls as the proxy's tls section: the files of the mounted Secret, which kubelet updates in
 * place and the proxy reloads (no restart); ca.crt only when client certificates are verified.
 */
function renderTls(t: NonNullable<DBProxySpec['tls']>, require: boolean): NonNullable<ProxyConfigInput['tls']> {
  const clientCertificates = CLIENT_CERTIFICATES[t.clientCertificates];
  return {
    certFile: `${TLS_MOUNT}/tls.crt`,
    keyFile: `${TLS_MOUNT}/tls.key`,
    require,
    minVersion: t.minVersion,
    clientCertificates,
    ...(clientCertificates !== 'none' ? { caFile: `${TLS_MOUNT}/ca.crt` } : {}),
  };
}
