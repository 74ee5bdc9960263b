/** Simple Query protocol: statements, errors, empty queries, notices, pipelined queries. */
import { rt, type Scenario } from '../testing/differential.js';
import { query as Q } from '../testing/wire.js';

const check = (sql = 'select id, note from items order by id') => rt([Q(sql)]);

export const simpleScenarios: Scenario[] = [
  { name: 'simple/select-one', steps: rt([Q('select 1 as a')]) },
  {
    name: 'simple/several-statements',
    steps: [...rt([Q("select 1 as a; select 'x' as b, 2 as c; insert into items values (10, 'ten')")]), ...check()],
  },
  {
    name: 'simple/error-in-the-middle',
    steps: [...rt([Q("insert into items values (20, 'a'); select 1/0; insert into items values (21, 'b')")]), ...check()],
  },
  { name: 'simple/empty-query', steps: rt([Q('')]) },
  { name: 'simple/only-semicolons', steps: rt([Q(' ; ;')]) },
  { name: 'simple/empty-statement-between', steps: rt([Q('select 1 as a; ; select 2 as b')]) },
  { name: 'simple/syntax-error', steps: [...rt([Q('selec 1')]), ...rt([Q('select 2 as after')])] },
  { name: 'simple/unknown-table', steps: rt([Q('select * from no_such_table')]) },
  { name: 'simple/notice', steps: rt([Q("do $$ begin raise notice 'hello'; end $$")]) },
  { name: 'simple/notice-from-function-rows', steps: rt([Q('select notice_me(n) as v from big where n <= 3 order by n')]) },
  {
    name: 'simple/types-and-nulls',
    steps: rt([Q("select null::int as n, 'a'::text as t, 1.5::numeric as x, true as b, '2020-01-02'::date as d, '{1,2}'::int[] as arr")]),
  },
  { name: 'simple/rows-from-table', steps: check() },
  {
    name: 'simple/command-tags',
    steps: [
      ...rt([
        Q("update items set note = 'x' where id < 3; delete from items where id = 3; insert into items select 100 + g, 'g' from generate_series(1, 3) g"),
      ]),
      ...check(),
    ],
  },
  { name: 'simple/pipelined-queries', steps: rt([Q('select 1 as a'), Q('select 2 as b'), Q('select 3 as c')], 3) },
  { name: 'simple/pipelined-error-then-query', steps: rt([Q('select 1/0'), Q('select 2 as b')], 2) },
  {
    name: 'simple/implicit-transaction-rolled-back',
    steps: [...rt([Q("insert into items values (30, 'a'); select 1/0")]), ...check('select count(*) as n from items where id = 30')],
  },
  { name: 'simple/large-result', steps: rt([Q("select g, repeat('x', 200) as pad from generate_series(1, 400) g")]) },
  {
    name: 'simple/set-and-show-across-round-trips',
    steps: [
      ...rt([Q("set application_name = 'diff-app'; show application_name")]),
      ...rt([Q('show application_name')]),
      ...rt([Q('reset application_name')]),
      ...rt([Q('show application_name')]),
    ],
  },
  {
    name: 'simple/reset-startup-parameter-and-show-in-one-string',
    steps: rt([Q("set application_name = 'x'; reset application_name; show application_name")]),
  },
  {
    name: 'simple/set-search-path-across-round-trips',
    steps: [...rt([Q('set search_path = pg_catalog')]), ...rt([Q('select count(*) as n from public.items')]), ...rt([Q('show search_path')])],
  },
  {
    name: 'simple/round-trips-in-a-row',
    steps: [1, 2, 3, 4, 5, 6].flatMap((n) => rt([Q(`select ${n} as n`)])),
  },
  { name: 'simple/error-after-some-rows', steps: rt([Q('select 10 / (5 - g) as v from generate_series(1, 10) g')]) },
  {
    name: 'simple/long-query-text',
    modes: ['coalesced', 'per-message'],
    steps: rt([Q(`select ${Array.from({ length: 4000 }, (_, i) => i).join(' + ')} as total`)]),
  },
  {
    name: 'simple/listen-notify-own-session',
    bystanders: 'after', // LISTEN pins the session to its backend
    steps: [...rt([Q("listen diff_channel; notify diff_channel, 'hello'")]), ...rt([Q("notify diff_channel, 'again'; unlisten diff_channel")])],
  },
  { name: 'simple/backend-pid-matches-key-data', steps: rt([Q('select pg_backend_pid()::text as pid')]) },
];
