/** Pipelines: several Sync-terminated batches sent at once, with errors in some of them. */
import { rt, type Scenario } from '../testing/differential.js';
import { bind as B, execute as E, parse as P, query as Q, sync as S } from '../testing/wire.js';

const batch = (sql: string, params: string[] = []): Buffer[] => [P('', sql), B('', '', params), E(), S()];
const insert = (id: number): Buffer[] => batch('insert into items values ($1, $2)', [String(id), `n${id}`]);
const check = () => rt([Q('select id from items order by id')]);

export const pipelineScenarios: Scenario[] = [
  { name: 'pipeline/three-batches-error-in-middle', steps: rt([...batch('select 1 as a'), ...batch('select 1/0 as b'), ...batch('select 3 as c')], 3) },
  { name: 'pipeline/three-inserts-error-in-middle', steps: [...rt([...insert(71), ...batch('select 1/0'), ...insert(73)], 3), ...check()] },
  { name: 'pipeline/error-in-first-batch', steps: rt([...batch('selec'), ...batch('select 2 as b'), ...batch('select 3 as c')], 3) },
  { name: 'pipeline/error-in-last-batch', steps: rt([...batch('select 1 as a'), ...batch('select 2 as b'), ...batch('select no_such_column')], 3) },
  { name: 'pipeline/simple-and-extended-mixed', steps: rt([Q('select 1 as a'), ...batch('select 2 as b'), Q('select 3 as c')], 3) },
  {
    name: 'pipeline/in-a-transaction-with-error',
    steps: [...rt([Q('begin'), ...insert(74), ...batch('select 1/0'), Q('rollback')], 4), ...check()],
  },
  { name: 'pipeline/ten-batches', steps: rt(Array.from({ length: 10 }, (_, i) => batch(`select ${i} as n`)).flat(), 10) },
  { name: 'pipeline/error-then-sync-then-query', steps: rt([P('', 'selec'), S(), Q('select 2 as b')], 2) },
  {
    name: 'pipeline/named-parse-skipped-after-error',
    steps: [...rt([P('', 'selec'), P('s_skipped', 'select 1'), S()]), ...rt([B('', 's_skipped'), E(), S()])],
  },
  {
    name: 'pipeline/batches-without-waiting-across-writes',
    steps: [{ send: batch('select 1 as a') }, { send: batch('select 1/0') }, { send: batch('select 3 as c') }, { expect: 3 }],
  },
];
