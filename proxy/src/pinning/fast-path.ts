/**
 * The fast path: settles the common statement — one SELECT/INSERT/UPDATE/DELETE/WITH/… that mentions
 * nothing session-affecting — with a first-keyword check and one regular-expression scan, without
 * tokenizing. It may only ever answer "plain"; anything it is unsure about goes to the tokenizer.
 *
 * Why raw-text scanning is safe: quoting and comments can only *hide* text from the server, never
 * reveal it, so a needle found in a literal merely sends the statement down the slow path. What the
 * scan must not miss are the ways a statement could affect the session while looking plain: a second
 * statement (`;`), a session function (advisory locks, set_config, spelled plainly or via U&"…"
 * escapes), SELECT … INTO a temp table, and anything pg_temp. Comments, dollar quotes, E'' strings
 * and unbalanced quotes go to the tokenizer, which is exact about them (and says `unknown` when they
 * are unterminated). EXPLAIN is left out: EXPLAIN ANALYZE CREATE TEMP TABLE … AS runs its statement.
 */
const FIRST_WORDS: readonly string[] = [
  'select',
  'insert',
  'update',
  'delete',
  'with',
  'values',
  'table',
  'merge',
  'fetch',
  'move',
  'close',
  'analyze',
  'vacuum',
  'truncate',
  'lock',
  'notify',
  'call',
  'show',
];

/** One scan for everything that needs a closer look; `$` is fine only as a `$1` parameter. */
const NEEDS_LOOK = /advisory|set_config|pg_temp|u&|--|\/\*|\\|\$(?!\d)/i;
/**
 * The same for the statements that are SELECTs to the grammar (SELECT, WITH, VALUES, TABLE), where
 * `INTO` may create a (temporary) table — or, after VALUES/TABLE, is an error the tokenizer path
 * also treats as pinning; INSERT/MERGE INTO do not.
 */
const NEEDS_LOOK_SELECT = /advisory|set_config|pg_temp|u&|--|\/\*|\\|\$(?!\d)|into/i;
const SELECT_LIKE: ReadonlySet<string> = new Set(['select', 'with', 'values', 'table']);
/** Every '…' and "…" closed (one linear pass; '' and "" escapes are two closed quotes in a row). */
const BALANCED_QUOTES = /^[^'"]*(?:'[^']*'[^'"]*|"[^"]*"[^'"]*)*$/;

export function isFastPlain(sql: string): boolean {
  const n = sql.length;
  let i = 0;
  let c = sql.charCodeAt(0);
  while (i < n && (c === 32 || c === 40 /* ( */ || (c >= 9 && c <= 13))) c = sql.charCodeAt(++i);
  let j = i;
  while (j < n && isLetter(sql.charCodeAt(j))) j++;
  if (j - i < 3 || j - i > 8 || isIdentPart(sql.charCodeAt(j))) return false;
  const first = firstWord(sql, i, j);
  if (first === undefined) return false;
  const semi = sql.indexOf(';', j);
  if (semi >= 0 && !onlySpaceAfter(sql, semi + 1)) return false;
  if ((SELECT_LIKE.has(first) ? NEEDS_LOOK_SELECT : NEEDS_LOOK).test(sql)) return false;
  return BALANCED_QUOTES.test(sql);
}

/** The fast-path keyword spelled by sql[i, j) in any case, compared in place (no allocation). */
function firstWord(sql: string, i: number, j: number): string | undefined {
  next: for (const w of FIRST_WORDS) {
    if (w.length !== j - i) continue;
    for (let k = 0; k < w.length; k++) if ((sql.charCodeAt(i + k) | 32) !== w.charCodeAt(k)) continue next;
    return w;
  }
  return undefined;
}

const isLetter = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
const isIdentPart = (c: number) => isLetter(c) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c >= 128;

function onlySpaceAfter(sql: string, from: number): boolean {
  for (let i = from; i < sql.length; i++) {
    const c = sql.charCodeAt(i);
    if (!(c === 32 || (c >= 9 && c <= 13))) return false;
  }
  return true;
}
