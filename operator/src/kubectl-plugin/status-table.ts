/**
 * `kubectl dbproxy status`: its arguments, and one table from every proxy pod's admin `/status`.
 * Pure: main.ts does the requests. A pod whose status cannot be read still gets its row, saying why.
 */

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage: kubectl dbproxy status NAME [-n NAMESPACE]

  status NAME   one row per proxy pod of DBProxy NAME, from each pod's admin /status and
                /config (read through the apiserver's pod proxy): readiness, the config
                version it runs, target, clients, database connections borrowed and idle,
                clients waiting; a config the pod refused is shown under ERROR
  -n, --namespace NAMESPACE   the DBProxy's namespace (default: the kubeconfig context's)

The kubeconfig is KUBECONFIG or ~/.kube/config, as for kubectl.
`;

export interface StatusArgs {
  name: string;
  namespace: string | undefined;
}

export function parseArgs(argv: readonly string[]): StatusArgs | 'help' {
  if (argv.length === 0 || argv.some((a) => a === '-h' || a === '--help') || argv[0] === 'help') return 'help';
  const [command, ...rest] = argv;
  if (command !== 'status') throw new UsageError(`unknown command "${command}" (the one command is status)`);
  let namespace: string | undefined;
  const names: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const inline = /^(?:-n|--namespace)=(.*)$/.exec(a);
    if (inline) namespace = inline[1];
    else if (a === '-n' || a === '--namespace') {
      namespace = rest[++i];
      if (namespace === undefined) throw new UsageError(`${a} needs a namespace`);
    } else if (a.startsWith('-')) throw new UsageError(`unknown flag ${a}`);
    else names.push(a);
  }
  if (names.length !== 1) throw new UsageError(names.length === 0 ? 'status needs the DBProxy name' : `status takes one DBProxy name, got ${names.join(' ')}`);
  if (namespace === '') throw new UsageError('the namespace must not be empty');
  return { name: names[0]!, namespace };
}

export interface PodInfo {
  name: string;
  ready: boolean;
  /** Why the pod's status is not asked (not running yet, no IP). */
  unreachable?: string;
}

export interface PodRow {
  pod: string;
  ready: boolean;
  config: string;
  target: string;
  generation: string;
  clients: number | undefined;
  borrowed: number | undefined;
  idle: number | undefined;
  waiting: number | undefined;
  /** Why the row has no figures. */
  error?: string;
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json => (v !== null && typeof v === 'object' ? (v as Json) : {});
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

/**
 * A pod's row from its /status body (or the error that kept us from reading it) and its /config
 * report: the config version it runs and what it last refused (undefined, or an Error, when the pod
 * has no /config: older pods).
 */
export function podRow(pod: PodInfo, status: unknown, config?: unknown): PodRow {
  const base = { pod: pod.name, ready: pod.ready };
  if (status instanceof Error || pod.unreachable) {
    const error = pod.unreachable ?? (status as Error).message;
    return { ...base, config: '', target: '', generation: '', clients: undefined, borrowed: undefined, idle: undefined, waiting: undefined, error };
  }
  const s = obj(status);
  const db = obj(s['databaseConnections']);
  const pools = Array.isArray(s['pools']) ? s['pools'] : [];
  const waiting = pools.reduce<number | undefined>((sum, p) => (num(obj(p)['waiting']) === undefined ? sum : (sum ?? 0) + num(obj(p)['waiting'])!), undefined);
  const c = config instanceof Error ? {} : obj(config);
  const refused = obj(c['refused']);
  const problems = Array.isArray(refused['problems']) ? refused['problems'].filter((p): p is string => typeof p === 'string') : [];
  return {
    ...base,
    config: str(c['version']) ?? '',
    ...(problems.length > 0 && { error: `refused config${str(refused['version']) ? ` ${str(refused['version'])}` : ''}: ${problems.join('; ')}` }),
    target: str(s['target']) ?? (s['target'] === null ? '(none)' : ''),
    generation: str(s['targetGeneration']) ?? '',
    clients: num(obj(s['clients'])['total']),
    borrowed: num(db['active']),
    idle: num(db['idle']),
    waiting: waiting ?? (pools.length === 0 && 'pools' in s ? 0 : undefined),
  };
}

const HEADERS = ['POD', 'READY', 'CONFIG', 'TARGET', 'GENERATION', 'CLIENTS', 'BORROWED', 'IDLE', 'WAITING'];

/** kubectl's layout: upper-case headers, columns three spaces apart; a TOTAL row for several pods. */
export function formatTable(rows: readonly PodRow[]): string {
  const cell = (n: number | undefined) => (n === undefined ? '' : String(n));
  const lines = rows.map((r) => [
    r.pod,
    r.ready ? 'true' : 'false',
    r.config,
    r.target,
    r.generation,
    cell(r.clients),
    cell(r.borrowed),
    cell(r.idle),
    cell(r.waiting),
    r.error ?? '',
  ]);
  const headers = rows.some((r) => r.error) ? [...HEADERS, 'ERROR'] : HEADERS;
  if (rows.length > 1) {
    const sum = (k: 'clients' | 'borrowed' | 'idle' | 'waiting') => rows.reduce((t, r) => t + (r[k] ?? 0), 0);
    lines.push([
      'TOTAL',
      `${rows.filter((r) => r.ready).length}/${rows.length}`,
      '',
      '',
      '',
      cell(sum('clients')),
      cell(sum('borrowed')),
      cell(sum('idle')),
      cell(sum('waiting')),
      '',
    ]);
  }
  const table = [headers, ...lines.map((l) => l.slice(0, headers.length))];
  const widths = headers.map((_, i) => Math.max(...table.map((l) => l[i]!.length)));
  return (
    table
      .map((l) =>
        l
          .map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i]! + 3)))
          .join('')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
