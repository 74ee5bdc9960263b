/** Quick mode: `dbproxy proxy --listen … --target … --pool-size N …` builds the same config object. */
import { parseHostPort } from './host-port.js';
import { parseConfig } from './load.js';
import type { ProxyConfig } from './schema.js';

export class FlagError extends Error {
  override name = 'FlagError';
}

export const PROXY_USAGE = `usage:
  dbproxy proxy --config FILE
  dbproxy proxy --listen HOST:PORT --target HOST:PORT[,HOST:PORT...] --pool-size N [flags]

quick-mode flags:
  --listen HOST:PORT           where clients connect (default 0.0.0.0:5432)
  --target HOST:PORT[,...]     PostgreSQL; with several, the proxy follows the writer
  --pool-size N                database connections per (database, user) pool (default 20)
  --admin-listen HOST:PORT     /metrics /healthz /readyz /status (default 0.0.0.0:9187)
  --auth trust|scram|md5       client authentication (scram needs --users; trust must be explicit)
  --users FILE                 userlist.txt ("user" "password" lines) or a YAML list
  --pinning-filters LIST       comma-separated, e.g. EXCLUDE_VARIABLE_SETS (the default); "none" for none
  --tls-cert FILE --tls-key FILE [--require-tls]
  --borrow-timeout D           how long a client waits for a connection (default 120s)
  --idle-client-timeout D      close idle clients after D (default 1800s; 0 = never)
  --log-level LEVEL            fatal|error|warn|info|debug|trace (default info)

The backend password is the user's password from --users, or PGPASSWORD.
`;

const VALUE_FLAGS = new Set([
  '--config',
  '--listen',
  '--target',
  '--pool-size',
  '--admin-listen',
  '--auth',
  '--users',
  '--pinning-filters',
  '--tls-cert',
  '--tls-key',
  '--borrow-timeout',
  '--idle-client-timeout',
  '--log-level',
]);
const BOOL_FLAGS = new Set(['--require-tls']);

export function parseProxyArgs(argv: string[], _env: NodeJS.ProcessEnv): { configFile?: string; config?: ProxyConfig } {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (BOOL_FLAGS.has(name)) {
      flags.set(name, 'true');
    } else if (VALUE_FLAGS.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new FlagError(`${name} needs a value\n\n${PROXY_USAGE}`);
      flags.set(name, value);
    } else {
      throw new FlagError(`unknown flag "${arg}"\n\n${PROXY_USAGE}`);
    }
  }
  const configFile = flags.get('--config');
  if (configFile !== undefined) {
    if (flags.size > 1) throw new FlagError('--config cannot be combined with quick-mode flags');
    return { configFile };
  }
  if (!flags.has('--target')) throw new FlagError(`--target (or --config FILE) is required\n\n${PROXY_USAGE}`);
  const obj: Record<string, unknown> = {};
  const problems: string[] = [];
  const attempt = (f: () => void) => {
    try {
      f();
    } catch (err) {
      problems.push((err as Error).message);
    }
  };
  if (flags.has('--listen')) obj['listen'] = flags.get('--listen');
  if (flags.has('--admin-listen')) obj['admin'] = { listen: flags.get('--admin-listen') };
  attempt(() => (obj['targets'] = flags.get('--target')!.split(',').map((t) => parseHostPort(t))));
  const pool: Record<string, unknown> = {};
  if (flags.has('--pool-size')) {
    const n = Number(flags.get('--pool-size'));
    if (!Number.isInteger(n) || n < 1) problems.push(`--pool-size: expected a whole number >= 1, got "${flags.get('--pool-size')}"`);
    pool['maxConnections'] = n;
  }
  if (flags.has('--borrow-timeout')) pool['borrowTimeout'] = flags.get('--borrow-timeout');
  if (flags.has('--pinning-filters')) {
    const list = flags.get('--pinning-filters')!;
    pool['sessionPinningFilters'] = list === 'none' || list === '' ? [] : list.split(',').map((s) => s.trim());
  }
  obj['pool'] = pool;
  const auth: Record<string, unknown> = {};
  if (flags.has('--auth')) auth['method'] = flags.get('--auth');
  if (flags.has('--users')) auth['usersFile'] = flags.get('--users');
  obj['auth'] = auth;
  if (flags.has('--tls-cert') || flags.has('--tls-key') || flags.has('--require-tls')) {
    obj['tls'] = { certFile: flags.get('--tls-cert'), keyFile: flags.get('--tls-key'), require: flags.has('--require-tls') };
  }
  if (flags.has('--idle-client-timeout')) obj['idleClientTimeout'] = flags.get('--idle-client-timeout');
  if (flags.has('--log-level')) obj['logLevel'] = flags.get('--log-level');
  if (problems.length > 0) throw new FlagError(`invalid flags:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return { config: parseConfig(obj, 'command line') };
}
