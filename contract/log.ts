/**
 * The one way the proxy and the operator make their pino loggers: with redaction of every field that
 * can carry a secret (passwords, tokens, Authorization headers, Secret data, SASL payloads), so a
 * careless `log.debug({ config })` prints "[redacted]" instead. docs/security.md lists what is logged.
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export const REDACTED = '[redacted]';

/** Keys redacted wherever they appear, at the top level or up to four levels down. */
const SECRET_KEYS = [
  'password',
  'passwd',
  'token',
  'statusToken',
  'secret',
  'authorization',
  'Authorization',
  'cookie',
  'bearerToken',
  'clientKey',
  'keyData',
  'client-key-data',
  'privateKey',
  'sasl',
  'saslPayload',
  'saslData',
  'clientFinal',
  'clientProof',
  // Secret objects' payloads: `data` of a Secret holds the config (with passwords) or the token.
  'stringData',
];

/** Paths pino cannot express as "anywhere": explicit ones for nested objects we know. */
const EXTRA_PATHS = [
  'config.auth.users[*].password',
  'auth.users[*].password',
  'users[*].password',
  'headers.authorization',
  'req.headers.authorization',
  'request.headers.authorization',
  'options.headers.authorization',
  'options.headers.Authorization',
  'params.password',
  'startupParams.password',
  'secret.data',
  'object.data',
  'body.data',
];

/** Any key that names a secret, at any depth (pino's redact paths stop at a fixed depth; this does not). */
const SECRET_KEY = new RegExp(`^(${SECRET_KEYS.map((k) => k.replace(/[-]/g, '\\-')).join('|')})$`, 'i');
const MAX_DEPTH = 10;

/**
 * A copy of a log record with every secret-named field (and a Secret object's data) replaced; the
 * caller's objects are never changed. Values with toJSON (Date, Buffer) are kept as they are.
 */
export function scrubSecrets(v: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (v === null || typeof v !== 'object' || depth > MAX_DEPTH || seen.has(v)) return v;
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return v;
  seen.add(v);
  if (Array.isArray(v)) return v.map((x) => scrubSecrets(x, depth + 1, seen));
  const src = v as Record<string, unknown>;
  const isSecretObject = src['kind'] === 'Secret';
  const out: Record<string, unknown> = {};
  // An Error's message and stack are not enumerable: keep them, as pino's err serializer would.
  if (v instanceof Error) Object.assign(out, { type: v.name, message: v.message, stack: v.stack });
  for (const k of Object.keys(src)) {
    const secret = SECRET_KEY.test(k) || (isSecretObject && k === 'data');
    out[k] = secret && src[k] !== undefined ? REDACTED : scrubSecrets(src[k], depth + 1, seen);
  }
  return out;
}

/** A pino logger with the redaction on; `destination` for tests (default stdout). */
export function createLogger(options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const opts: LoggerOptions = {
    ...options,
    // Paths first (fast, for the shapes we know), then the walk for everything deeper or unforeseen.
    redact: { paths: EXTRA_PATHS, censor: REDACTED },
    formatters: { ...options.formatters, log: (obj) => scrubSecrets(options.formatters?.log ? options.formatters.log(obj) : obj) as Record<string, unknown> },
  };
  return destination ? pino(opts, destination) : pino(opts);
}
