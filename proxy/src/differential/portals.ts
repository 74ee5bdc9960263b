/** Portals: row limits (PortalSuspended) and continuing, named portals, portal lifetime. */
import { rt, type Scenario } from '../testing/differential.js';
import { bind as B, close as C, describe as D, execute as E, flush as H, parse as P, query as Q, sync as S } from '../testing/wire.js';

const BIG = 'select n from big order by n';

export const portalScenarios: Scenario[] = [
  {
    name: 'portal/row-limit-flush-then-continue',
    steps: [{ send: [P('', BIG), B('', ''), E('', 5), H()] }, { expect: { type: 's' } }, ...rt([E('', 5), E('', 0), S()])],
  },
  { name: 'portal/row-limit-in-one-batch', steps: rt([P('', BIG), B('', ''), E('', 3), E('', 3), E('', 0), S()]) },
  { name: 'portal/row-limit-exact-count', steps: rt([P('', 'select id from items order by id'), B('', ''), E('', 3), E('', 3), S()]) },
  {
    name: 'portal/named-portal-across-syncs-in-transaction',
    steps: [...rt([Q('begin'), P('', BIG), B('c1', ''), E('c1', 4), S()], 2), ...rt([E('c1', 4), S()]), ...rt([E('c1', 0), S()]), ...rt([Q('commit')])],
  },
  { name: 'portal/unnamed-portal-gone-after-sync', steps: [...rt([P('', BIG), B('', ''), E('', 1), S()]), ...rt([E('', 1), S()])] },
  {
    name: 'portal/named-portal-gone-after-commit',
    steps: [...rt([Q('begin'), P('', BIG), B('c2', ''), E('c2', 2), S()], 2), ...rt([Q('commit')]), ...rt([E('c2', 2), S()])],
  },
  {
    name: 'portal/two-portals-interleaved',
    steps: rt([Q('begin'), P('s', BIG), B('pa', 's'), B('pb', 's'), E('pa', 2), E('pb', 3), E('pa', 2), S(), Q('commit')], 3),
  },
  { name: 'portal/close-portal-then-execute', steps: rt([P('', BIG), B('p', ''), C('P', 'p'), E('p', 0), S()]) },
  { name: 'portal/bind-replaces-unnamed-portal', steps: rt([P('', 'select $1::int as v'), B('', '', ['1']), B('', '', ['2']), E(), S()]) },
  { name: 'portal/describe-suspended-portal', steps: rt([P('', BIG), B('', ''), E('', 2), D('P', ''), E('', 2), S()]) },
  {
    name: 'portal/sql-cursor-in-transaction',
    steps: [...rt([Q(`begin; declare cur cursor for ${BIG}`)]), ...rt([Q('fetch 3 from cur')]), ...rt([Q('fetch 2 from cur; close cur; commit')])],
  },
];
