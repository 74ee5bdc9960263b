import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classify } from './classify.js';
import { decide } from './decide.js';

type Row = [sql: string, kinds: string, pin?: string];

/** SQL → the kinds of its statements (comma-separated) and the pin reason without any filter. */
const TABLE: Row[] = [
  // plain statements: fast path
  ['select 1', 'plain'],
  ['SELECT abalance FROM pgbench_accounts WHERE aid = 42;', 'plain'],
  ['  (select 1)', 'plain'],
  ['insert into t values (1)', 'plain'],
  ['UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 3;', 'plain'],
  ['delete from t where id = $1', 'plain'],
  ['with x as (select 1) select * from x', 'plain'],
  ['values (1), (2)', 'plain'],
  ['table users', 'plain'],
  ['explain select 1', 'plain'],
  ['lock table t in share mode', 'plain'],
  ['notify ch', 'plain'],
  ['create table t (id int)', 'plain'],
  ['alter table t add column x int', 'plain'],
  ['drop table t', 'plain'],
  ['vacuum t', 'plain'],
  ['truncate t', 'plain'],
  ['select pg_advisory_xact_lock(1)', 'plain'],
  ['select pg_try_advisory_xact_lock(1)', 'plain'],
  ['select pg_advisory_unlock(1)', 'plain'],
  ["select 'set role admin'", 'plain'],
  ["select 'pg_advisory_lock(1)'", 'plain'],
  ['select $$ listen x $$', 'plain'],
  ['select 1 -- set role x', 'plain'],
  ['/* SET x = 1 */ SELECT 1', 'plain'],
  ['/* nested /* set role x */ still comment */ select 1', 'plain'],
  ['select "set"."role" from t', 'plain'],
  ["select E'it\\'s; set role x'", 'plain'],
  ['select $tag$ ; pg_advisory_lock(1) ; $tag$', 'plain'],
  ['insert into log select * from staging', 'plain'],
  ['create index on t (x)', 'plain'],
  ['call proc()', 'plain'],
  ['do $$ begin perform 1; end $$', 'plain'],
  ['', 'plain'],
  [';', 'plain'],
  // transactions
  ['begin', 'begin'],
  ['BEGIN;', 'begin'],
  ['begin isolation level serializable', 'begin'],
  ['start transaction read only', 'begin'],
  ['commit', 'commit'],
  ['END;', 'commit'],
  ['rollback', 'rollback'],
  ['abort', 'rollback'],
  ['rollback to savepoint a', 'savepoint'],
  ['savepoint a', 'savepoint'],
  ['release savepoint a', 'savepoint'],
  ["prepare transaction 'x'", 'commit'],
  ["commit prepared 'x'", 'plain'],
  ["rollback prepared 'x'", 'plain'],
  // SET and friends
  ["set search_path = 'a'", 'set', 'variable_set'],
  ['SET search_path TO a, "B c"', 'set', 'variable_set'],
  ['set session timezone = \'UTC\'', 'set', 'variable_set'],
  ["set time zone 'Europe/Paris'", 'set', 'variable_set'],
  ['set time zone local', 'reset', 'variable_set'],
  ["set names 'LATIN1'", 'set', 'variable_set'],
  ["set schema 'x'", 'set', 'variable_set'],
  ['set statement_timeout = default', 'reset', 'variable_set'],
  ["set myapp.user_id = '42'", 'set', 'variable_set'],
  ["set local statement_timeout = '1s'", 'set_local'],
  ['SET LOCAL search_path TO x', 'set_local'],
  ['set transaction isolation level repeatable read', 'set_local'],
  ['set constraints all deferred', 'set_local'],
  ['reset search_path', 'reset', 'variable_set'],
  ['reset time zone', 'reset', 'variable_set'],
  ['reset all', 'reset_all', 'variable_set'],
  ['set role admin', 'set_role', 'set_role'],
  ['SET SESSION ROLE admin', 'set_role', 'set_role'],
  ['reset role', 'set_role', 'set_role'],
  ["set session authorization 'bob'", 'session_authorization', 'session_authorization'],
  ['reset session authorization', 'session_authorization', 'session_authorization'],
  ['set session characteristics as transaction isolation level serializable', 'unknown', 'unknown'],
  ["select set_config('search_path', 'x', false)", 'set', 'variable_set'],
  ["SELECT set_config('a.b', '1', true)", 'set_local'],
  ["select set_config('x', $1, false)", 'set_config', 'set_config'],
  ["select set_config(name, val, false) from settings", 'set_config', 'set_config'],
  ["select 1, set_config('x', 'y', false), 2", 'set', 'variable_set'],
  // things that pin
  ['select pg_advisory_lock(1)', 'advisory_lock', 'advisory_lock'],
  ['SELECT PG_TRY_ADVISORY_LOCK(1, 2)', 'advisory_lock', 'advisory_lock'],
  ['select pg_advisory_lock_shared(7)', 'advisory_lock', 'advisory_lock'],
  ['select pg_catalog.pg_advisory_lock(1)', 'advisory_lock', 'advisory_lock'],
  ['select "pg_advisory_lock"(1)', 'advisory_lock', 'advisory_lock'],
  ['with l as (select pg_advisory_lock(1)) select * from l', 'advisory_lock', 'advisory_lock'],
  ['/* hi */ select pg_advisory_lock(1)', 'advisory_lock', 'advisory_lock'],
  ['listen jobs', 'listen', 'listen'],
  ['LISTEN "Jobs"', 'listen', 'listen'],
  ['unlisten *', 'unlisten'],
  ['create temp table t (id int)', 'temp_object', 'temp_table'],
  ['CREATE TEMPORARY TABLE t AS SELECT 1', 'temp_object', 'temp_table'],
  ['create local temporary table t (x int)', 'temp_object', 'temp_table'],
  ['create temp sequence s', 'temp_object', 'temp_table'],
  ['create temp view v as select 1', 'temp_object', 'temp_table'],
  ['create table pg_temp.t (x int)', 'temp_object', 'temp_table'],
  ['select * into temp t from x', 'temp_object', 'temp_table'],
  ['select 1 into temporary table t', 'temp_object', 'temp_table'],
  ['declare c cursor with hold for select 1', 'declare_with_hold', 'cursor_with_hold'],
  ['DECLARE c SCROLL CURSOR WITH HOLD FOR SELECT 1', 'declare_with_hold', 'cursor_with_hold'],
  ['declare c cursor for select 1', 'declare'],
  ['declare c cursor without hold for select 1', 'declare'],
  ['prepare q as select 1', 'prepare', 'sql_prepare'],
  ['PREPARE q (int) AS SELECT $1', 'prepare', 'sql_prepare'],
  ['execute q', 'execute'],
  ['deallocate q', 'deallocate'],
  ['deallocate all', 'deallocate'],
  ['deallocate prepare all', 'deallocate'],
  ["load 'auto_explain'", 'load', 'load'],
  ['discard all', 'discard'],
  ['discard temp', 'discard'],
  ['copy t from stdin', 'copy'],
  ['copy (select 1) to stdout', 'copy'],
  ["do $$ begin perform set_config('a', 'b', false); end $$", 'unknown', 'unknown'],
  ['do $$ begin create temp table x (i int); end $$', 'unknown', 'unknown'],
  ["do language plpgsql 'begin perform pg_advisory_lock(1); end'", 'unknown', 'unknown'],
  // multi-statement strings
  ['set a.b = 1; select 1; listen x', 'set,plain,listen', 'variable_set'],
  ['select 1; select 2', 'plain,plain'],
  ['begin; select 1; commit;', 'begin,plain,commit'],
  ["select ';'; set role x", 'plain,set_role', 'set_role'],
  ['select 1; -- set role x', 'plain'],
  // unterminated input: unknown, pins
  ["select 'unterminated", 'unknown', 'unknown'],
  ['select /* never closed', 'unknown', 'unknown'],
  ['select "open', 'unknown', 'unknown'],
  ['select $x$ open', 'unknown', 'unknown'],
];

describe('classify (rule table)', () => {
  it.each(TABLE)('%j → %s', (sql, kinds, pin) => {
    const c = classify(sql);
    expect(c.statements.map((s) => s.kind).join(',')).toBe(kinds);
    const d = decide(c, new Set());
    expect(d.pin?.reason).toBe(pin);
  });

  it('has a good number of cases', () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(120);
  });

  it.each([
    ["set search_path = 'a'", 'search_path', "'a'"],
    ['SET search_path TO a, "B c"', 'search_path', 'a, "B c"'],
    ["set time zone 'Europe/Paris'", 'timezone', "'Europe/Paris'"],
    ["set names 'LATIN1'", 'client_encoding', "'LATIN1'"],
    ["SET MyApp.User_Id = '42'", 'myapp.user_id', "'42'"],
    ["select set_config('search_path', 'it''s', false)", 'search_path', "'it''s'"],
  ])('extracts name and replayable value from %j', (sql, name, value) => {
    const s = classify(sql).statements[0]!;
    expect(s.name).toBe(name);
    expect(s.value).toBe(value);
  });

  it('takes the fast path for ordinary statements only', () => {
    expect(classify('SELECT abalance FROM pgbench_accounts WHERE aid = 1;').fast).toBe(true);
    expect(classify('select pg_advisory_lock(1)').fast).toBe(false);
    expect(classify('select 1; select 2').fast).toBe(false);
    expect(classify('/* c */ select 1').fast).toBe(false);
  });
});

describe('decide (filters)', () => {
  const waive = new Set(['EXCLUDE_VARIABLE_SETS']);
  it('tracks SET/RESET instead of pinning under EXCLUDE_VARIABLE_SETS', () => {
    const d = decide(classify("set search_path = 'x'; reset timezone; reset all"), waive);
    expect(d.pin).toBeUndefined();
    expect(d.track).toEqual([{ op: 'set', name: 'search_path', value: "'x'" }, { op: 'reset', name: 'timezone' }, { op: 'reset_all' }]);
  });
  it('still pins what the filter does not waive', () => {
    expect(decide(classify('set role admin'), waive).pin?.reason).toBe('set_role');
    expect(decide(classify("select set_config('x', $1, false)"), waive).pin?.reason).toBe('set_config');
  });
  it('never pins nor tracks SET LOCAL', () => {
    const d = decide(classify("set local statement_timeout = '5s'"), new Set());
    expect(d.pin).toBeUndefined();
    expect(d.track).toEqual([]);
  });
  it('flags DISCARD ALL, DEALLOCATE ALL and transaction ends', () => {
    expect(decide(classify('discard all'), waive).discardAll).toBe(true);
    expect(decide(classify('deallocate all'), waive).deallocateAll).toBe(true);
    expect(decide(classify('rollback'), waive).endsTransaction).toBe(true);
    expect(decide(classify('commit'), waive).endsTransaction).toBe(true);
  });
});

describe('classify (properties)', () => {
  it('never throws, whatever the input', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => void classify(s)));
    fc.assert(fc.property(fc.array(fc.constantFrom('set', 'select', "'", '"', '$$', '$a$', '/*', '*/', '--', ';', '(', ')', 'role', ' ', '\n', 'pg_advisory_lock', 'set_config'), { maxLength: 30 }), (parts) => void classify(parts.join(''))));
  });
  it('comments and whitespace around a statement do not change its classification', () => {
    const sqls = TABLE.map((r) => r[0]).filter((s) => s.trim() !== '' && !s.includes('--') && !/unterminated|never closed|open/.test(s));
    fc.assert(
      fc.property(fc.constantFrom(...sqls), fc.constantFrom(' ', '\n\t', '/* x */ ', '/* a /* b */ c */\n'), (sql, pad) => {
        const kinds = (s: string) => classify(s).statements.map((x) => x.kind).join(',');
        expect(kinds(pad + sql + ' ')).toBe(kinds(sql));
      }),
    );
  });
});
