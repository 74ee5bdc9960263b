/**
 * Classifies an SQL string (one Query message, possibly several statements) into the session effects
 * of each statement. The common statement is settled by a fast path that does not tokenize; the rest
 * goes through the tokenizer and the rule table. When in doubt: `unknown`, and the proxy pins.
 */
import { ADVISORY_LOCK_FUNCTIONS, LEAD_RULES, type PinReason, type StatementKind } from './rules.js';
import { statements, tokenize, Tok, UnterminatedError, type Token } from './tokenizer.js';

export interface StatementEffect {
  kind: StatementKind;
  rule: string;
  pinReason?: PinReason;
  /** For set / reset: the parameter (lower case). */
  name?: string;
  /** For set: the value as SQL text, replayable as `SET name = value`. */
  value?: string;
}

export interface Classification {
  statements: StatementEffect[];
  fast: boolean;
}

const PLAIN_FAST: Classification = Object.freeze({ statements: Object.freeze([{ kind: 'plain', rule: 'fast-path' }]) as StatementEffect[], fast: true });
const FAST_FIRST_WORDS = new Set(['select', 'insert', 'update', 'delete', 'with', 'values', 'table', 'fetch', 'move', 'close', 'explain', 'analyze', 'vacuum', 'truncate', 'lock', 'notify', 'call']);
/** Anything in these may need a closer look: session functions, SELECT INTO, comments, quoting. */
const NEEDS_LOOK = /advisory|set_config|pg_temp|--|\/\*|["$\\]/i;
/** SELECT … INTO creates a table (maybe a temporary one); INSERT INTO is ordinary. */
const SELECT_INTO = /\binto\b/i;

export function classify(sql: string): Classification {
  if (isFastPlain(sql)) return PLAIN_FAST;
  let tokens: Token[];
  try {
    tokens = tokenize(sql);
  } catch (err) {
    if (err instanceof UnterminatedError) return { statements: [{ kind: 'unknown', rule: 'unterminated', pinReason: 'unknown' }], fast: false };
    throw err;
  }
  const stmts = statements(tokens).map((s) => classifyStatement(sql, s));
  return { statements: stmts.length > 0 ? stmts : [{ kind: 'plain', rule: 'empty' }], fast: false };
}

/** One statement, first keyword a plain DML/query word, nothing suspicious: no tokenizing. */
function isFastPlain(sql: string): boolean {
  let i = 0;
  const n = sql.length;
  while (i < n && (sql.charCodeAt(i) <= 32 || sql.charCodeAt(i) === 40)) i++;
  let j = i;
  while (j < n && /[A-Za-z]/.test(sql[j]!)) j++;
  const first = sql.slice(i, j).toLowerCase();
  if (j === i || !FAST_FIRST_WORDS.has(first)) return false;
  if ((first === 'select' || first === 'with') && SELECT_INTO.test(sql)) return false;
  const semi = sql.indexOf(';', j);
  if (semi >= 0 && sql.slice(semi + 1).trim() !== '') return false;
  return !NEEDS_LOOK.test(sql) && evenQuotes(sql);
}

/** An odd number of single quotes means an unterminated literal: let the tokenizer say so. */
function evenQuotes(sql: string): boolean {
  let n = 0;
  for (let i = sql.indexOf("'"); i >= 0; i = sql.indexOf("'", i + 1)) n++;
  return n % 2 === 0;
}

function classifyStatement(sql: string, toks: Token[]): StatementEffect {
  let k = 0;
  while (k < toks.length && toks[k]!.t === Tok.LParen) k++;
  const body = toks.slice(k);
  const words = body.filter((t) => t.t === Tok.Word).map((t) => t.v);
  const strings = body.filter((t) => t.t === Tok.String).map((t) => t.v);
  const lead = leadWords(body);
  for (const rule of LEAD_RULES) {
    if (!rule.lead.every((w, i) => w === '*' || lead[i] === w)) continue;
    if (rule.when && !rule.when({ words, strings })) continue;
    const effect: StatementEffect = { kind: rule.kind, rule: rule.id };
    if (rule.pinReason) effect.pinReason = rule.pinReason;
    if (rule.kind === 'set') return setEffect(sql, body, rule.lead.length, effect);
    if (rule.kind === 'reset') return resetEffect(body, effect);
    if (rule.kind === 'discard' || rule.kind === 'deallocate') effect.name = lead[lead.length - 1] === 'all' || words.includes('all') ? 'all' : lead[1] ?? '';
    return effect;
  }
  return lookInside(sql, body, words);
}

/** The statement's leading words (keywords before any punctuation). */
function leadWords(body: Token[]): string[] {
  const out: string[] = [];
  for (const t of body) {
    if (t.t !== Tok.Word) break;
    out.push(t.v);
    if (out.length === 4) break;
  }
  return out;
}

/** Function calls and SELECT … INTO TEMP inside any other statement. */
function lookInside(sql: string, body: Token[], words: string[]): StatementEffect {
  let found: StatementEffect | undefined;
  for (let i = 0; i < body.length; i++) {
    const t = body[i]!;
    const next = body[i + 1];
    if ((t.t === Tok.Word || t.t === Tok.Ident) && next?.t === Tok.LParen) {
      const fn = t.t === Tok.Word ? t.v : t.v.toLowerCase();
      if (ADVISORY_LOCK_FUNCTIONS.has(fn)) return { kind: 'advisory_lock', rule: 'advisory-lock', pinReason: 'advisory_lock' };
      if (fn === 'set_config') {
        const e = setConfigEffect(sql, body, i + 2);
        if (e.pinReason === 'set_config') return e;
        found ??= e;
      }
    }
    if (t.t === Tok.Word && t.v === 'into' && (next?.v === 'temp' || next?.v === 'temporary') && words[0] === 'select') {
      return { kind: 'temp_object', rule: 'select-into-temp', pinReason: 'temp_table' };
    }
  }
  return found ?? { kind: 'plain', rule: 'plain' };
}

/** set_config(name, value, is_local): literals can be replayed like SET; anything else pins. */
function setConfigEffect(_sql: string, body: Token[], at: number): StatementEffect {
  const [name, c1, value, c2, local, close] = body.slice(at, at + 6);
  const literal = name?.t === Tok.String && c1?.t === Tok.Comma && value?.t === Tok.String && c2?.t === Tok.Comma && close?.t === Tok.RParen;
  if (literal && local?.t === Tok.Word && local.v === 'true') return { kind: 'set_local', rule: 'set-config-local' };
  if (literal && local?.t === Tok.Word && local.v === 'false') {
    return { kind: 'set', rule: 'set-config-session', pinReason: 'variable_set', name: name!.v.toLowerCase(), value: quote(value!.v) };
  }
  if (local?.t === Tok.Word && local.v === 'true' && close?.t === Tok.RParen) return { kind: 'set_local', rule: 'set-config-local' };
  return { kind: 'set_config', rule: 'set-config-dynamic', pinReason: 'set_config' };
}

const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;

/** SET [SESSION] name {TO|=} value | SET TIME ZONE v | SET NAMES v | SET SCHEMA v | SET XML OPTION v. */
function setEffect(sql: string, body: Token[], leadLength: number, effect: StatementEffect): StatementEffect {
  let i = leadLength;
  const special: Record<string, [string, number]> = { time: ['timezone', 2], names: ['client_encoding', 1], schema: ['search_path', 1], xml: ['xmloption', 2] };
  const w = body[i];
  let name: string;
  if (w?.t === Tok.Word && special[w.v] && !(body[i + 1]?.v === 'to' || body[i + 1]?.v === '=')) {
    const [n, len] = special[w.v]!;
    name = n;
    i += len;
  } else {
    const parts: string[] = [];
    while (i < body.length && body[i]!.v !== 'to' && body[i]!.v !== '=') {
      const t = body[i]!;
      if (t.t === Tok.Word || t.t === Tok.Ident) parts.push(t.t === Tok.Word ? t.v : t.v);
      else if (!(t.t === Tok.Op && t.v === '.')) return { kind: 'unknown', rule: effect.rule, pinReason: 'unknown' };
      i++;
    }
    if (i >= body.length || parts.length === 0) return { kind: 'unknown', rule: effect.rule, pinReason: 'unknown' };
    name = parts.join('.');
    i++;
  }
  const first = body[i];
  const last = body[body.length - 1];
  if (!first || !last) return { kind: 'unknown', rule: effect.rule, pinReason: 'unknown' };
  const value = sql.slice(first.start, last.end).trim();
  if (i === body.length - 1 && first.t === Tok.Word && (first.v === 'default' || (first.v === 'local' && name === 'timezone'))) {
    return { kind: 'reset', rule: effect.rule, pinReason: 'variable_set', name };
  }
  return { ...effect, name: name.toLowerCase(), value };
}

function resetEffect(body: Token[], effect: StatementEffect): StatementEffect {
  const parts = body.slice(1).filter((t) => t.t === Tok.Word || t.t === Tok.Ident).map((t) => t.v);
  if (parts.length === 0) return { kind: 'unknown', rule: effect.rule, pinReason: 'unknown' };
  const special: Record<string, string> = { time: 'timezone' };
  return { ...effect, name: (special[parts[0]!] ?? parts.join('.')).toLowerCase() };
}
