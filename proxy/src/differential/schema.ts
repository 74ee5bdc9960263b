/** The tables and functions the differential scenarios use, and the reset run before every scenario. */

export const SETUP_SQL = `
create table items (id int primary key, note text);
create table copy_t (a int, b text);
create table term_t (k int);
create table ddl_t (a int);
create table big as select g as n from generate_series(1, 20) g;
create function notice_me(n int) returns int language plpgsql as $$
begin
  raise notice 'notice %', n;
  return n;
end $$;
`;

/** Shared data back to its known state (also undoes what scenarios changed in ddl_t's shape). */
export const RESET_SQL = `
truncate items, copy_t, term_t;
insert into items values (1, 'one'), (2, 'two'), (3, 'three');
drop table if exists ddl_t;
create table ddl_t (a int);
insert into ddl_t values (1);
`;
