/** Extended Query protocol: Parse/Bind/Execute/Sync, parameters, formats, errors up to Sync. */
import { rt, type Scenario } from '../testing/differential.js';
import { bind as B, execute as E, parse as P, query as Q, sync as S } from '../testing/wire.js';

const int4 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const check = (sql = 'select id, note from items order by id') => rt([Q(sql)]);

export const extendedScenarios: Scenario[] = [
  { name: 'extended/parse-bind-execute-sync', steps: rt([P('', 'select $1::int + 1 as v'), B('', '', ['41']), E(), S()]) },
  {
    name: 'extended/insert-then-check',
    steps: [...rt([P('', 'insert into items values ($1, $2)'), B('', '', ['40', 'forty']), E(), S()]), ...check()],
  },
  { name: 'extended/null-parameter', steps: rt([P('', 'select $1::text is null as isnull, $1::text as v'), B('', '', [null]), E(), S()]) },
  { name: 'extended/binary-result', steps: rt([P('', 'select 7::int as a, 8::int8 as b'), B('', '', [], { resultFormats: [1] }), E(), S()]) },
  { name: 'extended/mixed-result-formats', steps: rt([P('', "select 7::int as a, 'x'::text as b"), B('', '', [], { resultFormats: [1, 0] }), E(), S()]) },
  { name: 'extended/binary-parameter', steps: rt([P('', 'select $1 + 1 as v', [23]), B('', '', [int4(99)], { paramFormats: [1] }), E(), S()]) },
  { name: 'extended/declared-parameter-types', steps: rt([P('', 'select $1 as a, $2 as b', [23, 25]), B('', '', ['5', 'five']), E(), S()]) },
  { name: 'extended/parse-error', steps: [...rt([P('', 'selec 1'), B('', ''), E(), S()]), ...rt([Q('select 1 as after')])] },
  { name: 'extended/bind-wrong-parameter-count', steps: rt([P('', 'select $1::int as v'), B('', '', []), E(), S()]) },
  { name: 'extended/bind-bad-parameter-value', steps: rt([P('', 'select $1::int as v'), B('', '', ['abc']), E(), S()]) },
  { name: 'extended/execute-error', steps: rt([P('', 'select 1/0 as v'), B('', ''), E(), S()]) },
  {
    name: 'extended/query-after-error-before-sync-is-skipped',
    steps: [...rt([P('', 'selec'), B('', ''), E(), Q("insert into items values (50, 'skipped')"), S()]), ...check()],
  },
  {
    name: 'extended/query-inside-a-batch-without-error',
    steps: rt([P('', 'select 1 as a'), B('', ''), E(), Q('select 2 as b'), P('', 'select 3 as c'), B('', ''), E(), S()], 2),
  },
  { name: 'extended/unnamed-reparsed-in-one-batch', steps: rt([P('', 'select 1 as a'), B('', ''), E(), P('', "select 'two' as b"), B('', ''), E(), S()]) },
  {
    name: 'extended/one-statement-several-portals',
    steps: rt([P('s', 'select $1::int * 10 as v'), B('p1', 's', ['1']), B('p2', 's', ['2']), E('p2'), E('p1'), S()]),
  },
  { name: 'extended/empty-query', steps: rt([P('', ''), B('', ''), E(), S()]) },
  { name: 'extended/sync-alone', steps: rt([S()]) },
  { name: 'extended/two-syncs', steps: rt([S(), S()], 2) },
  { name: 'extended/execute-without-bind', steps: rt([E(''), S()]) },
  { name: 'extended/bind-missing-statement', steps: rt([B('', 'no_such_statement'), E(), S()]) },
  {
    name: 'extended/temp-table-across-round-trips',
    bystanders: 'after', // a temp table pins the session to its backend
    steps: [
      ...rt([P('', 'create temp table tmp_x (a int)'), B('', ''), E(), S()]),
      ...rt([P('', 'insert into tmp_x values ($1)'), B('', '', ['7']), E(), S()]),
      ...rt([P('', 'select a from tmp_x'), B('', ''), E(), S()]),
    ],
  },
  { name: 'extended/error-after-some-rows', steps: rt([P('', 'select 10 / (5 - g) as v from generate_series(1, 10) g'), B('', ''), E(), S()]) },
  { name: 'extended/notice-in-execute', steps: rt([P('', 'select notice_me($1::int) as v'), B('', '', ['7']), E(), S()]) },
  { name: 'extended/sync-in-transaction', steps: [...rt([Q('begin')]), ...rt([S()]), ...rt([P('', 'select 1 as a'), B('', ''), E(), S(), Q('commit')], 2)] },
  {
    name: 'extended/big-parameter',
    modes: ['coalesced', 'per-message'],
    steps: rt([P('', 'select length($1::text) as n, md5($1::text) as h'), B('', '', ['x'.repeat(300_000)]), E(), S()]),
  },
  {
    name: 'extended/many-executes-one-sync',
    steps: rt(
      [
        P('', 'insert into items values ($1, $2)'),
        ...[60, 61, 62].flatMap((n) => [B('', '', [String(n), 'n']), E()]),
        S(),
        Q('select count(*) as n from items'),
      ],
      2,
    ),
  },
];
