/**
 * The one schema of the proxy config. The file, the quick-mode flags and the operator's rendered
 * Secret all go through it; defaults live here and nowhere else. Durations come out as milliseconds.
 * Cross-field checks sit on the smallest object that holds both fields, so they are reported even
 * when another part of the config is wrong too.
 */
import { z } from 'zod';
import { SSL_MODES } from './backend-tls.js';
import { zDuration } from './duration.js';
import { parseHostPort, tryParseHostPort } from './host-port.js';
import { PINNING_FILTERS } from '../pinning-filters.js';

export { formatHostPort, parseHostPort, type HostPort } from './host-port.js';

export { PINNING_FILTERS, type PinningFilter } from '../pinning-filters.js';

export const AUTH_METHODS = ['scram', 'md5', 'trust'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Used when pool.maxIdleConnections is not given (never more than pool.maxConnections). */
export const DEFAULT_MAX_IDLE_CONNECTIONS = 5;
/**
 * limits.maxClientConnections when not given: an idle client costs the proxy about 7 KiB
 * (docs/benchmarks.md), so 20,000 stay near 150 MiB, twice the 10,000 idle clients the benchmark
 * holds, and far below a container's open-files limit. PgBouncer's default of 100 would refuse
 * ordinary application fleets.
 */
export const DEFAULT_MAX_CLIENT_CONNECTIONS = 20_000;
/** The PostgreSQL protocol's own limit on a message (1 GiB). */
const MAX_PROTOCOL_MESSAGE = 0x3fffffff;

/** parseHostPort's own message ("invalid address …: expected HOST:PORT, e.g. …"), or undefined. */
function hostPortProblem(s: string): string | undefined {
  try {
    parseHostPort(s);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const hostPort = z.string().superRefine((s, ctx) => {
  const problem = hostPortProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const targetObject = z.strictObject({
  host: z.string().min(1),
  port: z.int().min(1).max(65535).default(5432),
});

/** A target is `{host, port}` or the string "HOST:PORT". */
const target = z.preprocess((v, ctx) => {
  if (typeof v !== 'string') return v;
  const hp = tryParseHostPort(v);
  if (!hp) ctx.issues.push({ code: 'custom', input: v, message: `${hostPortProblem(v)} (or {host, port})` });
  return hp ?? { host: v };
}, targetObject);

const user = z.strictObject({ username: z.string().min(1), password: z.string() });

const positiveDuration = zDuration.refine((ms) => ms > 0, { message: 'must be more than 0' });

const pool = z
  .strictObject({
    /** The pod's budget: database connections of all the writer's pools together (a pool may use all of it). */
    maxConnections: z.int().min(1).default(20),
    /** Inside that budget, per database and per user (PgBouncer's max_db_/max_user_connections); 0: no limit of their own. */
    maxDbConnections: z.int().min(0).default(0),
    maxUserConnections: z.int().min(0).default(0),
    /** Per (database, user) pool. */
    maxIdleConnections: z.int().min(0).optional(),
    borrowTimeout: positiveDuration.default(120_000),
    initQuery: z.string().default(''),
    sessionPinningFilters: z.array(z.enum(PINNING_FILTERS)).default(['EXCLUDE_VARIABLE_SETS']),
  })
  .superRefine((p, ctx) => {
    if (p.maxIdleConnections !== undefined && p.maxIdleConnections > p.maxConnections) {
      ctx.addIssue({ code: 'custom', path: ['maxIdleConnections'], message: `must be at most pool.maxConnections (${p.maxConnections})` });
    }
  })
  .transform((p) => ({ ...p, maxIdleConnections: p.maxIdleConnections ?? Math.min(DEFAULT_MAX_IDLE_CONNECTIONS, p.maxConnections) }));

/** Client certificates (PostgreSQL's clientcert): `verify-ca` needs one signed by tls.caFile; `verify-full` also its CN to be the user name. */
export const CLIENT_CERTIFICATE_MODES = ['none', 'verify-ca', 'verify-full'] as const;

const tls = z
  .strictObject({
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    require: z.boolean().default(false),
    /** The oldest TLS version a client may use (PostgreSQL's ssl_min_protocol_version). */
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
    /** PEM CA certificates client certificates are verified against (PostgreSQL's ssl_ca_file). */
    caFile: z.string().min(1).optional(),
    clientCertificates: z.enum(CLIENT_CERTIFICATE_MODES).default('none'),
  })
  .superRefine((t, ctx) => {
    if (t.clientCertificates !== 'none' && !t.caFile) {
      ctx.addIssue({ code: 'custom', path: ['caFile'], message: `tls.clientCertificates ${t.clientCertificates} needs the CA to verify them (tls.caFile)` });
    }
    if (t.clientCertificates !== 'none' && !t.certFile) {
      ctx.addIssue({ code: 'custom', path: ['clientCertificates'], message: 'needs TLS itself (tls.certFile and tls.keyFile)' });
    }
    if (t.require && !(t.certFile && t.keyFile)) {
      ctx.addIssue({ code: 'custom', path: ['require'], message: 'needs a certificate and key (tls.certFile and tls.keyFile)' });
    } else if (Boolean(t.certFile) !== Boolean(t.keyFile)) {
      ctx.addIssue({ code: 'custom', path: [t.certFile ? 'keyFile' : 'certFile'], message: 'tls.certFile and tls.keyFile go together' });
    }
  });

/**
 * TLS to the databases (contract/config/backend-tls.ts has the rules): libpq's sslmode, default
 * prefer as libpq's, so a server that offers TLS gets it. verify-ca and verify-full need the CA
 * (there is no system store fallback: a database's CA is seldom a public one).
 */
const backendTls = z
  .strictObject({
    sslmode: z.enum(SSL_MODES).default('prefer'),
    /** PEM file of the CA(s) that signed the servers' certificates; re-read when it changes (a rotated Secret). */
    caFile: z.string().min(1).optional(),
    /** The name verify-full checks the certificate for (and the SNI sent); default: each target's host. */
    serverName: z.string().min(1).optional(),
  })
  .superRefine((t, ctx) => {
    if ((t.sslmode === 'verify-ca' || t.sslmode === 'verify-full') && !t.caFile) {
      ctx.addIssue({
        code: 'custom',
        path: ['caFile'],
        message: `sslmode ${t.sslmode} needs the CA that signed the servers' certificates (backendTls.caFile)`,
      });
    }
    if (t.sslmode === 'disable' && (t.caFile || t.serverName)) {
      ctx.addIssue({
        code: 'custom',
        path: ['sslmode'],
        message: 'sslmode disable never uses TLS: caFile and serverName would be ignored (remove them or pick another sslmode)',
      });
    }
  });
export type BackendTlsConfig = z.output<typeof backendTls>;

/** Which Kubernetes ServiceAccount (name `*`: any in the namespace) may log in as which database users. */
const identityRule = z.strictObject({
  serviceAccount: z.strictObject({ namespace: z.string().min(1), name: z.string().min(1) }),
  users: z.array(z.string().min(1)).min(1),
});

/**
 * Kubernetes identity auth (proxy/src/auth/kube-identity.ts): the users named in `rules` may give a
 * projected ServiceAccount token for `audience` as their password, checked with the TokenReview API.
 */
const kubernetesAuth = z.strictObject({
  audience: z.string().min(1),
  rules: z.array(identityRule).min(1),
  /** How long a successful review is reused (never past the token's own expiry); failures: at most 5 s. */
  cacheTtl: positiveDuration.default(30_000),
  /** One TokenReview call's limit; a slow or unreachable apiserver refuses that client with 08006. */
  timeout: positiveDuration.default(5_000),
  /** Ask for the token (a cleartext password) on connections without TLS too; off: those users get scram/md5. */
  allowPlaintext: z.boolean().default(false),
});

export const AuthConfigSchema = z.strictObject({
  /** Client auth. The default is scram; trust is only ever what the config says explicitly. */
  method: z.enum(AUTH_METHODS).default('scram'),
  users: z.array(user).default([]),
  /** Resolved against the config file's directory; its users are merged into `users`. */
  usersFile: z.string().min(1).optional(),
  kubernetes: kubernetesAuth.optional(),
});
export type KubernetesAuthConfig = z.output<typeof kubernetesAuth>;
export type AuthConfig = z.output<typeof AuthConfigSchema>;

/** The largest peer id: the cancel keys carry it in 12 bits (proxy/src/peering/cancel-key.ts). */
export const MAX_PEER_ID = 4095;
const peerId = z.int().min(0).max(MAX_PEER_ID);

/**
 * Cancel requests on any proxy (docs/architecture.md, "Cancel routing"): a CancelRequest for a key
 * another peer handed out is forwarded to that peer. Peers are listed here (`peers`, each with its
 * fixed `id`), or read from the EndpointSlices of a Kubernetes Service (`kubernetes.service`, what
 * the operator renders), where every pod's id is derived from its address.
 */
const peering = z
  .strictObject({
    /** This proxy's id among its peers; default: derived from its bind address (--bind-host), else 0. Read at start. */
    id: peerId.optional(),
    peers: z.array(z.strictObject({ id: peerId, host: z.string().min(1), port: z.int().min(1).max(65535).default(5432) })).default([]),
    /** Peers are the pods behind this Service in the proxy's own namespace (it lists and watches its EndpointSlices). */
    kubernetes: z.strictObject({ service: z.string().min(1) }).optional(),
  })
  .superRefine((p, ctx) => {
    if (p.peers.length > 0 && p.id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['id'], message: "peering.peers needs this proxy's own peering.id (unique among the peers)" });
    }
    const seen = new Map<number, string>();
    p.peers.forEach((peer, i) => {
      const at = `${peer.host}:${peer.port}`;
      const other = seen.get(peer.id);
      if (other !== undefined && other !== at)
        ctx.addIssue({ code: 'custom', path: ['peers', i, 'id'], message: `peer id ${peer.id} is also ${other}: ids must be unique` });
      seen.set(peer.id, at);
    });
  });
export type PeeringConfig = z.output<typeof peering>;

export const ProxyConfigSchema = z.strictObject({
  listen: hostPort.default('0.0.0.0:5432'),
  admin: z
    .strictObject({
      /** Loopback by default: /status lists clients and users (docs/security.md). Pods get 0.0.0.0 from the operator. */
      listen: hostPort.default('127.0.0.1:9187'),
      /**
       * Users who may open the admin console (the virtual database `dbproxy`; PgBouncer's
       * admin_users). They log in as any client does: with scram or md5 they must be among the users.
       */
      users: z.array(z.string().min(1)).default([]),
      /** When set, /status needs `Authorization: Bearer <token>` from anywhere but loopback (contract/admin-auth.ts). */
      statusToken: z.string().min(16).optional(),
      /** The same, read from this file at each request (a mounted Secret rotates without a reload). */
      statusTokenFile: z.string().min(1).optional(),
      /** With a token: loopback callers (the host, the pod's other containers) read /status without it. */
      trustLoopback: z.boolean().default(true),
    })
    .refine((a) => a.statusToken === undefined || a.statusTokenFile === undefined, {
      message: 'statusToken and statusTokenFile: give one of them, not both',
    })
    .prefault({}),
  targets: z.array(target).min(1, 'at least one target (HOST:PORT of PostgreSQL) is needed'),
  /** Set by the operator; a higher one is a failover flip. */
  targetGeneration: z.int().min(0).default(0),
  auth: AuthConfigSchema.prefault({}),
  tls: tls.optional(),
  backendTls: backendTls.prefault({}),
  /**
   * A second, read-only endpoint: clients that connect to `listen` get pools on the available
   * standbys among the targets (spread over them); with none, they wait (`wait`) or use the writer.
   */
  reader: z
    .strictObject({
      listen: hostPort,
      whenNoReader: z.enum(['wait', 'writer']).default('wait'),
      /** The standbys to use, as the operator renders them; without it, the probed standbys among `targets`. */
      targets: z.array(target).optional(),
      /**
       * Sizes of the reader pools, which open connections on the standbys, not the writer (the
       * operator sizes them from the readers' max_connections); each unset size is the writer's.
       */
      pool: z
        .strictObject({
          maxConnections: z.int().min(1).optional(),
          maxIdleConnections: z.int().min(0).optional(),
        })
        .optional(),
    })
    .superRefine((r, ctx) => {
      const { maxConnections, maxIdleConnections } = r.pool ?? {};
      if (maxConnections !== undefined && maxIdleConnections !== undefined && maxIdleConnections > maxConnections) {
        ctx.addIssue({ code: 'custom', path: ['pool', 'maxIdleConnections'], message: `must be at most reader.pool.maxConnections (${maxConnections})` });
      }
    })
    .optional(),
  pool: pool.prefault({}),
  /** 0 = never close idle clients. */
  idleClientTimeout: zDuration.default(1_800_000),
  /**
   * On SIGTERM (proxy/src/drain.ts): /readyz fails at once; after `delay` the listeners close and idle
   * clients get FATAL 57P01; clients in a transaction finish it; after `drainTimeout` the rest are
   * closed. The default timeout fits Kubernetes' 30 s grace period less a 5 s preStop sleep and the
   * time to close; under the operator the preStop sleep does the delay's work, so it renders 0.
   */
  shutdown: z
    .strictObject({
      delay: zDuration.default(0),
      drainTimeout: zDuration.default(20_000),
    })
    .prefault({}),
  /**
   * The proxy's own limits on client connections (docs/configuration.md, "limits"). Past a
   * connection limit a client gets FATAL 53300 as PostgreSQL words it; a client that does not
   * finish its startup or its authentication in time is closed without a message, as PostgreSQL
   * closes one past authentication_timeout. A reload applies to new connections only.
   */
  limits: z
    .strictObject({
      /** Client connections of the pod, all users and both endpoints together (PgBouncer's max_client_conn). */
      maxClientConnections: z.int().min(1).default(DEFAULT_MAX_CLIENT_CONNECTIONS),
      /** Authenticated client connections per user (PgBouncer's max_user_client_connections); 0: no limit of its own. */
      maxClientConnectionsPerUser: z.int().min(0).default(0),
      /** From accept to a complete StartupMessage (SSL negotiation and the TLS handshake included). */
      startupTimeout: positiveDuration.default(10_000),
      /** From the StartupMessage to authenticated (PostgreSQL's authentication_timeout, 60 s). */
      authenticationTimeout: positiveDuration.default(60_000),
    })
    .prefault({}),
  peering: peering.optional(),
  healthCheck: z
    .strictObject({
      interval: positiveDuration.default(1_000),
      failureThreshold: z.int().min(1).default(2),
      timeout: positiveDuration.default(2_000),
    })
    .prefault({}),
  maxMessageLength: z
    .int()
    .min(1024)
    .max(MAX_PROTOCOL_MESSAGE)
    .default(16 * 1024 * 1024),
  /**
   * Which mover carries plaintext connections' bytes: the native I/O core (`native`), Node's sockets
   * (`node`), or the native core when it is built, else Node's (`auto`). TLS client connections
   * always use Node's sockets. Read at start; a reload does not change it.
   */
  io: z.enum(['auto', 'native', 'node']).default('auto'),
  logLevel: z.enum(LOG_LEVELS).default('info'),
});

export type ProxyConfigInput = z.input<typeof ProxyConfigSchema>;
export type ProxyConfig = z.output<typeof ProxyConfigSchema>;
