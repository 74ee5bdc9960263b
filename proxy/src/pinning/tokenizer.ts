/**
 * A small SQL tokenizer: enough to find statement boundaries and leading keywords without being
 * fooled by comments, quoted identifiers, string literals (standard and E'...') or dollar quotes.
 * Not a parser. Unterminated quotes or comments make the whole input "unterminated".
 */
export const enum Tok {
  Word, // keyword or unquoted identifier, lower-cased
  Ident, // "quoted identifier", unquoted text kept
  String, // string literal, value unescaped
  Number,
  Param, // $1
  Semi,
  LParen,
  RParen,
  Comma,
  Op,
}

export interface Token {
  t: Tok;
  v: string;
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

export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (isSpace(c)) {
      i++;
    } else if (c === 45 /* - */ && sql.charCodeAt(i + 1) === 45) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
    } else if (c === 47 /* / */ && sql.charCodeAt(i + 1) === 42 /* * */) {
      i = skipBlockComment(sql, i);
    } else if (c === 39 /* ' */) {
      const [v, end] = readString(sql, i + 1, false);
      out.push({ t: Tok.String, v, start: i, end });
      i = end;
    } else if ((c === 69 || c === 101) /* E e */ && sql.charCodeAt(i + 1) === 39) {
      const [v, end] = readString(sql, i + 2, true);
      out.push({ t: Tok.String, v, start: i, end });
      i = end;
    } else if (c === 34 /* " */) {
      let j = i + 1;
      let v = '';
      for (;;) {
        const q = sql.indexOf('"', j);
        if (q < 0) throw new UnterminatedError('unterminated quoted identifier');
        v += sql.slice(j, q);
        if (sql.charCodeAt(q + 1) === 34) {
          v += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      out.push({ t: Tok.Ident, v, start: i, end: j });
      i = j;
    } else if (c === 36 /* $ */) {
      if (isDigit(sql.charCodeAt(i + 1))) {
        let j = i + 1;
        while (isDigit(sql.charCodeAt(j))) j++;
        out.push({ t: Tok.Param, v: sql.slice(i, j), start: i, end: j });
        i = j;
      } else {
        const m = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i, i + 64));
        if (!m) {
          out.push({ t: Tok.Op, v: '$', start: i, end: i + 1 });
          i++;
          continue;
        }
        const tag = m[0];
        const close = sql.indexOf(tag, i + tag.length);
        if (close < 0) throw new UnterminatedError('unterminated dollar-quoted string');
        out.push({ t: Tok.String, v: sql.slice(i + tag.length, close), start: i, end: close + tag.length });
        i = close + tag.length;
      }
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(sql.charCodeAt(j))) j++;
      out.push({ t: Tok.Word, v: sql.slice(i, j).toLowerCase(), start: i, end: j });
      i = j;
    } else if (isDigit(c) || (c === 46 && isDigit(sql.charCodeAt(i + 1)))) {
      let j = i + 1;
      while (j < n && (isDigit(sql.charCodeAt(j)) || sql.charCodeAt(j) === 46 || isIdentPart(sql.charCodeAt(j)))) j++;
      out.push({ t: Tok.Number, v: sql.slice(i, j), start: i, end: j });
      i = j;
    } else if (c === 59) {
      out.push({ t: Tok.Semi, v: ';', start: i, end: i + 1 });
      i++;
    } else if (c === 40 || c === 41 || c === 44) {
      out.push({ t: c === 40 ? Tok.LParen : c === 41 ? Tok.RParen : Tok.Comma, v: sql[i]!, start: i, end: i + 1 });
      i++;
    } else {
      out.push({ t: Tok.Op, v: sql[i]!, start: i, end: i + 1 });
      i++;
    }
  }
  return out;
}

function skipBlockComment(sql: string, at: number): number {
  let depth = 0;
  let i = at;
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth++;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  throw new UnterminatedError('unterminated /* comment');
}

function readString(sql: string, from: number, escapes: boolean): [string, number] {
  let v = '';
  let i = from;
  while (i < sql.length) {
    const c = sql[i]!;
    if (escapes && c === '\\') {
      v += sql[i + 1] ?? '';
      i += 2;
    } else if (c === "'") {
      if (sql[i + 1] === "'") {
        v += "'";
        i += 2;
      } else {
        return [v, i + 1];
      }
    } else {
      v += c;
      i++;
    }
  }
  throw new UnterminatedError('unterminated string literal');
}

/** Splits tokens into statements at `;` (empty statements dropped). */
export function statements(tokens: Token[]): Token[][] {
  const out: Token[][] = [];
  let cur: Token[] = [];
  for (const t of tokens) {
    if (t.t === Tok.Semi) {
      if (cur.length > 0) out.push(cur);
      cur = [];
    } else {
      cur.push(t);
    }
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
