import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify } from './classify.js';
import { PIN_REASONS, RULES, rulesMarkdown } from './rules.js';

const DOC = path.resolve(import.meta.dirname, '../../../docs/pinning.md');

/** One statement per rule that the rule decides: proves no rule in the table is dead data. */
const EXAMPLES: Record<string, string> = {
  'fast-path': 'select 1',
  empty: '/* nothing */ ;',
  unterminated: "select 'x",
  'unicode-uescape': "select U&'!0061' uescape '!'",
  'txn-begin': 'begin',
  'txn-start': 'start transaction',
  'txn-commit-prepared': "commit prepared 'g'",
  'txn-commit': 'commit',
  'txn-end': 'end',
  'txn-rollback-prepared': "rollback prepared 'g'",
  'txn-rollback-to': 'rollback to s',
  'txn-rollback': 'rollback',
  'txn-abort': 'abort',
  'txn-savepoint': 'savepoint s',
  'txn-release': 'release s',
  'txn-prepare': "prepare transaction 'g'",
  'set-local': 'set local a.b = 1',
  'set-session-authorization': 'set session authorization bob',
  'set-session-characteristics': 'set session characteristics as transaction read write',
  'set-session-role': 'set session role bob',
  'set-role': 'set role bob',
  'set-transaction': 'set transaction read only',
  'set-constraints': 'set constraints all immediate',
  'set-session': 'set session a.b = 1',
  set: 'set a.b = 1',
  'reset-all': 'reset all',
  'reset-role': 'reset role',
  'reset-session-authorization': 'reset session authorization',
  'reset-transaction': 'reset transaction isolation level',
  reset: 'reset a.b',
  'set-unparsed': 'set a.b',
  'param-role': "select set_config('role', 'bob', false)",
  'param-session-authorization': "select set_config('session_authorization', 'bob', false)",
  'param-transaction': 'set transaction_read_only = on',
  'param-standard-conforming-strings': 'set standard_conforming_strings = off',
  discard: 'discard all',
  'sql-prepare': 'prepare q as select 1',
  'sql-execute': 'execute q',
  'sql-deallocate': 'deallocate q',
  listen: 'listen c',
  unlisten: 'unlisten c',
  load: "load 'x'",
  'declare-with-hold': 'declare c cursor with hold for select 1',
  declare: 'declare c cursor for select 1',
  'create-temp-on-commit-drop': 'create temp table t (x int) on commit drop',
  'create-temp': 'create temp table t (x int)',
  copy: 'copy t to stdout',
  'do-session': "do $$ begin perform set_config('a.b', 'c', false); end $$",
  'do-opaque': 'do $$ begin perform 1; end $$',
  'advisory-lock': 'select pg_advisory_lock(1)',
  'set-config-session': "select set_config('a.b', 'c', false)",
  'set-config-dynamic': "select set_config('a.b', $1, false)",
  'set-config-local': "select set_config('a.b', 'c', true)",
  'select-into-temp': 'select 1 into temp t',
  plain: 'create index on t (x)',
};

describe('the rule table', () => {
  it('has unique ids', () => {
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
  });

  it('uses every pin reason (the values of dbproxy_session_pins_total{reason})', () => {
    expect(new Set(RULES.flatMap((r) => (r.pinReason ? [r.pinReason] : [])))).toEqual(new Set(PIN_REASONS));
  });

  it.each(RULES.filter((r) => r.id !== 'internal-error').map((r) => [r.id, r] as const))('rule %s decides its example', (id, r) => {
    const sql = EXAMPLES[id];
    expect(sql, `add an example for ${id}`).toBeDefined();
    const hit = classify(sql!).statements.find((s) => s.rule === id);
    expect(hit, `${JSON.stringify(sql)} → ${JSON.stringify(classify(sql!).statements)}`).toBeDefined();
    expect(hit!.pinReason).toBe(r.pinReason);
  });

  it('is documented in docs/pinning.md, rule by rule, exactly as rulesMarkdown() renders it', () => {
    const doc = readFileSync(DOC, 'utf8');
    for (const r of RULES) expect(doc, `docs/pinning.md lacks rule ${r.id}`).toContain(`| \`${r.id}\` |`);
    // When this fails after a rule change, paste the output of rulesMarkdown() into the doc.
    expect(doc).toContain(rulesMarkdown());
  });
});
