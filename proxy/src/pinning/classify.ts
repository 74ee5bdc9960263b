/**
 * Classifies an SQL string (one Query message or one Parse, possibly several statements) into the
 * session effects of each statement. The common statement is settled by a fast path that does not
 * tokenize; the rest goes through the tokenizer and the rule table. When in doubt: `unknown`, and the
 * proxy pins.
 */
import { effectOf, type StatementEffect } from './effect.js';
import { isFastPlain } from './fast-path.js';
import { lookInside } from './inside.js';
import { LEAD_RULES, rule, type LeadMatch, type Rule } from './rules.js';
import { resetEffect, setEffect } from './set.js';
import { statements, tokenize, Tok, UnterminatedError, type Token } from './tokenizer.js';

export type { StatementEffect } from './effect.js';

export interface Classification {
  statements: StatementEffect[];
  /** Settled by the fast path, without tokenizing. */
  fast: boolean;
}

/** Shared, frozen results: callers (and the proxy's decision cache) must not mutate them. */
const PLAIN_FAST: Classification = freeze({ statements: [effectOf(rule('fast-path'))], fast: true });
const EMPTY: Classification = freeze({ statements: [effectOf(rule('empty'))], fast: false });
const UNTERMINATED: Classification = freeze({ statements: [effectOf(rule('unterminated'))], fast: false });
const INTERNAL_ERROR: Classification = freeze({ statements: [effectOf(rule('internal-error'))], fast: false });

export function classify(sql: string): Classification {
  return isFastPlain(sql) ? PLAIN_FAST : classifySlow(sql);
}

/** The tokenizer path alone (the session's decider, after its own fast-path check; tests check it agrees with the fast path; the benchmark times it). */
export function classifySlow(sql: string): Classification {
  try {
    const stmts = statements(tokenize(sql)).map((s) => classifyStatement(sql, s));
    return stmts.length > 0 ? { statements: stmts, fast: false } : EMPTY;
  } catch (err) {
    // Never let odd input crash a client session: pin instead (a test checks this never happens).
    return err instanceof UnterminatedError ? UNTERMINATED : INTERNAL_ERROR;
  }
}

function classifyStatement(sql: string, toks: Token[]): StatementEffect {
  let k = 0;
  for (;;) {
    while (k < toks.length && toks[k]!.t === Tok.LParen) k++;
    // EXPLAIN ANALYZE runs its statement (even CREATE TEMP TABLE … AS): classify what it explains.
    if (toks[k]?.t !== Tok.Word || toks[k]!.v !== 'explain') break;
    k = afterExplain(toks, k);
  }
  const body = k > 0 ? toks.slice(k) : toks;
  const words: string[] = [];
  for (const t of body) if (t.t === Tok.Word) words.push(t.v);
  if (words.includes('uescape') && body.some((t) => (t.t === Tok.String || t.t === Tok.Ident) && /^u&/i.test(sql.slice(t.start, t.start + 2)))) {
    return effectOf(rule('unicode-uescape'));
  }
  const lead = leadWords(body);
  const matched = LEAD_RULES.find((r) => leadMatches(r.match, lead, words, body));
  if (!matched) return lookInside(body, words);
  const effect = leadEffect(sql, matched, body, lead);
  if (effect.pinReason || effect.kind === 'set_local' || effect.kind === 'reset') return effect;
  // COPY (query), DECLARE … FOR query, CREATE TABLE … AS query and friends run a query: look inside.
  const inside = lookInside(body, words);
  return inside.pinReason ? inside : effect;
}

function leadEffect(sql: string, r: Rule & { match: LeadMatch }, body: Token[], lead: string[]): StatementEffect {
  if (r.kind === 'set') return setEffect(sql, body, r);
  if (r.kind === 'reset') return resetEffect(body, r);
  if (r.kind === 'discard') return effectOf(r, { value: lead[lead.length - 1] === 'all' ? 'all' : (lead[lead.length - 1] ?? '') });
  if (r.kind === 'deallocate') return effectOf(r, { value: deallocateTarget(body) });
  return effectOf(r);
}

/** `DEALLOCATE [PREPARE] name | ALL`: `all`, the name (a quoted one keeps its case), or '' if neither. */
function deallocateTarget(body: Token[]): string {
  let i = 1;
  if (body[i]?.t === Tok.Word && body[i]!.v === 'prepare' && body.length > 2) i++;
  const t = body[i];
  if (t === undefined || body.length !== i + 1 || (t.t !== Tok.Word && t.t !== Tok.Ident)) return '';
  return t.t === Tok.Word && t.v === 'all' ? 'all' : t.v;
}

/** EXPLAIN [ANALYZE] [VERBOSE] stmt | EXPLAIN (options) stmt: where stmt starts. */
function afterExplain(toks: Token[], at: number): number {
  let i = at + 1;
  if (toks[i]?.t === Tok.LParen) {
    while (i < toks.length && toks[i]!.t !== Tok.RParen) i++;
    return i + 1;
  }
  while (toks[i]?.t === Tok.Word && EXPLAIN_OPTIONS.has(toks[i]!.v)) i++;
  return i;
}
const EXPLAIN_OPTIONS = new Set(['analyze', 'analyse', 'verbose']);

/** The statement's leading words (keywords before any punctuation). */
function leadWords(body: Token[]): string[] {
  const out: string[] = [];
  for (const t of body) {
    if (t.t !== Tok.Word || out.length === 4) break;
    out.push(t.v);
  }
  return out;
}

function leadMatches(m: LeadMatch, lead: string[], words: string[], body: Token[]): boolean {
  for (let i = 0; i < m.lead.length; i++) if (lead[i] !== m.lead[i]) return false;
  if (m.seq && !hasSeq(words, m.seq)) return false;
  if (m.head && !headHas(body, m.head)) return false;
  if (m.body && !body.some((t) => t.t === Tok.String && m.body!.test(t.v))) return false;
  return true;
}

function hasSeq(words: string[], seq: readonly string[]): boolean {
  outer: for (let i = 0; i + seq.length <= words.length; i++) {
    for (let j = 0; j < seq.length; j++) if (words[i + j] !== seq[j]) continue outer;
    return true;
  }
  return false;
}

/**
 * One of `names` before the first AS or `(` — where CREATE says what and where it creates — used as a
 * modifier (`TEMP TABLE`) or a schema (`pg_temp.`), not as the object's own name (`CREATE TABLE temp (`).
 */
function headHas(body: Token[], names: readonly string[]): boolean {
  for (let i = 0; i < body.length; i++) {
    const t = body[i]!;
    if (t.t === Tok.LParen || (t.t === Tok.Word && t.v === 'as')) return false;
    const next = body[i + 1];
    const used = next?.t === Tok.Dot || (next?.t === Tok.Word && next.v !== 'as');
    if ((t.t === Tok.Word || t.t === Tok.Ident) && used && names.includes(t.v)) return true;
  }
  return false;
}

function freeze(c: Classification): Classification {
  for (const s of c.statements) Object.freeze(s);
  Object.freeze(c.statements);
  return Object.freeze(c);
}
