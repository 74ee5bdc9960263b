/** Transactions: BEGIN/COMMIT/ROLLBACK, failed transactions (status E), savepoints, SET in transactions. */
import { rt, type Scenario } from '../testing/differential.js';
import { bind as B, execute as E, parse as P, query as Q, sync as S } from '../testing/wire.js';

const check = (sql = 'select id, note from items order by id') => rt([Q(sql)]);
const ext = (sql: string, params: string[] = []): Buffer[] => [P('', sql), B('', '', params), E(), S()];

export const transactionScenarios: Scenario[] = [
  { name: 'tx/begin-insert-commit', steps: [...rt([Q('begin')]), ...rt([Q("insert into items values (100, 'c')")]), ...rt([Q('commit')]), ...check()] },
  { name: 'tx/begin-insert-rollback', steps: [...rt([Q('begin')]), ...rt([Q("insert into items values (101, 'r')")]), ...rt([Q('rollback')]), ...check()] },
  {
    name: 'tx/error-gives-failed-status-then-rollback',
    steps: [...rt([Q('begin')]), ...rt([Q('select 1/0')]), ...rt([Q('select 1 as a')]), ...rt([Q('rollback')]), ...rt([Q('select 2 as b')])],
  },
  {
    name: 'tx/commit-of-failed-transaction-rolls-back',
    steps: [...rt([Q("begin; insert into items values (102, 'x')")]), ...rt([Q('select 1/0')]), ...rt([Q('commit')]), ...check()],
  },
  {
    name: 'tx/extended-begin-insert-commit',
    steps: [...rt(ext('begin')), ...rt(ext('insert into items values ($1, $2)', ['103', 'e'])), ...rt(ext('commit')), ...check()],
  },
  { name: 'tx/extended-failed-transaction', steps: [...rt(ext('begin')), ...rt([P('', 'selec'), S()]), ...rt(ext('select 1 as a')), ...rt(ext('rollback'))] },
  {
    name: 'tx/savepoint-recovers',
    steps: [
      ...rt([Q('begin; savepoint a')]),
      ...rt([Q("insert into items values (104, 'lost'); select 1/0")]),
      ...rt([Q('rollback to savepoint a')]),
      ...rt([Q("insert into items values (105, 'kept'); commit")]),
      ...check(),
    ],
  },
  { name: 'tx/begin-insert-commit-in-one-query', steps: [...rt([Q("begin; insert into items values (106, 'one'); commit")]), ...check()] },
  { name: 'tx/begin-left-open-by-query', steps: [...rt([Q('begin; select 1 as a')]), ...rt([Q('select 2 as b')]), ...rt([Q('commit')])] },
  {
    name: 'tx/implicit-extended-transaction-spans-until-sync',
    steps: [...rt([P('', 'insert into items values ($1, $2)'), B('', '', ['107', 'x']), E(), P('', 'select 1/0'), B('', ''), E(), S()]), ...check()],
  },
  { name: 'tx/commit-without-begin', steps: rt([Q('commit')]) },
  { name: 'tx/rollback-without-begin', steps: rt([Q('rollback')]) },
  { name: 'tx/nested-begin', steps: [...rt([Q('begin')]), ...rt([Q('begin')]), ...rt([Q('commit')])] },
  {
    name: 'tx/read-only-transaction-write-fails',
    steps: [...rt([Q('begin read only')]), ...rt([Q("insert into items values (108, 'ro')")]), ...rt([Q('rollback')])],
  },
  {
    name: 'tx/isolation-between-clients',
    bystanders: 'after',
    steps: [
      ...rt([Q("begin; insert into items values (109, 'iso')")]),
      ...rt([Q('select count(*) as n from items where id = 109')], 1, 'b'),
      ...rt([Q('commit')]),
      ...rt([Q('select count(*) as n from items where id = 109')], 1, 'b'),
    ],
  },
  {
    name: 'tx/set-rolled-back-with-transaction',
    steps: [...rt([Q('begin')]), ...rt([Q("set datestyle = 'German'")]), ...rt([Q('rollback')]), ...rt([Q("select '2020-01-02'::date::text as d")])],
  },
  {
    name: 'tx/set-committed-with-transaction',
    steps: [...rt([Q('begin')]), ...rt([Q("set datestyle = 'German'")]), ...rt([Q('commit')]), ...rt([Q("select '2020-01-02'::date::text as d")])],
  },
  {
    name: 'tx/set-local-ends-with-transaction',
    steps: [
      ...rt([Q("begin; set local datestyle = 'German'; select '2020-01-02'::date::text as d")]),
      ...rt([Q('commit')]),
      ...rt([Q("select '2020-01-02'::date::text as d")]),
    ],
  },
  { name: 'tx/transaction-status-in-pipeline', steps: rt([Q('begin'), Q('select 1/0'), Q('select 1'), Q('rollback'), Q('select 2 as b')], 5) },
];
