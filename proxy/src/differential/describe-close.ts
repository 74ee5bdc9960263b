/** Describe (S and P) and Close (S and P), of existing and missing statements and portals. */
import { rt, type Scenario } from '../testing/differential.js';
import { bind as B, close as C, describe as D, execute as E, parse as P, sync as S } from '../testing/wire.js';

export const describeCloseScenarios: Scenario[] = [
  { name: 'describe/statement', steps: rt([P('s1', 'select $1::int as a, $2::text as b'), D('S', 's1'), S()]) },
  { name: 'describe/statement-no-data', steps: rt([P('s1', 'insert into items values ($1, $2)'), D('S', 's1'), S()]) },
  { name: 'describe/unnamed-statement', steps: rt([P('', 'select id, note from items where id = $1'), D('S', ''), S()]) },
  { name: 'describe/portal', steps: rt([P('', 'select id from items order by id'), B('', ''), D('P', ''), E(), S()]) },
  { name: 'describe/portal-no-data', steps: rt([P('', "update items set note = 'u' where id = 1"), B('', ''), D('P', ''), E(), S()]) },
  {
    name: 'describe/portal-binary-formats',
    steps: rt([P('', 'select 1::int as a, 2::int as b'), B('', '', [], { resultFormats: [1] }), D('P', ''), E(), S()]),
  },
  { name: 'describe/missing-statement', steps: rt([D('S', 'no_such'), S()]) },
  { name: 'describe/missing-portal', steps: rt([D('P', 'no_such'), S()]) },
  { name: 'describe/statement-in-a-later-round-trip', steps: [...rt([P('s1', 'select $1::int as a'), S()]), ...rt([D('S', 's1'), S()])] },
  { name: 'close/missing-statement', steps: rt([C('S', 'no_such'), S()]) },
  { name: 'close/missing-portal', steps: rt([C('P', 'no_such'), S()]) },
  { name: 'close/statement-then-bind', steps: [...rt([P('s1', 'select 1 as a'), S()]), ...rt([C('S', 's1'), S()]), ...rt([B('', 's1'), E(), S()])] },
  { name: 'close/statement-then-describe', steps: rt([P('s1', 'select 1 as a'), C('S', 's1'), D('S', 's1'), S()]) },
  { name: 'close/unnamed-statement', steps: rt([P('', 'select 1 as a'), C('S', ''), B('', ''), E(), S()]) },
  { name: 'close/portal-then-describe', steps: rt([P('', 'select 1 as a'), B('p', ''), C('P', 'p'), D('P', 'p'), S()]) },
  { name: 'close/twice', steps: rt([P('s1', 'select 1 as a'), C('S', 's1'), C('S', 's1'), S()]) },
];
