/**
 * SET / RESET taken apart for replay: the parameter name (lower case, unquoted) and the value as SQL
 * text the proxy can re-issue as `SET name = value`. Anything not understood is `set-unparsed`
 * (unknown, pins) — replaying a value we misread would be worse than pinning.
 */
import { effectOf, type StatementEffect } from './effect.js';
import { PARAM_RULES, rule, type LeadMatch, type Rule } from './rules.js';
import { Tok, type Token } from './tokenizer.js';

/** SET forms with their own syntax and the parameter they set. */
const SPECIAL_FORMS: Record<string, { words: string[]; name: string }> = {
  time: { words: ['time', 'zone'], name: 'timezone' },
  names: { words: ['names'], name: 'client_encoding' },
  schema: { words: ['schema'], name: 'search_path' },
  xml: { words: ['xml', 'option'], name: 'xmloption' },
};

export function setEffect(sql: string, body: Token[], r: Rule & { match: LeadMatch }): StatementEffect {
  if (r.id === 'set-session-characteristics') return characteristics(body, r);
  const unparsed = effectOf(rule('set-unparsed'));
  let i = r.match.lead.length;
  let name: string;
  const form = body[i]?.t === Tok.Word && !isAssign(body[i + 1]) ? SPECIAL_FORMS[body[i]!.v] : undefined;
  if (form) {
    if (!form.words.every((w, k) => body[i + k]?.t === Tok.Word && body[i + k]!.v === w)) return unparsed;
    name = form.name;
    i += form.words.length;
  } else {
    const n = dottedName(body, i);
    if (!n || !isAssign(body[n.end])) return unparsed;
    name = n.name;
    i = n.end + 1;
  }
  const value = body.slice(i);
  if (value.length === 0 || !value.every(isValueToken)) return unparsed;
  const param = PARAM_RULES.find((p) => p.match.param.includes(name));
  if (param) return effectOf(param);
  const [only] = value;
  if (value.length === 1 && only?.t === Tok.Word && (only.v === 'default' || (only.v === 'local' && name === 'timezone'))) {
    return { ...effectOf(r, { name }), kind: 'reset' };
  }
  return effectOf(r, { name, value: sqlText(sql, value) });
}

export function resetEffect(body: Token[], r: Rule): StatementEffect {
  let name: string | undefined;
  if (body.length === 3 && body[1]!.v === 'time' && body[2]!.v === 'zone') name = 'timezone';
  else {
    const n = dottedName(body, 1);
    if (n && n.end === body.length) name = n.name;
  }
  if (name === undefined) return effectOf(rule('set-unparsed'));
  const param = PARAM_RULES.find((p) => p.match.param.includes(name));
  return param ? effectOf(param) : effectOf(r, { name });
}

/** SET SESSION CHARACTERISTICS AS TRANSACTION <mode>: the documented equivalent default_transaction_* SET. */
function characteristics(body: Token[], r: Rule): StatementEffect {
  const words = body
    .slice(3)
    .map((t) => (t.t === Tok.Word ? t.v : '\u0000'))
    .join(' ');
  const level = /^as transaction isolation level (serializable|repeatable read|read committed|read uncommitted)$/.exec(words);
  if (level) return effectOf(r, { name: 'default_transaction_isolation', value: `'${level[1]}'` });
  const modes: Record<string, [string, string]> = {
    'as transaction read only': ['default_transaction_read_only', 'on'],
    'as transaction read write': ['default_transaction_read_only', 'off'],
    'as transaction deferrable': ['default_transaction_deferrable', 'on'],
    'as transaction not deferrable': ['default_transaction_deferrable', 'off'],
  };
  const mode = modes[words];
  return mode ? effectOf(r, { name: mode[0], value: mode[1] }) : effectOf(rule('set-unparsed'));
}

const isAssign = (t: Token | undefined) => t !== undefined && ((t.t === Tok.Word && t.v === 'to') || (t.t === Tok.Op && t.v === '='));

/** A value the server takes in `SET name = …`: literals, names, numbers, commas, signs. */
function isValueToken(t: Token): boolean {
  switch (t.t) {
    case Tok.String:
    case Tok.Ident:
    case Tok.Number:
    case Tok.Comma:
      return true;
    case Tok.Word:
      return t.v !== 'interval'; // SET TIME ZONE INTERVAL … has no `SET timezone = …` spelling
    case Tok.Op:
      return t.v === '-' || t.v === '+';
    default:
      return false;
  }
}

/** `name` or `a.b` (quoted parts allowed), lower-cased: parameter names are case-insensitive. */
function dottedName(body: Token[], from: number): { name: string; end: number } | undefined {
  const parts: string[] = [];
  let i = from;
  for (;;) {
    const t = body[i];
    if (!t || (t.t !== Tok.Word && t.t !== Tok.Ident) || t.v === '') return undefined;
    parts.push(t.v.toLowerCase());
    i++;
    if (body[i]?.t !== Tok.Dot) return { name: parts.join('.'), end: i };
    i++;
  }
}

/** The value's source text, comments dropped: tokens joined as they were, one space for any gap. */
function sqlText(sql: string, toks: Token[]): string {
  let out = '';
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k]!;
    if (k > 0 && t.start > toks[k - 1]!.end && t.t !== Tok.Comma) out += ' ';
    out += sql.slice(t.start, t.end);
  }
  return out;
}

/**
 * Parameters whose SET value list is double-quoted element by element (GUC_LIST_QUOTE): for them
 * set_config's raw string `a, "B"` must become the list `"a", "B"`, not the single name `'a, "B"'`.
 */
const LIST_QUOTE = new Set(['search_path', 'temp_tablespaces', 'session_preload_libraries', 'local_preload_libraries']);

/** A set_config value as SQL text for `SET name = …`; undefined when it cannot be expressed safely. */
export function configValueAsSql(name: string, v: string): string | undefined {
  if (!LIST_QUOTE.has(name)) return `'${v.replace(/'/g, "''")}'`;
  const items = splitIdentifierList(v);
  return items && items.length > 0 ? items.map((s) => `"${s.replace(/"/g, '""')}"`).join(', ') : undefined;
}

/** The server's SplitIdentifierString: comma-separated, unquoted items lower-cased, "" in quotes. */
function splitIdentifierList(v: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < v.length && /\s/.test(v[i]!)) i++;
  };
  for (;;) {
    skipSpace();
    let item = '';
    if (v[i] === '"') {
      for (i++; ; i++) {
        if (i >= v.length) return undefined;
        if (v[i] === '"') {
          if (v[i + 1] !== '"') break;
          i++;
        }
        item += v[i];
      }
      i++;
    } else {
      while (i < v.length && v[i] !== ',' && !/\s/.test(v[i]!)) item += v[i++];
      item = item.toLowerCase();
    }
    if (item === '') return undefined;
    out.push(item);
    skipSpace();
    if (i >= v.length) return out;
    if (v[i] !== ',') return undefined;
    i++;
  }
}
