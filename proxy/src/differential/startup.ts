/**
 * Startup sent in the same write as the first batch: for the first client of a fresh (database,
 * user) pair (a database created for the run, so the proxy has no pool for it yet) and for an
 * existing pool.
 */
import { rt, type Scenario } from '../testing/differential.js';
import { bind as B, execute as E, parse as P, query as Q, sync as S, terminate as X } from '../testing/wire.js';

export const startupScenarios: Scenario[] = [
  { name: 'startup/fresh-pool-startup-and-query-in-one-write', startupInFirstSend: true, freshDatabase: true, steps: rt([Q('select 1 as a')], 2) },
  {
    name: 'startup/fresh-pool-startup-and-extended-in-one-write',
    startupInFirstSend: true,
    freshDatabase: true,
    steps: rt([P('', 'select $1::int as v'), B('', '', ['5']), E(), S()], 2),
  },
  { name: 'startup/fresh-pool-startup-query-terminate', startupInFirstSend: true, freshDatabase: true, steps: rt([Q('select 1 as a'), X()], 'close') },
  {
    name: 'startup/fresh-pool-startup-and-pipelined-queries',
    startupInFirstSend: true,
    freshDatabase: true,
    steps: rt([Q('select 1 as a'), Q('select 2 as b')], 3),
  },
  {
    name: 'startup/existing-pool-startup-and-query-in-one-write',
    startupInFirstSend: true,
    bystanders: 'after',
    steps: [...rt([Q('select 1 as a')], 2), ...rt([Q('select 2 as b')])],
  },
];
