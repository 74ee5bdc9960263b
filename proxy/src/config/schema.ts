/**
 * The one schema of the proxy config. The file, the quick-mode flags and the operator's rendered
 * Secret all go through it; defaults live here and nowhere else.
 */
import { z } from 'zod';
import { zDuration } from './duration.js';
import { parseHostPort } from './host-port.js';

export { parseHostPort } from './host-port.js';

/** Pinning filters (RDS Proxy's names): each waives one class of pinning. */
export const PINNING_FILTERS = ['EXCLUDE_VARIABLE_SETS'] as const;
export type PinningFilter = (typeof PINNING_FILTERS)[number];

const hostPort = z.string().refine(
  (s) => {
    try {
      parseHostPort(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected HOST:PORT, e.g. 0.0.0.0:5432 or [::1]:5432' },
);

const target = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(5432),
});

const user = z.object({ username: z.string().min(1), password: z.string() });

export const ProxyConfigSchema = z
  .object({
    listen: hostPort.default('0.0.0.0:5432'),
    admin: z.object({ listen: hostPort.default('0.0.0.0:9187') }).prefault({}),
    targets: z.array(target).min(1, 'at least one target (HOST:PORT of PostgreSQL) is needed'),
    targetGeneration: z.number().int().min(0).optional(),
    auth: z
      .object({
        method: z.enum(['scram', 'md5', 'trust']).default('scram'),
        users: z.array(user).default([]),
        usersFile: z.string().optional(),
      })
      .prefault({}),
    tls: z
      .object({ certFile: z.string().optional(), keyFile: z.string().optional(), require: z.boolean().default(false) })
      .optional(),
    pool: z
      .object({
        maxConnections: z.number().int().min(1).default(20),
        /** Defaults to maxConnections: keep every connection warm (RDS's knob is a percentage of it). */
        maxIdleConnections: z.number().int().min(0).optional(),
        borrowTimeout: zDuration.default(120_000),
        initQuery: z.string().default(''),
        sessionPinningFilters: z.array(z.enum(PINNING_FILTERS)).default(['EXCLUDE_VARIABLE_SETS']),
      })
      .prefault({}),
    idleClientTimeout: zDuration.default(1_800_000),
    healthCheck: z
      .object({
        interval: zDuration.default(1_000),
        failureThreshold: z.number().int().min(1).default(2),
        timeout: zDuration.default(2_000),
      })
      .prefault({}),
    maxMessageLength: z.number().int().min(1024).default(16 * 1024 * 1024),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.pool.maxIdleConnections !== undefined && c.pool.maxIdleConnections > c.pool.maxConnections) {
      ctx.addIssue({ code: 'custom', path: ['pool', 'maxIdleConnections'], message: 'must be at most pool.maxConnections' });
    }
    if (c.tls?.require && !(c.tls.certFile && c.tls.keyFile)) {
      ctx.addIssue({ code: 'custom', path: ['tls', 'require'], message: 'requires tls.certFile and tls.keyFile' });
    }
    if (c.tls && Boolean(c.tls.certFile) !== Boolean(c.tls.keyFile)) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'certFile and keyFile go together' });
    }
  })
  .transform((c) => ({ ...c, pool: { ...c.pool, maxIdleConnections: c.pool.maxIdleConnections ?? c.pool.maxConnections } }));

export type ProxyConfigInput = z.input<typeof ProxyConfigSchema>;
export type ProxyConfig = z.output<typeof ProxyConfigSchema>;
