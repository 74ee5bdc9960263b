/**
 * The admin console's command language (PgBouncer's, the part DBProxy implements): one command per
 * simple Query, keywords case-insensitive, an optional trailing `;`. Pure: text in, a command or the
 * error to answer out. Database names are taken as written (a startup packet's database name is
 * exact), or double-quoted with `""` for a quote.
 */

export const SHOW_TARGETS = ['pools', 'clients', 'servers', 'stats', 'config', 'help'] as const;
export type ShowTarget = (typeof SHOW_TARGETS)[number];

export type Command =
  | { kind: 'show'; what: ShowTarget }
  | { kind: 'reload' }
  | { kind: 'pause'; database?: string }
  | { kind: 'resume'; database?: string }
  /** Only whitespace (and `;`): PostgreSQL answers EmptyQueryResponse. */
  | { kind: 'empty' }
  | { kind: 'error'; code: string; message: string; hint?: string };

const HINT = 'SHOW HELP lists the commands of the DBProxy admin console';

/** PgBouncer commands a PgBouncer user may try: named as not supported rather than unknown. */
const PGBOUNCER_ONLY = new Set(['SET', 'KILL', 'SUSPEND', 'SHUTDOWN', 'DISABLE', 'ENABLE', 'RECONNECT', 'WAIT_CLOSE', 'KILL_CLIENT']);
const PGBOUNCER_ONLY_SHOW = new Set([
  'DATABASES',
  'USERS',
  'VERSION',
  'FDS',
  'SOCKETS',
  'ACTIVE_SOCKETS',
  'LISTS',
  'MEM',
  'STATE',
  'DNS_HOSTS',
  'DNS_ZONES',
  'STATS_TOTALS',
  'STATS_AVERAGES',
  'TOTALS',
  'PEERS',
  'PEER_POOLS',
]);

export function parseCommand(sql: string): Command {
  const text = sql.trim().replace(/;\s*$/, '').trimEnd();
  if (text === '') return { kind: 'empty' };
  const words = splitWords(text);
  if (words === undefined) return syntaxError(`unterminated quoted identifier in "${text}"`);
  const [verb = '', ...rest] = words;
  const VERB = verb.toUpperCase();
  switch (VERB) {
    case 'SHOW':
      return parseShow(rest, text);
    case 'RELOAD':
      return rest.length === 0 ? { kind: 'reload' } : tooMany('RELOAD', text);
    case 'PAUSE':
    case 'RESUME': {
      if (rest.length > 1) return tooMany(`${VERB} [database]`, text);
      const kind = VERB === 'PAUSE' ? 'pause' : 'resume';
      return rest[0] === undefined ? { kind } : { kind, database: rest[0] };
    }
  }
  if (PGBOUNCER_ONLY.has(VERB)) return notSupported(VERB);
  return { kind: 'error', code: '42601', message: `syntax error: unknown admin console command "${verb}"`, hint: HINT };
}

function parseShow(rest: string[], text: string): Command {
  if (rest.length === 0) return syntaxError('SHOW needs what to show (POOLS, CLIENTS, SERVERS, STATS, CONFIG or HELP)');
  if (rest.length > 1) return tooMany('SHOW what', text);
  const what = rest[0]!.toLowerCase();
  if ((SHOW_TARGETS as readonly string[]).includes(what)) return { kind: 'show', what: what as ShowTarget };
  if (PGBOUNCER_ONLY_SHOW.has(what.toUpperCase())) return notSupported(`SHOW ${what.toUpperCase()}`);
  return { kind: 'error', code: '42601', message: `syntax error: SHOW ${rest[0]} is not an admin console command`, hint: HINT };
}

/** Whitespace-separated words; a double-quoted word keeps its spaces. undefined: a quote is open. */
function splitWords(text: string): string[] | undefined {
  const words: string[] = [];
  const re = /\s*(?:"((?:[^"]|"")*)"|([^\s"]+))/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (m === null) return /^\s*$/.test(text.slice(at)) ? words : undefined;
    words.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!);
    at = re.lastIndex;
  }
  return words;
}

function syntaxError(message: string): Command {
  return { kind: 'error', code: '42601', message: `syntax error: ${message}`, hint: HINT };
}

function tooMany(usage: string, text: string): Command {
  return syntaxError(`"${text}": expected ${usage}`);
}

function notSupported(what: string): Command {
  return { kind: 'error', code: '0A000', message: `${what} is a PgBouncer command that the DBProxy admin console does not support`, hint: HINT };
}

/** SHOW HELP's text (a NOTICE's detail, as PgBouncer shows it). */
export const HELP_LINES = ['SHOW HELP|POOLS|CLIENTS|SERVERS|STATS|CONFIG', 'RELOAD', 'PAUSE [<db>]', 'RESUME [<db>]'];

/** A command that failed with what to tell the console's client (the session goes on). */
export class ConsoleError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'ConsoleError';
  }
}
