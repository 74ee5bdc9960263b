/**
 * Prepared-statement names: a failed named Parse and its retry, duplicate names (42P05), Close and
 * reuse, the unnamed statement across round trips (also while another client holds the other
 * backend), SQL DEALLOCATE / DEALLOCATE ALL of protocol statements, plans invalidated by DDL.
 */
import { rt, type Scenario } from '../testing/differential.js';
import { bind as B, close as C, describe as D, execute as E, parse as P, query as Q, sync as S } from '../testing/wire.js';

const run = (stmt: string, params: string[] = []): Buffer[] => [B('', stmt, params), E(), S()];
/** Another client takes a backend in a transaction, or gives it back. */
const otherBegins = rt([Q('begin; select 1 as other')], 1, 'b');
const otherCommits = rt([Q('commit')], 1, 'b');

export const statementScenarios: Scenario[] = [
  { name: 'statement/named-parse-fails-then-retry', steps: [...rt([P('s1', 'selec 1'), S()]), ...rt([P('s1', 'select 1 as a'), ...run('s1')])] },
  { name: 'statement/failed-parse-leaves-no-statement', steps: [...rt([P('s1', 'selec 1'), S()]), ...rt(run('s1'))] },
  { name: 'statement/duplicate-name-42P05', steps: [...rt([P('s1', 'select 1 as a'), S()]), ...rt([P('s1', 'select 2 as b'), S()]), ...rt(run('s1'))] },
  { name: 'statement/duplicate-name-in-one-batch', steps: rt([P('s1', 'select 1 as a'), P('s1', 'select 1 as a'), S()]) },
  { name: 'statement/duplicate-same-text-later', steps: [...rt([P('s1', 'select 1 as a'), S()]), ...rt([P('s1', 'select 1 as a'), S()])] },
  {
    name: 'statement/close-then-parse-again',
    steps: [...rt([P('s1', 'select 1 as a'), S()]), ...rt([C('S', 's1'), S()]), ...rt([P('s1', "select 'new' as b"), ...run('s1')])],
  },
  { name: 'statement/close-and-reparse-in-one-batch', steps: rt([P('s1', 'select 1 as a'), C('S', 's1'), P('s1', 'select 2 as b'), ...run('s1')]) },
  {
    name: 'statement/named-used-in-later-round-trips',
    steps: [...rt([P('s1', 'select $1::int * 2 as v'), S()]), ...rt(run('s1', ['4'])), ...rt(run('s1', ['5']))],
  },
  {
    name: 'statement/unnamed-across-round-trips',
    steps: [...rt([P('', 'select $1::int + 100 as v'), D('S', ''), S()]), ...rt(run('', ['1']))],
  },
  {
    name: 'statement/unnamed-across-round-trips-other-client-between',
    bystanders: 'after',
    steps: [...rt([P('', 'select $1::int + 100 as v'), D('S', ''), S()]), ...otherBegins, ...rt(run('', ['2'])), ...otherCommits],
  },
  {
    name: 'statement/unnamed-across-round-trips-other-client-before',
    bystanders: 'after',
    steps: [...otherBegins, ...rt([P('', 'select $1::int + 100 as v'), D('S', ''), S()]), ...otherCommits, ...rt(run('', ['3']))],
  },
  {
    name: 'statement/named-across-round-trips-other-client-between',
    bystanders: 'after',
    steps: [...rt([P('s1', 'select $1::int + 200 as v'), S()]), ...otherBegins, ...rt(run('s1', ['1'])), ...otherCommits, ...rt(run('s1', ['2']))],
  },
  {
    name: 'statement/same-name-in-two-clients',
    bystanders: 'after',
    steps: [
      ...rt([P('s1', "select 'main' as who"), S()]),
      ...rt([P('s1', "select 'other' as who, 2 as n"), S()], 1, 'b'),
      ...rt(run('s1')),
      ...rt(run('s1'), 1, 'b'),
    ],
  },
  {
    name: 'statement/same-name-same-text-one-client-closes',
    bystanders: 'after',
    steps: [
      ...rt([P('s1', 'select 1 as a'), S()]),
      ...rt([P('s1', 'select 1 as a'), S()], 1, 'b'),
      ...rt([C('S', 's1'), S()], 1, 'b'),
      ...rt(run('s1')),
      ...rt(run('s1'), 1, 'b'),
    ],
  },
  {
    name: 'statement/other-client-deallocate-all',
    bystanders: 'after',
    steps: [...rt([P('s1', 'select 1 as a'), S()]), ...rt([Q('deallocate all')], 1, 'b'), ...rt(run('s1'))],
  },
  {
    name: 'statement/discard-all',
    steps: [...rt([P('s1', 'select 1 as a'), S()]), ...rt([Q('discard all')]), ...rt(run('s1')), ...rt([P('s1', 'select 2 as b'), ...run('s1')])],
  },
  { name: 'statement/unnamed-destroyed-by-simple-query', steps: [...rt([P('', 'select 1 as a'), S()]), ...rt([Q('select 2 as b')]), ...rt(run(''))] },
  {
    name: 'statement/sql-deallocate',
    steps: [...rt([P('s1', 'select 1 as a'), S()]), ...rt([Q('deallocate s1')]), ...rt(run('s1')), ...rt([P('s1', 'select 2 as b'), ...run('s1')])],
  },
  {
    name: 'statement/sql-deallocate-prepare-keyword',
    steps: [...rt([P('s1', 'select 1 as a'), S()]), ...rt([Q('DEALLOCATE PREPARE s1')]), ...rt([P('s1', 'select 2 as b'), ...run('s1')])],
  },
  {
    name: 'statement/sql-deallocate-all',
    steps: [
      ...rt([P('s1', 'select 1 as a'), P('s2', 'select 2 as b'), S()]),
      ...rt([Q('deallocate all')]),
      ...rt(run('s1')),
      ...rt(run('s2')),
      ...rt([P('s1', 'select 3 as c'), P('s2', 'select 4 as d'), ...run('s1'), ...run('s2')], 2),
    ],
  },
  { name: 'statement/sql-deallocate-missing', steps: rt([Q('deallocate no_such')]) },
  {
    name: 'statement/sql-deallocate-quoted-name',
    steps: [...rt([P('S1', 'select 1 as a'), S()]), ...rt([Q('deallocate "S1"')]), ...rt([P('S1', 'select 2 as b'), ...run('S1')])],
  },
  {
    name: 'statement/sql-deallocate-in-failed-transaction',
    steps: [...rt([P('s1', 'select 1 as a'), S()]), ...rt([Q('begin; select 1/0')]), ...rt([Q('deallocate s1')]), ...rt([Q('rollback')]), ...rt(run('s1'))],
  },
  {
    name: 'statement/many-named',
    steps: [
      ...rt([1, 2, 3, 4, 5].map((n) => P(`m${n}`, `select ${n} as n`)).concat(S())),
      ...rt([1, 2, 3, 4, 5].flatMap((n) => [B('', `m${n}`), E()]).concat(S())),
    ],
  },
  {
    name: 'statement/plan-invalidated-by-ddl',
    steps: [
      ...rt([P('s1', 'select * from ddl_t'), S()]),
      ...rt(run('s1')),
      ...rt([Q('alter table ddl_t add column extra int')]),
      ...rt(run('s1')),
      ...rt(run('s1')),
    ],
  },
  {
    name: 'statement/sql-prepare-and-execute',
    bystanders: 'after', // SQL PREPARE pins the session to its backend
    steps: [...rt([Q('prepare q1 as select $1::int + 1 as v')]), ...rt([Q('execute q1(1)')]), ...rt([Q('deallocate q1')]), ...rt([Q('execute q1(1)')])],
  },
  { name: 'statement/protocol-statement-in-sql-execute', steps: [...rt([P('s1', 'select 1 as a'), S()]), ...rt([Q('execute s1')])] },
  {
    name: 'statement/pg-prepared-statements-view',
    steps: [...rt([P('s1', 'select 1 as a'), P('s2', 'select 2'), S()]), ...rt([Q('select name, statement from pg_prepared_statements order by name')])],
  },
];
