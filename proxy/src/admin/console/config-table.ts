/**
 * SHOW CONFIG: the running config, one setting per row as PgBouncer shows its own (key, value,
 * default, changeable). Keys are the config file's dotted paths; durations print as the file would
 * write them; passwords never appear (auth.users lists the user names only). Pure.
 */
import { ProxyConfigSchema, formatHostPort, type ProxyConfig } from '../../../../contract/config/schema.js';
import { text, type ResultSet } from './rows.js';

/** Settings a reload does not change (the listeners, the mover and the logger are set up at start). */
const RESTART_ONLY = new Set(['listen', 'admin.listen', 'reader.listen', 'io', 'logLevel']);
/** Durations (milliseconds once parsed). */
const DURATIONS = new Set(['pool.borrowTimeout', 'idleClientTimeout', 'healthCheck.interval', 'healthCheck.timeout']);
/** Settings whose values are secrets (admin.statusToken, …): shown as set, never printed. */
const SECRET_KEY = /(token|password|secret|passphrase)$/i;
const HIDDEN = '(hidden)';
/** Settings without a default worth printing (the defaults' stand-in targets are not one). */
const NO_DEFAULT = new Set(['targets', 'auth.users']);

let defaultsCache: Map<string, string> | undefined;

/** The default of every setting that has one: the schema applied to the smallest valid config. */
function defaults(): Map<string, string> {
  if (defaultsCache === undefined) {
    defaultsCache = flatten(ProxyConfigSchema.parse({ targets: ['127.0.0.1:5432'] }));
    for (const k of NO_DEFAULT) defaultsCache.delete(k);
  }
  return defaultsCache;
}

export function configTable(config: ProxyConfig): ResultSet {
  const d = defaults();
  const rows = [...flatten(config)].map(([key, value]) => [key, value, d.get(key) ?? null, RESTART_ONLY.has(key) ? 'no' : 'yes']);
  return { columns: [text('key'), text('value'), text('default'), text('changeable')], rows, tag: 'SHOW' };
}

/** Dotted key → printed value, in the config's own order. */
export function flatten(config: ProxyConfig): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (value: unknown, key: string): void => {
    if (value === undefined) return;
    if (SECRET_KEY.test(key)) return void out.set(key, HIDDEN);
    if (DURATIONS.has(key) && typeof value === 'number') return void out.set(key, formatDuration(value));
    if (Array.isArray(value)) return void out.set(key, value.map((v) => item(key, v)).join(','));
    if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, key ? `${key}.${k}` : k);
      return;
    }
    out.set(key, String(value));
  };
  walk(config, '');
  return out;
}

/** One element of a list setting: a target as HOST:PORT, a user by name only. */
function item(key: string, v: unknown): string {
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o['host'] === 'string' && typeof o['port'] === 'number') return formatHostPort(o['host'], o['port']);
    if (typeof o['username'] === 'string') return o['username'];
    throw new Error(`${key}: cannot print ${JSON.stringify(Object.keys(o))}`);
  }
  return String(v);
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
