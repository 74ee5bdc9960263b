/**
 * What a statement does inside: calls of session-affecting functions (advisory locks, set_config) and
 * SELECT … INTO TEMP. Applies to every statement that runs a query (SELECT, DML, COPY (…), DECLARE …).
 */
import { effectOf, type StatementEffect } from './effect.js';
import { ADVISORY_LOCK_FUNCTIONS, PARAM_RULES, rule } from './rules.js';
import { configValueAsSql } from './set.js';
import { Tok, type Token } from './tokenizer.js';

/** Words after which a set_config call might run zero or many times, or not at all. */
const NOT_ONCE = new Set([
  'from',
  'where',
  'group',
  'having',
  'window',
  'limit',
  'offset',
  'fetch',
  'union',
  'intersect',
  'except',
  'into',
  'case',
  'when',
  'returning',
  'filter',
  'over',
  'and',
  'or',
]);

const MAX_SET_CONFIG_CALLS = 32;

export function lookInside(body: Token[], words: string[]): StatementEffect {
  let found: StatementEffect | undefined;
  let sessionSets = 0;
  let calls = 0;
  let depth = 0;
  const onceContext = words[0] === 'select' && !words.some((w) => NOT_ONCE.has(w));
  for (let i = 0; i < body.length; i++) {
    const t = body[i]!;
    if (t.t === Tok.LParen) depth++;
    else if (t.t === Tok.RParen) depth--;
    else if ((t.t === Tok.Word || t.t === Tok.Ident) && body[i + 1]?.t === Tok.LParen) {
      if (ADVISORY_LOCK_FUNCTIONS.has(t.v)) return effectOf(rule('advisory-lock'));
      if (t.v === 'set_config') {
        // Many calls in one statement: pin rather than spend quadratic time on nested argument lists.
        if (++calls > MAX_SET_CONFIG_CALLS) return effectOf(rule('set-config-dynamic'));
        const e = setConfigEffect(body, i + 1, onceContext && depth === 0 && isSelectItem(body, i));
        if (e.pinReason && e.kind !== 'set') return e;
        if (e.kind === 'set' && ++sessionSets > 1) return effectOf(rule('set-config-dynamic'));
        if (e.kind === 'set' || !found) found = e;
      }
    } else if (t.t === Tok.Word && t.v === 'into' && intoTemp(body, i)) {
      return effectOf(rule('select-into-temp'));
    }
  }
  return found ?? effectOf(rule('plain'));
}

/** `SELECT …, set_config(…) [AS alias], …`: a top-level select-list item of its own. */
function isSelectItem(body: Token[], at: number): boolean {
  const qualified = body[at - 1]?.t === Tok.Dot && body[at - 2]?.v === 'pg_catalog';
  const prev = body[qualified ? at - 3 : at - 1];
  if (!(prev?.t === Tok.Comma || (prev?.t === Tok.Word && prev.v === 'select'))) return false;
  const close = matchingParen(body, at + 1);
  const after = close < 0 ? undefined : body[close + 1];
  return close >= 0 && (after === undefined || after.t === Tok.Comma || after.t === Tok.RParen || after.t === Tok.Word || after.t === Tok.Ident);
}

function matchingParen(body: Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < body.length; i++) {
    const t = body[i]!.t;
    if (t === Tok.LParen) depth++;
    else if (t === Tok.RParen && --depth === 0) return i;
  }
  return -1;
}

/** The arguments of the call whose `(` is at `open`, split at top-level commas. */
function callArgs(body: Token[], open: number): Token[][] | undefined {
  const close = matchingParen(body, open);
  if (close < 0) return undefined;
  const args: Token[][] = [[]];
  let depth = 0;
  for (let i = open + 1; i < close; i++) {
    const t = body[i]!;
    if (t.t === Tok.LParen) depth++;
    else if (t.t === Tok.RParen) depth--;
    if (t.t === Tok.Comma && depth === 0) args.push([]);
    else args[args.length - 1]!.push(t);
  }
  return args;
}

const TRUE = new Set(['t', 'true', 'on', 'yes', 'y', '1']);
const FALSE = new Set(['f', 'false', 'off', 'no', 'n', '0']);

/** A boolean literal: TRUE/FALSE or a string the server reads as one. */
function boolLiteral(arg: Token[]): boolean | undefined {
  const [t] = arg;
  if (arg.length !== 1 || !t) return undefined;
  const v = t.t === Tok.Word ? t.v : t.t === Tok.String ? t.v.trim().toLowerCase() : undefined;
  if (v === undefined) return undefined;
  return TRUE.has(v) ? true : FALSE.has(v) ? false : undefined;
}

/** set_config(name, value, is_local). Literal, once-run session calls are tracked like SET; others pin. */
function setConfigEffect(body: Token[], open: number, once: boolean): StatementEffect {
  const dynamic = effectOf(rule('set-config-dynamic'));
  const args = callArgs(body, open);
  if (args?.length !== 3) return dynamic;
  const local = boolLiteral(args[2]!);
  if (local === true) return effectOf(rule('set-config-local'));
  if (local === undefined) return dynamic;
  const [nameTok] = args[0]!;
  const [valueTok] = args[1]!;
  if (args[0]!.length !== 1 || nameTok?.t !== Tok.String || nameTok.v === '') return dynamic;
  const name = nameTok.v.toLowerCase();
  const param = PARAM_RULES.find((r) => r.match.param.includes(name));
  if (param) return effectOf(param);
  if (!once || args[1]!.length !== 1 || valueTok?.t !== Tok.String) return dynamic;
  const value = configValueAsSql(name, valueTok.v);
  return value === undefined ? dynamic : effectOf(rule('set-config-session'), { name, value });
}

/** `SELECT … INTO [TEMP|TEMPORARY] [TABLE] name` (INSERT INTO and MERGE INTO are something else). */
function intoTemp(body: Token[], at: number): boolean {
  const prev = body[at - 1];
  if (prev?.t === Tok.Word && (prev.v === 'insert' || prev.v === 'merge')) return false;
  for (let i = at + 1; i < body.length; i++) {
    const t = body[i]!;
    if (t.t === Tok.Word && (t.v === 'temp' || t.v === 'temporary')) return true;
    if (t.t === Tok.Word && (t.v === 'global' || t.v === 'local' || t.v === 'unlogged' || t.v === 'table')) continue;
    return (t.t === Tok.Word || t.t === Tok.Ident) && t.v === 'pg_temp' && body[i + 1]?.t === Tok.Dot;
  }
  return false;
}
