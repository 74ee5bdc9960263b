/**
 * Session parameters a client expects on whatever backend it borrows: its startup parameters plus
 * the SETs it ran (tracked, not pinned, under EXCLUDE_VARIABLE_SETS). Values are kept as SQL text so
 * they can be replayed verbatim with `SET name = value`.
 */

/** Startup parameters that are not session settings. */
const NOT_SETTINGS = new Set(['user', 'database', 'options', 'replication']);

/** Quotes a value as an SQL string literal. */
export function sqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Quotes a parameter name as an SQL identifier when it needs it (custom `a.b` names stay dotted). */
export function sqlName(name: string): string {
  return /^[a-z_][a-z0-9_$]*(\.[a-z_][a-z0-9_$]*)?$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

export class StartupOptionsError extends Error {
  override name = 'StartupOptionsError';
}

/**
 * The settings a startup packet asks for, as name → SQL value. `options` is split the way the server
 * does (`-c name=value` and `--name=value`); anything else in it is refused.
 */
export function startupSettings(params: ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of params) {
    if (NOT_SETTINGS.has(name)) continue;
    out.set(name.toLowerCase(), sqlLiteral(value));
  }
  const options = params.get('options');
  if (options) {
    for (const [name, value] of parseOptions(options)) out.set(name.toLowerCase(), sqlLiteral(value));
  }
  return out;
}

function parseOptions(options: string): [string, string][] {
  const words = options.match(/(?:\\.|[^\s\\])+/g) ?? [];
  const unescapeWord = (w: string) => w.replace(/\\(.)/g, '$1');
  const out: [string, string][] = [];
  for (let i = 0; i < words.length; i++) {
    let w = unescapeWord(words[i]!);
    if (w === '-c') {
      w = unescapeWord(words[++i] ?? '');
    } else if (w.startsWith('-c')) {
      w = w.slice(2);
    } else if (w.startsWith('--')) {
      w = w.slice(2);
    } else {
      throw new StartupOptionsError(`unsupported startup option "${w}": the proxy accepts only -c name=value`);
    }
    const eq = w.indexOf('=');
    if (eq <= 0) throw new StartupOptionsError(`invalid startup option "${w}": expected name=value`);
    out.push([w.slice(0, eq).replace(/-/g, '_'), w.slice(eq + 1)]);
  }
  return out;
}

/**
 * The SQL that makes a backend's session settings equal the client's: SET what differs, RESET what
 * the backend has and the client does not. Empty when they already match (the common case).
 */
export function syncSettingsSql(wanted: ReadonlyMap<string, string>, backend: ReadonlyMap<string, string>): string {
  let sql = '';
  for (const [name, value] of wanted) {
    if (backend.get(name) !== value) sql += `SET ${sqlName(name)} = ${value};`;
  }
  for (const name of backend.keys()) {
    if (!wanted.has(name)) sql += `RESET ${sqlName(name)};`;
  }
  return sql;
}
