/**
 * A small SQL tokenizer: enough to find statement boundaries, leading keywords and function calls
 * without being fooled by comments, quoted identifiers, string literals or dollar quotes. Not a parser.
 *
 * Lexical rules follow PostgreSQL's scanner with standard_conforming_strings on (the default since
 * 9.1): in '…' a backslash is an ordinary character, in E'…' it escapes; '' is a quote in both.
 * Unterminated quotes or comments throw UnterminatedError: the classifier then says `unknown`.
 */
export const enum Tok {
  Word, // keyword or unquoted identifier, folded to lower case
  Ident, // "quoted identifier" (or U&"…"), its text unquoted and case kept
  String, // '…', E'…', U&'…' or $tag$…$tag$, value unescaped
  Number,
  Param, // $1
  Semi,
  LParen,
  RParen,
  Comma,
  Dot,
  Op, // any other operator character, one per token
}

export interface Token {
  t: Tok;
  v: string;
  /** Source offsets: [start, end). */
  start: number;
  end: number;
}

export class UnterminatedError extends Error {
  override name = 'UnterminatedError';
}

const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);
const isIdentStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
const isIdentPart = (c: number) => isIdentStart(c) || (c >= 48 && c <= 57) || c === 36;
const isDigit = (c: number) => c >= 48 && c <= 57;

const SINGLE: Record<number, Tok> = { 59: Tok.Semi, 40: Tok.LParen, 41: Tok.RParen, 44: Tok.Comma, 46: Tok.Dot };

export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    const c1 = sql.charCodeAt(i + 1);
    if (isSpace(c)) {
      i++;
    } else if (c === 45 /* - */ && c1 === 45) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
    } else if (c === 47 /* / */ && c1 === 42 /* * */) {
      i = skipBlockComment(sql, i);
    } else if (c === 39 /* ' */) {
      i = push(out, Tok.String, i, readString(sql, i + 1, false));
    } else if ((c === 69 || c === 101) /* E e */ && c1 === 39) {
      i = push(out, Tok.String, i, readString(sql, i + 2, true));
    } else if ((c === 66 || c === 98 || c === 88 || c === 120) /* B b X x */ && c1 === 39) {
      // Bit and hex strings: no escapes at all, not even ''.
      const q = sql.indexOf("'", i + 2);
      if (q < 0) throw new UnterminatedError('unterminated bit string');
      i = push(out, Tok.String, i, [sql.slice(i + 2, q), q + 1]);
    } else if ((c === 85 || c === 117) /* U u */ && c1 === 38 /* & */ && (sql.charCodeAt(i + 2) === 39 || sql.charCodeAt(i + 2) === 34)) {
      const [v, end] = sql.charCodeAt(i + 2) === 39 ? readString(sql, i + 3, false) : readIdent(sql, i + 3);
      out.push({ t: sql.charCodeAt(i + 2) === 39 ? Tok.String : Tok.Ident, v: unicodeUnescape(v), start: i, end });
      i = end;
    } else if (c === 34 /* " */) {
      i = push(out, Tok.Ident, i, readIdent(sql, i + 1));
    } else if (c === 36 /* $ */) {
      i = readDollar(sql, i, out);
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(sql.charCodeAt(j))) j++;
      out.push({ t: Tok.Word, v: sql.slice(i, j).toLowerCase(), start: i, end: j });
      i = j;
    } else if (isDigit(c) || (c === 46 && isDigit(c1))) {
      let j = i + 1;
      while (j < n && (isIdentPart(sql.charCodeAt(j)) || sql.charCodeAt(j) === 46)) j++;
      out.push({ t: Tok.Number, v: sql.slice(i, j), start: i, end: j });
      i = j;
    } else if (c === 46 && c1 === 46) {
      out.push({ t: Tok.Op, v: '..', start: i, end: i + 2 }); // PL/pgSQL's range operator, not two dots
      i += 2;
    } else {
      out.push({ t: SINGLE[c] ?? Tok.Op, v: sql[i]!, start: i, end: i + 1 });
      i++;
    }
  }
  return out;
}

function push(out: Token[], t: Tok, start: number, [v, end]: [string, number]): number {
  out.push({ t, v, start, end });
  return end;
}

/** Block comments nest in PostgreSQL, unlike the SQL standard. */
function skipBlockComment(sql: string, at: number): number {
  let depth = 0;
  let i = at;
  const n = sql.length;
  while (i < n) {
    const c = sql.charCodeAt(i);
    const c1 = sql.charCodeAt(i + 1);
    if (c === 47 && c1 === 42) {
      depth++;
      i += 2;
    } else if (c === 42 && c1 === 47) {
      i += 2;
      if (--depth === 0) return i;
    } else {
      i++;
    }
  }
  throw new UnterminatedError('unterminated /* comment');
}

/** A string literal body from `from` (just after the opening quote); returns [value, end]. */
function readString(sql: string, from: number, escapes: boolean): [string, number] {
  if (!escapes) {
    // The common literal has no '' inside: one indexOf and one slice.
    const q = sql.indexOf("'", from);
    if (q >= 0 && sql.charCodeAt(q + 1) !== 39 && continuation(sql, q + 1) < 0) return [sql.slice(from, q), q + 1];
  }
  let v = '';
  let i = from;
  while (i < sql.length) {
    const c = sql[i]!;
    if (escapes && c === '\\') {
      v += unescapeBackslash(sql[i + 1] ?? '');
      i += 2;
    } else if (c === "'") {
      if (sql[i + 1] === "'") {
        v += "'";
        i += 2;
        continue;
      }
      const next = continuation(sql, i + 1);
      if (next < 0) return [v, i + 1];
      i = next + 1; // 'a'<newline>'b' is one literal, 'ab'
    } else {
      v += c;
      i++;
    }
  }
  throw new UnterminatedError('unterminated string literal');
}

/**
 * Where a literal continues: a quote after whitespace that holds a newline (and maybe `--` comments
 * after it), as the server's scanner has it. -1 when the literal ends at `from`.
 */
function continuation(sql: string, from: number): number {
  let i = from;
  let newline = false;
  for (;;) {
    const c = sql.charCodeAt(i);
    if (c === 10 || c === 13) newline = true;
    else if (c === 45 && sql.charCodeAt(i + 1) === 45) {
      const nl = sql.indexOf('\n', i);
      const cr = sql.indexOf('\r', i);
      const end = nl < 0 ? cr : cr < 0 ? nl : Math.min(nl, cr);
      if (end < 0) return -1;
      i = end;
      continue;
    } else if (!(c === 32 || c === 9 || c === 12 || c === 11)) return newline && c === 39 ? i : -1;
    i++;
  }
}

const BACKSLASH: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
/** Single-character escapes; octal/hex/unicode escapes keep their text (they only ever make a value "not plain"). */
const unescapeBackslash = (c: string) => BACKSLASH[c] ?? c;

/** A quoted identifier body from `from`; `""` is a quote. Returns [name, end]. */
function readIdent(sql: string, from: number): [string, number] {
  let v = '';
  let j = from;
  for (;;) {
    const q = sql.indexOf('"', j);
    if (q < 0) throw new UnterminatedError('unterminated quoted identifier');
    v += sql.slice(j, q);
    if (sql.charCodeAt(q + 1) !== 34) return [v, q + 1];
    v += '"';
    j = q + 2;
  }
}

/** U&'…' and U&"…" with the default escape character: \XXXX and \+XXXXXX. */
function unicodeUnescape(v: string): string {
  if (!v.includes('\\')) return v;
  return v.replace(/\\(\\|\+[0-9A-Fa-f]{6}|[0-9A-Fa-f]{4})/g, (m, e: string) => {
    if (e === '\\') return '\\';
    const cp = parseInt(e.replace('+', ''), 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : m; // out of range: the server rejects it anyway
  });
}

/** `$1` (a parameter), `$tag$…$tag$` (a string), or a lone `$` (an operator character). */
function readDollar(sql: string, i: number, out: Token[]): number {
  let j = i + 1;
  if (isDigit(sql.charCodeAt(j))) {
    while (isDigit(sql.charCodeAt(j))) j++;
    out.push({ t: Tok.Param, v: sql.slice(i, j), start: i, end: j });
    return j;
  }
  if (isIdentStart(sql.charCodeAt(j))) {
    j++;
    while (j < sql.length && isIdentPart(sql.charCodeAt(j)) && sql.charCodeAt(j) !== 36) j++;
  }
  if (sql.charCodeAt(j) !== 36) {
    out.push({ t: Tok.Op, v: '$', start: i, end: i + 1 });
    return i + 1;
  }
  const tag = sql.slice(i, j + 1);
  const close = sql.indexOf(tag, j + 1);
  if (close < 0) throw new UnterminatedError('unterminated dollar-quoted string');
  out.push({ t: Tok.String, v: sql.slice(j + 1, close), start: i, end: close + tag.length });
  return close + tag.length;
}

/** Splits tokens into statements at `;` (empty statements dropped). */
export function statements(tokens: Token[]): Token[][] {
  const out: Token[][] = [];
  let from = 0;
  for (let i = 0; i <= tokens.length; i++) {
    if (i < tokens.length && tokens[i]!.t !== Tok.Semi) continue;
    if (i > from) out.push(tokens.slice(from, i));
    from = i + 1;
  }
  return out;
}
