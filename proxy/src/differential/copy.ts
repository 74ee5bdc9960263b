/** COPY FROM STDIN (simple and extended; done, fail, bad data, Sync/Flush during copy-in) and COPY TO STDOUT. */
import { rt, type Scenario } from '../testing/differential.js';
import { bind as B, copyData as d, copyDone as cDone, copyFail as f, execute as E, flush as H, parse as P, query as Q, sync as S } from '../testing/wire.js';

const IN = 'copy copy_t (a, b) from stdin';
const check = () => rt([Q('select a, b from copy_t order by a')]);

export const copyScenarios: Scenario[] = [
  { name: 'copy/in-simple-done', steps: [...rt([Q(IN), d('1\ta\n'), d('2\tb\n'), cDone()]), ...check()] },
  {
    name: 'copy/in-simple-wait-for-copy-in-response',
    steps: [{ send: [Q(IN)] }, { expect: { type: 'G' } }, { send: [d('1\ta\n'), d('2\tb\n3\tc\n')] }, { send: [cDone()] }, { expect: 1 }, ...check()],
  },
  { name: 'copy/in-simple-fail', steps: [...rt([Q(IN), d('1\ta\n'), f('client gave up')]), ...check()] },
  { name: 'copy/in-simple-bad-data', steps: [...rt([Q(IN), d('x\ty\n'), cDone()]), ...check()] },
  { name: 'copy/in-simple-sync-and-flush-ignored', steps: [...rt([Q(IN), d('1\ta\n'), S(), H(), d('2\tb\n'), cDone()]), ...check()] },
  { name: 'copy/in-simple-other-message-aborts', steps: [...rt([Q(IN), d('1\ta\n'), Q('select 1')]), ...rt([Q('select count(*) as n from copy_t')], 1, 'b')] },
  { name: 'copy/in-simple-then-pipelined-query', steps: rt([Q(IN), d('5\te\n'), cDone(), Q('select count(*) as n from copy_t')], 2) },
  {
    name: 'copy/in-simple-in-a-transaction-rolled-back',
    steps: [...rt([Q('begin')]), ...rt([Q(IN), d('1\ta\n'), cDone()]), ...rt([Q('rollback')]), ...check()],
  },
  { name: 'copy/in-simple-then-more-statements', steps: [...rt([Q(`${IN}; select 42 as after`), d('9\ti\n'), cDone()]), ...check()] },
  { name: 'copy/in-extended-done', steps: [...rt([P('', IN), B('', ''), E(), d('1\ta\n'), cDone(), S()]), ...check()] },
  {
    name: 'copy/in-extended-wait-for-copy-in-response',
    steps: [{ send: [P('', IN), B('', ''), E(), H()] }, { expect: { type: 'G' } }, { send: [d('1\ta\n'), cDone(), S()] }, { expect: 1 }, ...check()],
  },
  { name: 'copy/in-extended-sync-during-copy-ignored', steps: [...rt([P('', IN), B('', ''), E(), S(), d('1\ta\n'), cDone(), S()]), ...check()] },
  { name: 'copy/in-extended-fail', steps: [...rt([P('', IN), B('', ''), E(), f('nope'), S()]), ...check()] },
  { name: 'copy/in-extended-bad-data', steps: [...rt([P('', IN), B('', ''), E(), d('1\ta\textra\n'), cDone(), S()]), ...check()] },
  {
    name: 'copy/in-large',
    modes: ['coalesced', 'per-message'],
    steps: [
      ...rt([Q(IN), ...[0, 1, 2, 3].map((k) => d(Array.from({ length: 2500 }, (_, i) => `${k * 2500 + i}\t${'p'.repeat(20)}\n`).join(''))), cDone()]),
      ...rt([Q('select count(*) as n, sum(a) as s from copy_t')]),
    ],
  },
  { name: 'copy/out-large', modes: ['coalesced', 'per-message'], steps: rt([Q("copy (select g, repeat('q', 50) from generate_series(1, 5000) g) to stdout")]) },
  { name: 'copy/out-simple', steps: rt([Q('copy (select n, n * 2 from big where n <= 5 order by n) to stdout')]) },
  { name: 'copy/out-simple-csv-header', steps: rt([Q('copy (select id, note from items order by id) to stdout with (format csv, header)')]) },
  { name: 'copy/out-simple-binary', steps: rt([Q('copy (select 1::int as a) to stdout (format binary)')]) },
  { name: 'copy/out-extended', steps: rt([P('', 'copy (select id, note from items order by id) to stdout'), B('', ''), E(), S()]) },
  { name: 'copy/out-then-in-pipelined', steps: [...rt([Q('copy (select 1) to stdout'), Q(IN), d('3\tc\n'), cDone()], 2), ...check()] },
  { name: 'copy/stray-copy-data-and-done-outside-copy', steps: [...rt([d('junk'), cDone(), Q('select 1 as a')]), ...rt([d('x'), S()])] },
  { name: 'copy/stray-copy-fail-outside-copy', steps: rt([f('stray'), Q('select 1 as a')]) },
];
