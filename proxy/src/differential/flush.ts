/** Flush: a lone Flush, Flush without Sync answered before a later Sync, Flush after an error. */
import { rt, type Scenario } from '../testing/differential.js';
import { bind as B, describe as D, execute as E, flush as H, parse as P, query as Q, sync as S } from '../testing/wire.js';

export const flushScenarios: Scenario[] = [
  { name: 'flush/lone-flush', steps: [{ send: [H()] }, { expect: { quiet: 150 } }] },
  { name: 'flush/lone-flush-then-query', steps: [{ send: [H()] }, { expect: { quiet: 100 } }, ...rt([Q('select 1 as a')])] },
  {
    name: 'flush/without-sync-then-sync-later',
    steps: [{ send: [P('', 'select 1 as a'), B('', ''), E(), H()] }, { expect: { type: 'C' } }, { sleep: 100 }, ...rt([S()])],
  },
  {
    name: 'flush/after-parse-then-bind-later',
    steps: [{ send: [P('s1', 'select $1::int as v'), H()] }, { expect: { type: '1' } }, ...rt([B('', 's1', ['3']), E(), S()])],
  },
  {
    name: 'flush/insert-flushed-then-sync-commits',
    steps: [
      { send: [P('', 'insert into items values (80, $1)'), B('', '', ['f']), E(), H()] },
      { expect: { type: 'C' } },
      ...rt([S()]),
      ...rt([Q('select id, note from items where id = 80')]),
    ],
  },
  {
    name: 'flush/several-flushes-then-sync',
    steps: [{ send: [H(), H(), P('', 'select 2 as b'), H(), H()] }, { expect: { type: '1' } }, ...rt([B('', ''), E(), S()])],
  },
  {
    name: 'flush/after-error-then-sync',
    steps: [{ send: [P('', 'selec'), H()] }, { expect: { type: 'E' } }, ...rt([B('', ''), E(), S()])],
  },
  {
    name: 'flush/describe-flushed',
    steps: [{ send: [P('', 'select $1::text as t'), D('S', ''), H()] }, { expect: { type: 'T' } }, ...rt([B('', '', ['x']), E(), S()])],
  },
  {
    name: 'flush/in-transaction-between-statements',
    steps: [
      ...rt([Q('begin')]),
      { send: [P('', 'insert into items values (81, $1)'), B('', '', ['t']), E(), H()] },
      { expect: { type: 'C' } },
      ...rt([S()]),
      ...rt([Q('commit')]),
      ...rt([Q('select id from items where id = 81')]),
    ],
  },
];
