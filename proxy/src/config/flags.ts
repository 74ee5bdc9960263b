/**
 * Quick mode: `dbproxy proxy --listen … --target … --pool-size N …` builds the same config object a
 * file would, through the same schema; problems are reported under the flags' names.
 */
import { ConfigError, parseConfig } from '../../../contract/config/load.js';
import type { ProxyConfig } from '../../../contract/config/schema.js';

export class FlagError extends Error {
  override name = 'FlagError';
}

export const PROXY_USAGE = `usage:
  dbproxy proxy --config FILE
  dbproxy proxy --listen HOST:PORT --target HOST:PORT[,HOST:PORT...] --pool-size N [flags]

  --config FILE                full config, YAML or JSON (re-read when it changes); not combined
                               with the flags below

quick-mode flags:
  --listen HOST:PORT           where clients connect (default 0.0.0.0:5432)
  --target HOST:PORT[,...]     PostgreSQL (required); with several, the proxy follows the writer
  --pool-size N                database connections of the proxy, all pools together (default 20)
  --admin-listen HOST:PORT     /metrics /healthz /readyz /status (default 127.0.0.1:9187)
  --reader-listen HOST:PORT    a read-only endpoint: pools on the available standbys among --target
                               (clients wait while there is none; config reader.whenNoReader)
  --auth trust|scram|md5       client authentication (default scram, which needs --users;
                               trust lets every client in and is never a default)
  --users FILE                 userlist.txt ("user" "password" lines) or a YAML/JSON list
  --pinning-filters LIST       comma-separated, e.g. EXCLUDE_VARIABLE_SETS (the default); "none" for none
  --tls-cert FILE --tls-key FILE [--require-tls]
  --borrow-timeout D           how long a client waits for a connection (default 120s)
  --idle-client-timeout D      close idle clients after D (default 1800s; 0 = never)
  --max-client-connections N   client connections the proxy holds at once; past them FATAL 53300
                               (default 20000)
  --log-level LEVEL            fatal|error|warn|info|debug|trace|silent (default info)
  --io auto|native|node        which mover carries plaintext connections' bytes: the native I/O
                               core, Node's sockets, or the core when it is built (default auto)

Durations: 500ms, 30s, 5m, 1h, or a number of seconds. Flags take "--flag value" or "--flag=value".
The proxy logs in to the database as the client's user, with that user's password from --users or,
for users not listed there, PGPASSWORD. Without --users, client auth must be --auth trust.
`;

/** Quick-mode flags that take a value, and the config path each one sets. */
const VALUE_FLAGS: Record<string, string> = {
  '--config': '',
  '--listen': 'listen',
  '--target': 'targets',
  '--pool-size': 'pool.maxConnections',
  '--admin-listen': 'admin.listen',
  '--reader-listen': 'reader.listen',
  '--auth': 'auth.method',
  '--users': 'auth.usersFile',
  '--pinning-filters': 'pool.sessionPinningFilters',
  '--tls-cert': 'tls.certFile',
  '--tls-key': 'tls.keyFile',
  '--borrow-timeout': 'pool.borrowTimeout',
  '--idle-client-timeout': 'idleClientTimeout',
  '--max-client-connections': 'limits.maxClientConnections',
  '--log-level': 'logLevel',
  '--io': 'io',
};
const BOOL_FLAGS: Record<string, string> = { '--require-tls': 'tls.require' };

/** Config path (prefix) → the flag to name in an error. */
const FLAG_OF_PATH = Object.entries({ ...VALUE_FLAGS, ...BOOL_FLAGS })
  .filter(([, p]) => p !== '')
  .map(([flag, p]) => [p, flag] as const)
  .concat([
    ['tls', '--tls-cert/--tls-key'],
    ['auth.users', '--users'],
    ['auth', '--auth/--users'],
  ])
  .sort((a, b) => b[0].length - a[0].length);

function usageError(message: string): FlagError {
  return new FlagError(`${message}\n\n${PROXY_USAGE}`);
}

/** `--name value` / `--name=value` pairs; unknown flags, stray words and missing values are errors. */
function readFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (flags.has(name)) throw usageError(`${name} is given twice`);
    if (name in BOOL_FLAGS) {
      if (eq > 0) throw usageError(`${name} takes no value`);
      flags.set(name, 'true');
    } else if (name in VALUE_FLAGS) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith('--'))) throw usageError(`${name} needs a value`);
      flags.set(name, value);
    } else {
      throw usageError(arg.startsWith('-') ? `unknown flag "${arg}"` : `unexpected argument "${arg}" (flags start with --)`);
    }
  }
  return flags;
}

/** Sets `a.b.c` in a nested plain object. */
function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let at = obj;
  for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>;
  at[keys[keys.length - 1]!] = value;
}

/** The flag's string as the config value the schema expects. */
function configValue(flag: string, raw: string): unknown {
  switch (flag) {
    case '--target':
      return raw.split(',').map((t) => t.trim());
    case '--pool-size':
    case '--max-client-connections':
      return /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw; // a non-number is reported by the schema
    case '--pinning-filters':
      return raw.trim() === 'none' || raw.trim() === '' ? [] : raw.split(',').map((s) => s.trim());
    case '--require-tls':
      return true;
    default:
      return raw;
  }
}

/** `pool.maxConnections: expected …` → `--pool-size: expected …`. */
function renameProblem(problem: string): string {
  const hit = FLAG_OF_PATH.find(([p]) => problem.startsWith(p + ':') || problem.startsWith(p + '.') || problem.startsWith(p + ' '));
  if (!hit) return problem;
  const rest = problem
    .slice(hit[0].length)
    .replace(/^\.\d+/, '')
    .replace(/^\.[\w.]+(?=:)/, '');
  return `${hit[1]}${rest.replace(' (or {host, port})', '')}`;
}

/**
 * Parses `dbproxy proxy` arguments: either `--config FILE` (read by the caller) or quick-mode flags
 * turned into a validated config. `_env` is where the backend password comes from (PGPASSWORD), but
 * the server reads it when it logs in to the database, so it is not copied into the config.
 */
export function parseProxyArgs(argv: string[], _env: NodeJS.ProcessEnv): { configFile?: string; config?: ProxyConfig } {
  const flags = readFlags(argv);
  const configFile = flags.get('--config');
  if (configFile !== undefined) {
    const others = [...flags.keys()].filter((f) => f !== '--config');
    if (others.length > 0) throw usageError(`--config cannot be combined with quick-mode flags (${others.join(', ')}): put them in the file`);
    return { configFile };
  }
  if (!flags.has('--target')) throw usageError('--target HOST:PORT (or --config FILE) is required');
  const obj: Record<string, unknown> = {};
  for (const [flag, raw] of flags) setPath(obj, VALUE_FLAGS[flag] ?? BOOL_FLAGS[flag]!, configValue(flag, raw));
  const problems: string[] = [];
  if (!flags.has('--users') && flags.get('--auth') !== 'trust' && ['scram', 'md5', undefined].includes(flags.get('--auth'))) {
    problems.push(
      `--auth ${flags.get('--auth') ?? 'scram (the default)'} needs --users FILE; without a users file pass --auth trust explicitly (clients are then not checked, and the proxy logs in to the database with PGPASSWORD)`,
    );
    setPath(obj, 'auth.method', 'trust'); // reported above; keep it out of the schema's own list
  }
  try {
    const config = parseConfig(obj, 'command line');
    if (problems.length === 0) return { config };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems.map(renameProblem));
  }
  throw new FlagError(`invalid flags:\n${problems.map((p) => `  - ${p}`).join('\n')}\n\n${PROXY_USAGE}`);
}

/** `--help`'s part for Kubernetes mode (flags that proxy/src/main.ts takes before the others). */
export const KUBE_USAGE = `
Kubernetes mode (what the operator's pods run):
  dbproxy proxy --config-secret NAME [--bind-host HOST]
      watch Secret NAME (key config.yaml) in $POD_NAMESPACE through the API and hot-reload it;
      --bind-host overrides the listen hosts (the pod's own IP)
`;
