/**
 * Terminate: valid scenarios that end with Terminate (replies before it are still owed), and the
 * generated cut cases: a batch cut by Terminate or by the client's EOF after each of its messages;
 * what a second connection then sees in term_t is compared, direct against proxy.
 */
import { rt, type CutCase, type Scenario } from '../testing/differential.js';
import { bind as B, copyData as d, copyDone as cDone, execute as E, flush as H, parse as P, query as Q, sync as S, terminate as X } from '../testing/wire.js';

export const terminateScenarios: Scenario[] = [
  { name: 'terminate/query-then-terminate', steps: rt([Q('select 1 as a'), X()], 'close') },
  { name: 'terminate/extended-then-terminate', steps: rt([P('', 'select 1 as a'), B('', ''), E(), S(), X()], 'close') },
  { name: 'terminate/alone', steps: rt([X()], 'close') },
  { name: 'terminate/after-round-trip', steps: [...rt([Q('select 1 as a')]), ...rt([X()], 'close')] },
  {
    name: 'terminate/in-a-transaction-rolls-back',
    bystanders: 'after',
    steps: [
      ...rt([Q("begin; insert into items values (90, 'gone')")]),
      ...rt([X()], 'close'),
      { sleep: 100 },
      ...rt([Q('select count(*) as n from items where id = 90')], 1, 'b'),
    ],
  },
  {
    name: 'terminate/eof-in-a-transaction-rolls-back',
    bystanders: 'after',
    steps: [
      ...rt([Q("begin; insert into items values (91, 'gone')")]),
      { hangup: 'end' },
      { expect: 'close' },
      { sleep: 100 },
      ...rt([Q('select count(*) as n from items where id = 91')], 1, 'b'),
    ],
  },
];

const insert = (k: number): Buffer[] => [P('', 'insert into term_t values ($1)'), B('', '', [String(k)]), E()];

/** Batches to cut; each cut point and each ending is one case. */
const BATCHES: Record<string, Buffer[]> = {
  'parse-bind-execute-sync': [...insert(1), S()],
  'begin-extended-insert-commit': [Q('begin'), ...insert(1), S(), Q('commit')],
  'extended-insert-flush-sync': [...insert(1), H(), S()],
  'two-batches': [...insert(1), S(), ...insert(2), S()],
  'copy-in': [Q('copy term_t from stdin'), d('1\n'), d('2\n'), cDone()],
  'simple-insert': [Q('insert into term_t values (1), (2)')],
  'simple-begin-insert-commit': [Q('begin'), Q('insert into term_t values (1)'), Q('commit')],
};

export const cutCases: CutCase[] = Object.entries(BATCHES).flatMap(([name, msgs]) =>
  (['terminate', 'eof'] as const).flatMap((ending) =>
    Array.from({ length: msgs.length + 1 }, (_, cutAfter) => ({ name: `cut/${name}/after-${cutAfter}-of-${msgs.length}/${ending}`, msgs, cutAfter, ending })),
  ),
);
