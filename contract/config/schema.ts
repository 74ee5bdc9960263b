/**
 * The one schema of the proxy config. The file, the quick-mode flags and the operator's rendered
 * Secret all go through it; defaults live here and nowhere else. Durations come out as milliseconds.
 * Cross-field checks sit on the smallest object that holds both fields, so they are reported even
 * when another part of the config is wrong too.
 */
import { z } from 'zod';
import { zDuration } from './duration.js';
import { parseHostPort, tryParseHostPort } from './host-port.js';
import { PINNING_FILTERS } from '../pinning-filters.js';

export { formatHostPort, parseHostPort, type HostPort } from './host-port.js';

export { PINNING_FILTERS, type PinningFilter } from '../pinning-filters.js';

export const AUTH_METHODS = ['scram', 'md5', 'trust'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Used when pool.maxIdleConnections is not given (never more than pool.maxConnections). */
export const DEFAULT_MAX_IDLE_CONNECTIONS = 5;
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

const tls = z
  .strictObject({ certFile: z.string().min(1).optional(), keyFile: z.string().min(1).optional(), require: z.boolean().default(false) })
  .superRefine((t, ctx) => {
    if (t.require && !(t.certFile && t.keyFile)) {
      ctx.addIssue({ code: 'custom', path: ['require'], message: 'needs a certificate and key (tls.certFile and tls.keyFile)' });
    } else if (Boolean(t.certFile) !== Boolean(t.keyFile)) {
      ctx.addIssue({ code: 'custom', path: [t.certFile ? 'keyFile' : 'certFile'], message: 'tls.certFile and tls.keyFile go together' });
    }
  });

export const AuthConfigSchema = z.strictObject({
  /** Client auth. The default is scram; trust is only ever what the config says explicitly. */
  method: z.enum(AUTH_METHODS).default('scram'),
  users: z.array(user).default([]),
  /** Resolved against the config file's directory; its users are merged into `users`. */
  usersFile: z.string().min(1).optional(),
});
export type AuthConfig = z.output<typeof AuthConfigSchema>;

export const ProxyConfigSchema = z.strictObject({
  listen: hostPort.default('0.0.0.0:5432'),
  admin: z
    .strictObject({
      listen: hostPort.default('0.0.0.0:9187'),
      /**
       * Users who may open the admin console (the virtual database `dbproxy`; PgBouncer's
       * admin_users). They log in as any client does: with scram or md5 they must be among the users.
       */
      users: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  targets: z.array(target).min(1, 'at least one target (HOST:PORT of PostgreSQL) is needed'),
  /** Set by the operator; a higher one is a failover flip. */
  targetGeneration: z.int().min(0).default(0),
  auth: AuthConfigSchema.prefault({}),
  tls: tls.optional(),
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
