import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classify, classifySlow } from './classify.js';
import { decide } from './decide.js';
import { isFastPlain } from './fast-path.js';

type Row = [sql: string, kinds: string, pin?: string];

/** SQL → the kinds of its statements (comma-separated) and the pin reason without any filter. */
const TABLE: Row[] = [
  // Plain statements (most on the fast path).
  ['select 1', 'plain'],
  ['SELECT abalance FROM pgbench_accounts WHERE aid = 42;', 'plain'],
  ['SELECT abalance FROM pgbench_accounts WHERE aid = $1', 'plain'],
  ['  (select 1)', 'plain'],
  ['((select 1))', 'plain'],
  [' \n\t SELECT 1 ;  \n', 'plain'],
  ['insert into t values (1)', 'plain'],
  ["insert into t (a) values ('it''s')", 'plain'],
  ['UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;', 'plain'],
  ['delete from t where id = $1', 'plain'],
  ['with x as (select 1) select * from x', 'plain'],
  ['SELECT "public"."User"."id" FROM "public"."User" WHERE "public"."User"."email" = $1 LIMIT $2 OFFSET $3', 'plain'],
  ['merge into t using s on t.id = s.id when matched then update set v = s.v', 'plain'],
  ['values (1), (2)', 'plain'],
  ['table users', 'plain'],
  ['show search_path', 'plain'],
  ['explain select 1', 'plain'],
  ['explain (analyze, buffers) select * from t', 'plain'],
  ['lock table t in share mode', 'plain'],
  ["notify ch, 'set role x'", 'plain'],
  ['fetch next from c', 'plain'],
  ['close c', 'plain'],
  ['create table t (id int)', 'plain'],
  ['create unlogged table t (id int)', 'plain'],
  ['create table temp (x int)', 'plain'],
  ['create view temp as select 1', 'plain'],
  ['alter table t add column x int', 'plain'],
  ['alter table t set schema s', 'plain'],
  ["alter role bob set search_path = 'x'", 'plain'],
  ["alter database d set timezone = 'UTC'", 'plain'],
  ["alter system set work_mem = '1MB'", 'plain'],
  ["comment on table t is 'set role x; listen y'", 'plain'],
  ['grant select on t to bob', 'plain'],
  ['drop table t', 'plain'],
  ['vacuum analyze t', 'plain'],
  ['truncate t', 'plain'],
  ['select * into t from x', 'plain'],
  ['insert into temp values (1)', 'plain'],
  ['select pg_advisory_xact_lock(1)', 'plain'],
  ['select pg_try_advisory_xact_lock(1)', 'plain'],
  ['select pg_try_advisory_xact_lock_shared(1, 2)', 'plain'],
  ['select pg_advisory_unlock(1)', 'plain'],
  ['select pg_advisory_unlock_all()', 'plain'],
  ['select pg_advisory_lock from locks', 'plain'],
  ['select \'x\' as "pg_advisory_lock"', 'plain'],
  ['select "PG_ADVISORY_LOCK"(1)', 'plain'],
  ["select 'set role admin'", 'plain'],
  ["select 'pg_advisory_lock(1)'", 'plain'],
  ["select 'select set_config(''a'', ''b'', false)'", 'plain'],
  ['select $$ listen x $$', 'plain'],
  ["select $a$ it's $a$", 'plain'],
  ['select $_$ x $_$', 'plain'],
  ['select $x$ $y$ ; $x$', 'plain'],
  ['select a$b from t', 'plain'],
  ['select 1 -- set role x', 'plain'],
  ['/* SET x = 1 */ SELECT 1', 'plain'],
  ['-- listen x\nselect 1', 'plain'],
  ['/* nested /* set role x */ still comment */ select 1', 'plain'],
  ['select /* /* */ set role x */ 1', 'plain'],
  ['select 1 /* ; set role x */', 'plain'],
  ['select "set"."role" from t', 'plain'],
  ['select "a""; set role x" from t', 'plain'],
  ["select 'a'\n'b'", 'plain'],
  ["select 'x' -- c\n'; set role y'", 'plain'],
  ["select E'it\\'s; set role x'", 'plain'],
  ["select e'\\\\'", 'plain'],
  ['select $tag$ ; pg_advisory_lock(1) ; $tag$', 'plain'],
  ['insert into log select * from staging', 'plain'],
  ['create index on t (x)', 'plain'],
  ['create function f() returns void as $$ select pg_advisory_lock(1) $$ language sql', 'plain'],
  ['create procedure p() language plpgsql as $$ begin set role x; end $$', 'plain'],
  ['call proc()', 'plain'],
  ['select my_function(1)', 'plain'],
  ['do $$ begin perform 1; end $$', 'plain'],
  ['do $$ begin update t set x = 1; end $$', 'plain'],
  ['do $$ begin set local search_path = x; end $$', 'plain'],
  ['do $$ begin perform pg_advisory_xact_lock(1); end $$', 'plain'],
  ['', 'plain'],
  [';', 'plain'],
  ['/* only a comment */', 'plain'],
  ['select 1;;', 'plain'],
  // Transaction control.
  ['begin', 'begin'],
  ['BEGIN;', 'begin'],
  ['begin work', 'begin'],
  ['begin isolation level serializable', 'begin'],
  ['start transaction read only', 'begin'],
  ['commit', 'commit'],
  ['commit and chain', 'commit'],
  ['END;', 'commit'],
  ['rollback', 'rollback'],
  ['abort', 'rollback'],
  ['rollback to savepoint a', 'savepoint'],
  ['rollback to a', 'savepoint'],
  ['savepoint a', 'savepoint'],
  ['release savepoint a', 'savepoint'],
  ['release a', 'savepoint'],
  ["prepare transaction 'x'", 'commit'],
  ["commit prepared 'x'", 'plain'],
  ["rollback prepared 'x'", 'plain'],
  // SET and friends.
  ["set search_path = 'a'", 'set', 'variable_set'],
  ['SET search_path TO a, "B c"', 'set', 'variable_set'],
  ['SET search_path TO "$user", public', 'set', 'variable_set'],
  ["set session timezone = 'UTC'", 'set', 'variable_set'],
  ['SET "TimeZone" = \'UTC\'', 'set', 'variable_set'],
  ["set time zone 'Europe/Paris'", 'set', 'variable_set'],
  ['SET TIME ZONE -7', 'set', 'variable_set'],
  ['set time zone local', 'reset', 'variable_set'],
  ["SET TIME ZONE INTERVAL '-08:00' HOUR TO MINUTE", 'unknown', 'unknown'],
  ["set names 'LATIN1'", 'set', 'variable_set'],
  ["set schema 'x'", 'set', 'variable_set'],
  ['set xml option document', 'set', 'variable_set'],
  ['set statement_timeout = default', 'reset', 'variable_set'],
  ['set statement_timeout to 5000', 'set', 'variable_set'],
  ["set myapp.user_id = '42'", 'set', 'variable_set'],
  ['set search_path = $1', 'unknown', 'unknown'],
  ['set x', 'unknown', 'unknown'],
  ['set', 'unknown', 'unknown'],
  ["set local statement_timeout = '1s'", 'set_local'],
  ['SET LOCAL search_path TO x', 'set_local'],
  ['set local role admin', 'set_local'],
  ['set transaction isolation level repeatable read', 'set_local'],
  ["set transaction_isolation = 'serializable'", 'set_local'],
  ['set constraints all deferred', 'set_local'],
  ['reset search_path', 'reset', 'variable_set'],
  ['RESET "Search_Path"', 'reset', 'variable_set'],
  ['reset time zone', 'reset', 'variable_set'],
  ['reset myapp.user_id', 'reset', 'variable_set'],
  ['reset all', 'reset_all', 'variable_set'],
  ['reset transaction isolation level', 'set_local'],
  ['reset a b', 'unknown', 'unknown'],
  ['set role admin', 'set_role', 'set_role'],
  ['set role none', 'set_role', 'set_role'],
  ["SET role = 'admin'", 'set_role', 'set_role'],
  ['SET SESSION ROLE admin', 'set_role', 'set_role'],
  ['reset role', 'set_role', 'set_role'],
  ["set session authorization 'bob'", 'session_authorization', 'session_authorization'],
  ["set session_authorization = 'bob'", 'session_authorization', 'session_authorization'],
  ['reset session authorization', 'session_authorization', 'session_authorization'],
  ['set session characteristics as transaction isolation level serializable', 'set', 'variable_set'],
  ['set session characteristics as transaction read only', 'set', 'variable_set'],
  ['set session characteristics as transaction isolation level read committed, read only', 'unknown', 'unknown'],
  ['set standard_conforming_strings = off', 'unknown', 'unknown'],
  ["set application_name = 'a'\n  'b'", 'set', 'variable_set'],
  // set_config.
  ["select set_config('standard_conforming_strings', 'off', false)", 'unknown', 'unknown'],
  ["select set_config('search_path', 'x', false)", 'set', 'variable_set'],
  ["SELECT pg_catalog.set_config('search_path', 'x', false)", 'set', 'variable_set'],
  ["select set_config('a.b', 'c', 'off') as prev", 'set', 'variable_set'],
  ["SELECT set_config('a.b', '1', true)", 'set_local'],
  ['select set_config(name, val, true) from settings', 'set_local'],
  ["select set_config('x', $1, false)", 'set_config', 'set_config'],
  ["select set_config('x.y', 'z', $1)", 'set_config', 'set_config'],
  ['select set_config(name, val, false) from settings', 'set_config', 'set_config'],
  ["select set_config('a.b', 'c', false) from t", 'set_config', 'set_config'],
  ["select set_config('a.b', 'c', false) where false", 'set_config', 'set_config'],
  ["select false and set_config('a.b', 'c', false)", 'set_config', 'set_config'],
  ["select case when $1 then set_config('a.b', 'c', false) end", 'set_config', 'set_config'],
  ["select set_config('a.b', 'c', false), set_config('d.e', 'f', false)", 'set_config', 'set_config'],
  ["select set_config('a.b', 'c' || 'd', false)", 'set_config', 'set_config'],
  ["select set_config('a.b', 'c')", 'set_config', 'set_config'],
  ["update t set v = set_config('a.b', 'c', false)", 'set_config', 'set_config'],
  ["select 1, set_config('x.y', 'y', false), 2", 'set', 'variable_set'],
  ["select set_config('role', 'admin', false)", 'set_role', 'set_role'],
  ["select set_config('role', 'admin', true)", 'set_local'],
  ["select set_config('session_authorization', 'bob', false)", 'session_authorization', 'session_authorization'],
  ["select U&\"set\\005fconfig\"('a.b', 'c', false)", 'set', 'variable_set'],
  // Things that pin.
  ['select pg_advisory_lock(1)', 'advisory_lock', 'advisory_lock'],
  ['SeLeCt Pg_Advisory_Lock(1)', 'advisory_lock', 'advisory_lock'],
  ['SELECT PG_TRY_ADVISORY_LOCK(1, 2)', 'advisory_lock', 'advisory_lock'],
  ['select pg_advisory_lock_shared(7)', 'advisory_lock', 'advisory_lock'],
  ['select pg_try_advisory_lock_shared(7)', 'advisory_lock', 'advisory_lock'],
  ['select pg_advisory_lock (1)', 'advisory_lock', 'advisory_lock'],
  ['select pg_advisory_lock/* hi */(1)', 'advisory_lock', 'advisory_lock'],
  ['select pg_catalog.pg_advisory_lock(1)', 'advisory_lock', 'advisory_lock'],
  ['select "pg_advisory_lock"(1)', 'advisory_lock', 'advisory_lock'],
  ['select U&"pg_advisory\\005flock"(1)', 'advisory_lock', 'advisory_lock'],
  ['select * from pg_advisory_lock(1)', 'advisory_lock', 'advisory_lock'],
  ['with l as (select pg_advisory_lock(1)) select * from l', 'advisory_lock', 'advisory_lock'],
  ['WITH x AS (SELECT 1) SELECT pg_try_advisory_lock(id) FROM x', 'advisory_lock', 'advisory_lock'],
  ['insert into t values (pg_advisory_lock(1))', 'advisory_lock', 'advisory_lock'],
  ['VALUES (pg_try_advisory_lock_shared(1))', 'advisory_lock', 'advisory_lock'],
  ['explain select pg_advisory_lock(1)', 'advisory_lock', 'advisory_lock'],
  ['copy (select pg_advisory_lock(1)) to stdout', 'advisory_lock', 'advisory_lock'],
  ['declare c cursor for select pg_advisory_lock(1)', 'advisory_lock', 'advisory_lock'],
  ['create table t as select pg_advisory_lock(1)', 'advisory_lock', 'advisory_lock'],
  ['execute q(pg_advisory_lock(1))', 'advisory_lock', 'advisory_lock'],
  ['/* hi */ select pg_advisory_lock(1)', 'advisory_lock', 'advisory_lock'],
  ['listen jobs', 'listen', 'listen'],
  ['LISTEN "Jobs"', 'listen', 'listen'],
  ['unlisten *', 'unlisten'],
  ['unlisten jobs', 'unlisten'],
  ['create temp table t (id int)', 'temp_object', 'temp_table'],
  ['CREATE TEMPORARY TABLE t AS SELECT 1', 'temp_object', 'temp_table'],
  ['create temporary table if not exists t (x int)', 'temp_object', 'temp_table'],
  ['create local temporary table t (x int)', 'temp_object', 'temp_table'],
  ['create global temp table t (x int)', 'temp_object', 'temp_table'],
  ['create temp sequence s', 'temp_object', 'temp_table'],
  ['create temp view v as select 1', 'temp_object', 'temp_table'],
  ['create or replace temp view v as select 1', 'temp_object', 'temp_table'],
  ['create temp table t (x int) on commit delete rows', 'temp_object', 'temp_table'],
  ['create temp table t (x int) on commit drop', 'temp_object'],
  ['create table pg_temp.t (x int)', 'temp_object', 'temp_table'],
  ['create table "pg_temp".t (x int)', 'temp_object', 'temp_table'],
  ["create function pg_temp.f() returns int as 'select 1' language sql", 'temp_object', 'temp_table'],
  ['explain analyze create temp table t as select 1', 'temp_object', 'temp_table'],
  ['select * into temp t from x', 'temp_object', 'temp_table'],
  ['select 1 into temporary table t', 'temp_object', 'temp_table'],
  ['select * into pg_temp.t from x', 'temp_object', 'temp_table'],
  ['with a as (select 1) select * into temp t from a', 'temp_object', 'temp_table'],
  ['declare c cursor with hold for select 1', 'declare_with_hold', 'cursor_with_hold'],
  ['DECLARE c SCROLL CURSOR WITH HOLD FOR SELECT 1', 'declare_with_hold', 'cursor_with_hold'],
  ['declare c cursor for select 1', 'declare'],
  ['declare c cursor without hold for select 1', 'declare'],
  ['prepare q as select 1', 'prepare', 'sql_prepare'],
  ['PREPARE q (int) AS SELECT $1', 'prepare', 'sql_prepare'],
  ['execute q', 'execute'],
  ["execute q(1, 'a')", 'execute'],
  ['deallocate q', 'deallocate'],
  ['deallocate prepare q', 'deallocate'],
  ['deallocate all', 'deallocate'],
  ['deallocate prepare all', 'deallocate'],
  ["load 'auto_explain'", 'load', 'load'],
  ["LOAD '$libdir/plugins/auto_explain'", 'load', 'load'],
  ['discard all', 'discard'],
  ['discard plans', 'discard'],
  ['discard sequences', 'discard'],
  ['discard temp', 'discard'],
  ['copy t from stdin', 'copy'],
  ['copy (select 1) to stdout', 'copy'],
  ['copy t to stdout with (format csv)', 'copy'],
  ["do $$ begin perform set_config('a', 'b', false); end $$", 'unknown', 'unknown'],
  ['do $$ begin create temp table x (i int); end $$', 'unknown', 'unknown'],
  ['do $$ begin set search_path = x; end $$', 'unknown', 'unknown'],
  ["do $$begin execute 'set role x'; end$$", 'unknown', 'unknown'],
  ['do $$ begin perform pg_advisory_lock_shared(1); end $$', 'unknown', 'unknown'],
  ['DO $body$ BEGIN LISTEN x; END $body$', 'unknown', 'unknown'],
  ["do language plpgsql 'begin perform pg_advisory_lock(1); end'", 'unknown', 'unknown'],
  // Multi-statement strings.
  ['set a.b = 1; select 1; listen x', 'set,plain,listen', 'variable_set'],
  ['select 1; select 2', 'plain,plain'],
  ['begin; select 1; commit;', 'begin,plain,commit'],
  ['begin; set local x.y = 1; commit', 'begin,set_local,commit'],
  ['set a.b = 1; set local c.d = 2; reset a.b', 'set,set_local,reset', 'variable_set'],
  ["set application_name = 'x'; set statement_timeout = 0", 'set,set', 'variable_set'],
  ['listen "x"; select 1', 'listen,plain', 'listen'],
  ['copy t from stdin; select 1', 'copy,plain'],
  ["select ';'; set role x", 'plain,set_role', 'set_role'],
  ["select 'a\\'; set role x; --'", 'plain,set_role', 'set_role'],
  ['select $$;$$; set role x', 'plain,set_role', 'set_role'],
  ['select 1; -- set role x', 'plain'],
  ['select 1; /* set role x */', 'plain'],
  ['set search_path = x; select pg_advisory_lock(1)', 'set,advisory_lock', 'variable_set'],
  // Input the classifier cannot settle: unknown, pins.
  ["select 'unterminated", 'unknown', 'unknown'],
  ['select /* never closed', 'unknown', 'unknown'],
  ['/* /* */ select 1', 'unknown', 'unknown'],
  ['select "open', 'unknown', 'unknown'],
  ['select $x$ open', 'unknown', 'unknown'],
  ['select $$ open', 'unknown', 'unknown'],
  ["select e'\\'", 'unknown', 'unknown'],
  ['select U&"open', 'unknown', 'unknown'],
  ["select U&'d!0061t' UESCAPE '!'", 'unknown', 'unknown'],
];

const kinds = (sql: string) =>
  classify(sql)
    .statements.map((s) => s.kind)
    .join(',');

describe('classify (rule table)', () => {
  it.each(TABLE)('%j → %s', (sql, expected, pin) => {
    const c = classify(sql);
    expect(c.statements.map((s) => s.kind).join(',')).toBe(expected);
    expect(decide(c, new Set()).pin?.reason).toBe(pin);
  });

  it('has a good number of cases', () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(120);
  });

  it.each([
    ["set search_path = 'a'", 'search_path', "'a'"],
    ['SET search_path TO a, "B c"', 'search_path', 'a, "B c"'],
    ['SET search_path TO a /* why */ , b', 'search_path', 'a, b'],
    ['SET search_path TO "$user", public', 'search_path', '"$user", public'],
    ["set time zone 'Europe/Paris'", 'timezone', "'Europe/Paris'"],
    ['SET TIME ZONE -7', 'timezone', '-7'],
    ['SET "TimeZone" = \'UTC\'', 'timezone', "'UTC'"],
    ["set names 'LATIN1'", 'client_encoding', "'LATIN1'"],
    ["set schema 'x'", 'search_path', "'x'"],
    ['set xml option document', 'xmloption', 'document'],
    ["SET MyApp.User_Id = '42'", 'myapp.user_id', "'42'"],
    ['set statement_timeout to 5000', 'statement_timeout', '5000'],
    ["set application_name = E'a\\'b'", 'application_name', "E'a\\'b'"],
    ["set application_name = 'a'\n  'b'", 'application_name', "'a'\n  'b'"],
    ['set session characteristics as transaction isolation level repeatable read', 'default_transaction_isolation', "'repeatable read'"],
    ['set session characteristics as transaction not deferrable', 'default_transaction_deferrable', 'off'],
    ["select set_config('TimeZone', 'it''s', false)", 'timezone', "'it''s'"],
    ["select set_config('search_path', 'a, \"B c\", $user', false)", 'search_path', '"a", "B c", "$user"'],
  ])('extracts name and replayable value from %j', (sql, name, value) => {
    const s = classify(sql).statements[0]!;
    expect(s.kind).toBe('set');
    expect(s.name).toBe(name);
    expect(s.value).toBe(value);
  });

  it.each([
    ['reset time zone', 'timezone'],
    ['RESET "Search_Path"', 'search_path'],
    ['set statement_timeout = default', 'statement_timeout'],
    ['set time zone local', 'timezone'],
  ])('extracts the name of %j', (sql, name) => {
    expect(classify(sql).statements[0]!.name).toBe(name);
  });

  it("pins a set_config('search_path', …) whose value is not a clean list", () => {
    expect(kinds("select set_config('search_path', '', false)")).toBe('set_config');
    expect(kinds("select set_config('search_path', 'a,,b', false)")).toBe('set_config');
    expect(kinds("select set_config('search_path', '\"open', false)")).toBe('set_config');
  });

  it('gives up on statements built to be expensive, pinning instead', () => {
    const many = 'select ' + Array.from({ length: 40 }, () => "set_config('a.b', 'c', true)").join(', ');
    expect(kinds(many)).toBe('set_config');
    const nested = 'select ' + "set_config('a', 'b', ".repeat(40) + 'true' + ')'.repeat(40);
    expect(kinds(nested)).toBe('set_config');
    expect(kinds('explain '.repeat(50) + 'select pg_advisory_lock(1)')).toBe('advisory_lock');
    expect(kinds('explain (analyze) explain verbose (select 1 into temp t)')).toBe('temp_object');
  });

  it('takes the fast path for ordinary statements only', () => {
    expect(classify('SELECT abalance FROM pgbench_accounts WHERE aid = 1;').fast).toBe(true);
    expect(classify('SELECT abalance FROM pgbench_accounts WHERE aid = $1').fast).toBe(true);
    expect(classify('select "id" from "T" where "x" = $1').fast).toBe(true);
    expect(classify('select pg_advisory_lock(1)').fast).toBe(false);
    expect(classify('select 1; select 2').fast).toBe(false);
    expect(classify('/* c */ select 1').fast).toBe(false);
    expect(classify('select $$x$$').fast).toBe(false);
    expect(classify("select 'it''s'").fast).toBe(true);
    expect(classify("select E'it\\'s'").fast).toBe(false);
    expect(classify('selectx 1').fast).toBe(false);
    expect(classify('select_x()').fast).toBe(false);
  });

  it('names the rule that decided', () => {
    expect(classify('select 1').statements[0]!.rule).toBe('fast-path');
    expect(classify('select pg_advisory_lock(1)').statements[0]!.rule).toBe('advisory-lock');
    expect(classify('declare c cursor with hold for select 1').statements[0]!.rule).toBe('declare-with-hold');
    expect(classify("select 'open").statements[0]!.rule).toBe('unterminated');
  });
});

describe('decide (filters)', () => {
  const waive = new Set(['EXCLUDE_VARIABLE_SETS'] as const);
  it('tracks SET/RESET instead of pinning under EXCLUDE_VARIABLE_SETS', () => {
    const d = decide(classify("set search_path = 'x'; reset timezone; reset all; select set_config('a.b', 'c', false)"), waive);
    expect(d.pin).toBeUndefined();
    expect(d.track).toEqual([
      { op: 'set', name: 'search_path', value: "'x'" },
      { op: 'reset', name: 'timezone' },
      { op: 'reset_all' },
      { op: 'set', name: 'a.b', value: "'c'" },
    ]);
  });
  it('pins session SETs with variable_set without the filter, and tracks nothing', () => {
    const d = decide(classify("set search_path = 'x'"), new Set());
    expect(d.pin).toEqual({ reason: 'variable_set', rule: 'set' });
    expect(d.track).toEqual([]);
  });
  it('still pins what the filter does not waive', () => {
    expect(decide(classify('set role admin'), waive).pin).toEqual({ reason: 'set_role', rule: 'set-role' });
    expect(decide(classify("select set_config('x', $1, false)"), waive).pin?.reason).toBe('set_config');
    expect(decide(classify('set x'), waive).pin).toEqual({ reason: 'unknown', rule: 'set-unparsed' });
    expect(decide(classify('set a.b = 1; listen x'), waive)).toMatchObject({ pin: { reason: 'listen' }, track: [{ op: 'set', name: 'a.b', value: '1' }] });
  });
  it('reports the first pinning statement', () => {
    expect(decide(classify('listen x; select pg_advisory_lock(1)'), new Set()).pin).toEqual({ reason: 'listen', rule: 'listen' });
  });
  it('never pins nor tracks SET LOCAL', () => {
    for (const f of [new Set<string>(), waive]) {
      const d = decide(classify("set local statement_timeout = '5s'; select set_config('a.b', 'c', true)"), f);
      expect(d.pin).toBeUndefined();
      expect(d.track).toEqual([]);
    }
  });
  it('flags DISCARD ALL, DEALLOCATE ALL and transaction control', () => {
    expect(decide(classify('discard all'), waive).discardAll).toBe(true);
    expect(decide(classify('discard plans'), waive).discardAll).toBeUndefined();
    expect(decide(classify('deallocate all'), waive).deallocateAll).toBe(true);
    expect(decide(classify('deallocate prepare all'), waive).deallocateAll).toBe(true);
    expect(decide(classify('deallocate q'), waive).deallocateAll).toBeUndefined();
    expect(decide(classify('begin'), waive)).toMatchObject({ txn: 'begin' });
    expect(decide(classify('begin'), waive).endsTransaction).toBeUndefined();
    expect(decide(classify('rollback'), waive)).toMatchObject({ txn: 'rollback', endsTransaction: true });
    expect(decide(classify('END'), waive)).toMatchObject({ txn: 'commit', endsTransaction: true });
    expect(decide(classify('begin; select 1; commit'), waive).txn).toBe('commit');
    expect(decide(classify('rollback to savepoint a'), waive).txn).toBeUndefined();
  });
  it('does nothing for the fast path', () => {
    expect(decide(classify('select 1'), new Set())).toEqual({ track: [] });
  });
});

/** Pieces that stress the lexer: quotes, comments, dollar quotes, separators, session keywords. */
const PIECES = [
  'set',
  'select',
  'Select',
  ' ',
  '\n',
  "'",
  "''",
  '"',
  '""',
  'E',
  "E'",
  '\\',
  '$$',
  '$a$',
  '$1',
  '$',
  '/*',
  '*/',
  '--',
  ';',
  '(',
  ')',
  ',',
  '=',
  'to',
  'local',
  'role',
  'x',
  'a.b',
  'pg_advisory_lock',
  'set_config',
  'false',
  'true',
  'into',
  'temp',
  'table',
  'create',
  'listen',
  'with',
  'hold',
  'declare',
  'do',
  'U&',
  'uescape',
  'explain',
];
const soup = fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((p) => p.join(''));

describe('classify (properties)', () => {
  it('never throws and never falls into its internal-error net, whatever the input', () => {
    const check = (s: string) => {
      const c = classify(s);
      expect(c.statements.length).toBeGreaterThan(0);
      expect(c.statements.every((x) => x.rule !== 'internal-error')).toBe(true);
    };
    fc.assert(fc.property(fc.string({ maxLength: 200 }), check), { numRuns: 2000 });
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), check), { numRuns: 500 });
    fc.assert(fc.property(soup, check), { numRuns: 5000 });
  }, 60_000); // generous: the machine running the tests may be busy

  it('the fast path only ever settles what the tokenizer path also finds plain', () => {
    const dml = fc
      .tuple(fc.constantFrom('select ', 'SELECT ', ' (select ', 'with x as (', 'insert into t ', 'update t set ', 'delete from t ', 'values ('), soup)
      .map(([a, b]) => a + b);
    fc.assert(
      fc.property(fc.oneof(dml, soup), (s) => {
        if (!isFastPlain(s)) return;
        for (const st of classifySlow(s).statements) {
          expect(st.pinReason, s).toBeUndefined();
          expect(st.kind, s).toBe('plain');
        }
      }),
      // Found by this property in CI: INTO after VALUES (or TABLE) went by the fast path as plain.
      { numRuns: 10_000, examples: [['values (into\ntemp'], ['table t into temp x'], ['VALUES (1) INTO TEMP t']] },
    );
  }, 60_000);

  it('comments, whitespace and a trailing `;` around a statement do not change its classification', () => {
    const sqls = TABLE.map((r) => r[0]);
    const pads = fc.constantFrom(' ', '\n\t', '/* x */ ', '/* a /* b */ c */\n', '-- c\n');
    fc.assert(
      fc.property(fc.constantFrom(...sqls), pads, fc.constantFrom('', ' ', '\n;', ' -- end'), (sql, pad, tail) => {
        const before = decide(classify(sql), new Set()).pin?.reason;
        expect(kinds(pad + sql + '\n' + tail), sql).toBe(kinds(sql));
        expect(decide(classify(pad + sql + '\n' + tail), new Set()).pin?.reason, sql).toBe(before);
      }),
      { numRuns: 2000 },
    );
  }, 60_000);

  it('keywords are case-insensitive', () => {
    const sqls = TABLE.map((r) => r[0]).filter((s) => !/["'$]/.test(s)); // quoted text is case-sensitive
    fc.assert(
      fc.property(fc.constantFrom(...sqls), (sql) => {
        expect(kinds(sql.toUpperCase()), sql).toBe(kinds(sql));
      }),
    );
  });
});
