/**
 * The budget driven through sequences of events, with small fake pools (FIFO borrowers, connections
 * that open, come back, close and are gone when the test says so). Each case is a list of steps;
 * a step that starts with `=` checks the whole state:
 *
 *   `a: b1 i1 o1 s1 c1 w1` — pool a: busy, idle, opening, opening for an older generation (stale),
 *   closing (slot not back yet), borrowers waiting; zero counts left out; `used N/M` — slots held of
 *   the limit. Steps: `a wants` (a borrower comes), `a opened` / `a fails` (the oldest open),
 *   `a returns` (a busy connection comes back), `a gone` (the oldest closing connection is gone),
 *   `a leaves` (the oldest waiting borrower gives up), `a stale-opened` / `a stale-fails`,
 *   `flip G` (a new generation on every pool), `flip G moved` (and the target moved: opens in
 *   flight give their slots back; `a ghost-settles` ends one), `limits T D U`.
 */
import { describe, expect, it } from 'vitest';
import { FakePool, resetClock } from '../testing/budget-pool.js';
import { Budget, type BudgetLimits } from './budget.js';

interface Case {
  name: string;
  /** total, per database, per user */
  limits: [number, number, number];
  /** pool name → [database, user] */
  pools: Record<string, [string, string]>;
  steps: string[];
}

const lim = ([maxConnections, maxDbConnections, maxUserConnections]: [number, number, number]): BudgetLimits => ({
  maxConnections,
  maxDbConnections,
  maxUserConnections,
});

function run(c: Case): void {
  resetClock();
  const budget = new Budget(lim(c.limits));
  const pools = new Map<string, FakePool>();
  for (const [name, [db, user]] of Object.entries(c.pools)) {
    const p = new FakePool(db, user);
    p.share = budget.join(p);
    pools.set(name, p);
  }
  const state = () => [...[...pools].map(([n, p]) => p.describe(n)), `used ${budget.snapshot().inUse}/${budget.snapshot().maxConnections}`].join('; ');
  c.steps.forEach((step, i) => {
    if (step.startsWith('=')) {
      expect(state(), `after step ${i}: ${c.steps[i - 1]}`).toBe(step.slice(1).trim());
      return;
    }
    const [who, what, arg] = step.split(' ');
    if (who === 'flip') {
      if (what === undefined) throw new Error('flip needs a generation');
      // As the server does: the pools move first, then the old opens' slots go to their new ones.
      for (const p of pools.values()) p.flip(Number(what), arg === 'moved');
      if (arg === 'moved') budget.releaseOpensBefore(Number(what));
      return;
    }
    if (who === 'limits') {
      budget.setLimits(lim(step.split(' ').slice(1).map(Number) as [number, number, number]));
      return;
    }
    const p = pools.get(who!);
    if (!p) throw new Error(`no pool ${who}`);
    const actions: Record<string, () => void> = {
      wants: () => p.wants(),
      opened: () => p.opened(),
      fails: () => p.fails(),
      returns: () => p.returns(),
      gone: () => p.gone(),
      leaves: () => p.leaves(),
      'stale-opened': () => p.staleOpened(),
      'stale-fails': () => p.staleFails(),
      'ghost-settles': () => p.ghostSettles(),
    };
    const act = actions[what!];
    if (!act) throw new Error(`unknown step "${step}"`);
    act();
  });
}

const two = { a: ['d1', 'u1'], b: ['d2', 'u2'] } as Record<string, [string, string]>;
const three = { a: ['d1', 'u1'], b: ['d2', 'u2'], c: ['d3', 'u3'] } as Record<string, [string, string]>;

const cases: Case[] = [
  {
    name: 'one pool uses the whole budget and no more',
    limits: [2, 0, 0],
    pools: { a: ['d1', 'u1'] },
    steps: ['a wants', 'a wants', 'a wants', '= a: o2 w3; used 2/2', 'a opened', 'a opened', '= a: b2 w1; used 2/2', 'a returns', '= a: b2; used 2/2'],
  },
  {
    name: 'the budget is shared: a third pool waits while two hold it',
    limits: [2, 0, 0],
    pools: three,
    steps: [
      'a wants',
      'b wants',
      'c wants',
      '= a: o1 w1; b: o1 w1; c: w1; used 2/2',
      'a opened',
      'a returns',
      '= a: c1; b: o1 w1; c: w1; used 2/2',
      'a gone',
      '= a:; b: o1 w1; c: o1 w1; used 2/2',
    ],
  },
  {
    name: 'FIFO across pools: a connection back to a busy pool goes to an older borrower of another',
    limits: [1, 0, 0],
    pools: two,
    steps: [
      'a wants',
      'a opened',
      'a wants',
      '= a: b1 w1; b:; used 1/1',
      'b wants', // b's borrower is younger than a's second: a keeps its connection
      'a returns',
      '= a: b1; b: w1; used 1/1',
      'a wants', // now b's borrower is older than a's next one
      'a returns',
      '= a: c1 w1; b: w1; used 1/1',
      'a gone',
      '= a: w1; b: o1 w1; used 1/1',
      'b opened',
      'b returns',
      '= a: w1; b: c1; used 1/1',
      'b gone',
      '= a: o1 w1; b:; used 1/1',
    ],
  },
  {
    name: 'busy pools even out their shares, then keep their connections (no close and open per transaction)',
    limits: [4, 0, 0],
    pools: two,
    steps: [
      'a wants',
      'a wants',
      'a wants',
      'a wants',
      'a opened',
      'a opened',
      'a opened',
      'a opened',
      'b wants',
      'b wants',
      'b wants',
      'a wants',
      'a wants',
      'a wants',
      '= a: b4 w3; b: w3; used 4/4',
      'a returns',
      '= a: b3 c1 w3; b: w3; used 4/4',
      'a gone',
      'b opened',
      '= a: b3 w3; b: b1 w2; used 4/4',
      'a returns',
      '= a: b2 c1 w3; b: b1 w2; used 4/4',
      'a gone',
      'b opened',
      '= a: b2 w3; b: b2 w1; used 4/4',
      'a returns',
      '= a: b2 w2; b: b2 w1; used 4/4',
      'b returns',
      '= a: b2 w2; b: b2; used 4/4',
      // b has nobody left waiting: the connection goes to a rather than idle.
      'b returns',
      '= a: b2 w2; b: b1 c1; used 4/4',
      'b gone',
      'a opened',
      '= a: b3 w1; b: b1; used 4/4',
    ],
  },
  {
    name: 'a newcomer does not overtake a pool that waits longer',
    limits: [1, 0, 0],
    pools: three,
    steps: [
      'a wants',
      'a opened',
      'a wants',
      'b wants',
      'c wants',
      'a returns',
      '= a: b1; b: w1; c: w1; used 1/1',
      'a returns',
      '= a: c1; b: w1; c: w1; used 1/1',
      'a gone',
      '= a:; b: o1 w1; c: w1; used 1/1',
    ],
  },
  {
    name: 'an idle connection of another pool is closed for a waiting borrower (reclaim)',
    limits: [2, 0, 0],
    pools: three,
    steps: [
      'a wants',
      'a opened',
      'a returns',
      'b wants',
      '= a: i1; b: o1 w1; c:; used 2/2',
      'c wants',
      '= a: c1; b: o1 w1; c: w1; used 2/2',
      'a gone',
      '= a:; b: o1 w1; c: o1 w1; used 2/2',
    ],
  },
  {
    name: 'one closing connection is not reclaimed twice: the next reclaim waits for the first',
    limits: [2, 0, 0],
    pools: two,
    steps: [
      'a wants',
      'a wants',
      'a opened',
      'a opened',
      'a returns',
      'a returns',
      '= a: i2; b:; used 2/2',
      'b wants',
      '= a: i1 c1; b: w1; used 2/2',
      'b wants',
      '= a: i1 c1; b: w2; used 2/2',
      'a gone',
      '= a: c1; b: o1 w2; used 2/2',
      'a gone',
      '= a:; b: o2 w2; used 2/2',
    ],
  },
  {
    name: 'a connection back to a pool nobody waits for is closed for a waiting pool instead of idling',
    limits: [1, 0, 0],
    pools: two,
    steps: ['a wants', 'a opened', 'b wants', 'a returns', '= a: c1; b: w1; used 1/1', 'a gone', '= a:; b: o1 w1; used 1/1'],
  },
  {
    name: 'per-database limit: a second pool of a full database waits, another database opens',
    limits: [3, 1, 0],
    pools: { a: ['d1', 'u1'], b: ['d1', 'u2'], c: ['d2', 'u1'] },
    steps: [
      'a wants',
      'b wants',
      'c wants',
      '= a: o1 w1; b: w1; c: o1 w1; used 2/3',
      'a opened',
      'a returns',
      '= a: c1; b: w1; c: o1 w1; used 2/3',
      'a gone',
      '= a:; b: o1 w1; c: o1 w1; used 2/3',
    ],
  },
  {
    name: 'per-user limit: a user at its limit waits, other users open',
    limits: [4, 0, 2],
    pools: { a: ['d1', 'u1'], b: ['d2', 'u1'], c: ['d3', 'u1'], d: ['d1', 'u2'] },
    steps: ['a wants', 'b wants', 'c wants', 'd wants', '= a: o1 w1; b: o1 w1; c: w1; d: o1 w1; used 3/4'],
  },
  {
    name: 'reclaim frees a slot that helps: an idle connection of the same database, not a longer-idle one of another',
    limits: [3, 1, 0],
    pools: { c: ['d2', 'u3'], a: ['d1', 'u1'], b: ['d1', 'u2'] },
    steps: [
      'c wants',
      'c opened',
      'c returns',
      'a wants',
      'a opened',
      'a returns',
      '= c: i1; a: i1; b:; used 2/3',
      'b wants',
      '= c: i1; a: c1; b: w1; used 2/3',
      'a gone',
      '= c: i1; a:; b: o1 w1; used 2/3',
    ],
  },
  {
    name: 'a pool short in two limits (its database and its user) gets two idle connections closed for it, together',
    limits: [3, 1, 1],
    pools: { x: ['d1', 'u1'], y: ['d2', 'u2'], h: ['d1', 'u2'] },
    steps: [
      'x wants',
      'x opened',
      'x returns',
      'y wants',
      'y opened',
      'y returns',
      '= x: i1; y: i1; h:; used 2/3',
      'h wants',
      '= x: c1; y: c1; h: w1; used 2/3',
      'x gone',
      '= x:; y: c1; h: w1; used 1/3',
      'y gone',
      '= x:; y:; h: o1 w1; used 1/3',
    ],
  },
  {
    name: 'a starving pool short in two limits: the room freed in one is kept for it until the other frees',
    limits: [3, 1, 1],
    pools: { x: ['d1', 'u1'], y: ['d2', 'u2'], h: ['d1', 'u2'], z: ['d1', 'u3'] },
    steps: [
      'x wants',
      'x opened',
      'y wants',
      'y opened',
      'h wants',
      'z wants',
      'x wants',
      '= x: b1 w1; y: b1; h: w1; z: w1; used 2/3',
      'x returns',
      '= x: c1 w1; y: b1; h: w1; z: w1; used 2/3',
      'x gone',
      '= x: w1; y: b1; h: w1; z: w1; used 1/3', // z and x would fit in d1, but h needs it
      'y wants',
      'y returns',
      '= x: w1; y: c1 w1; h: w1; z: w1; used 1/3',
      'y gone',
      '= x: w1; y: w1; h: o1 w1; z: w1; used 1/3',
    ],
  },
  {
    name: 'a waiting pool whose borrower left leaves the queue: nothing is closed for it',
    limits: [1, 0, 0],
    pools: two,
    steps: ['a wants', 'a opened', 'b wants', 'b leaves', 'a returns', '= a: i1; b:; used 1/1', 'a wants', '= a: b1; b:; used 1/1'],
  },
  {
    name: 'a failed open gives its slot to the waiting pool',
    limits: [1, 0, 0],
    pools: two,
    steps: ['a wants', 'b wants', '= a: o1 w1; b: w1; used 1/1', 'a fails', '= a: w1; b: o1 w1; used 1/1'],
  },
  {
    name: 'a flip to the same server: opens for the old generation keep their slots until they settle',
    limits: [1, 0, 0],
    pools: { a: ['d1', 'u1'] },
    steps: [
      'a wants',
      'flip 2',
      '= a: s1 w1; used 1/1',
      'a stale-opened',
      '= a: c1 w1; used 1/1',
      'a gone',
      '= a: o1 w1; used 1/1',
      'a opened',
      '= a: b1; used 1/1',
    ],
  },
  {
    name: 'a flip to another server: opens in flight to the old one give their slots back at once, once',
    limits: [1, 0, 0],
    pools: { a: ['d1', 'u1'] },
    steps: ['a wants', 'flip 2 moved', '= a: o1 w1; used 1/1', 'a ghost-settles', '= a: o1 w1; used 1/1', 'a opened', '= a: b1; used 1/1'],
  },
  {
    name: 'a stale open that fails after a moved flip does not give its slot back twice',
    limits: [2, 0, 0],
    pools: two,
    steps: ['a wants', 'flip 2 moved', 'a ghost-settles', '= a: o1 w1; b:; used 1/2', 'b wants', 'b wants', '= a: o1 w1; b: o1 w2; used 2/2'],
  },
  {
    name: 'a lower limit closes idle connections above it now and busy ones when they come back',
    limits: [3, 0, 0],
    pools: two,
    steps: [
      'a wants',
      'a opened',
      'a returns',
      'b wants',
      'b wants',
      'b opened',
      'b opened',
      '= a: i1; b: b2; used 3/3',
      'limits 1 0 0',
      '= a: c1; b: b2; used 3/1',
      'b returns',
      '= a: c1; b: b1 c1; used 3/1',
      'b returns',
      '= a: c1; b: i1 c1; used 3/1',
      'a gone',
      'b gone',
      '= a:; b: i1; used 1/1',
    ],
  },
  {
    name: 'a higher limit wakes the waiting pools',
    limits: [1, 0, 0],
    pools: two,
    steps: ['a wants', 'a opened', 'b wants', '= a: b1; b: w1; used 1/1', 'limits 2 0 0', '= a: b1; b: o1 w1; used 2/2'],
  },
  {
    name: 'slots freed together go out in borrower order across pools, not all to the first pool woken',
    limits: [1, 0, 0],
    pools: two,
    steps: ['a wants', 'a opened', 'a wants', 'b wants', 'a wants', '= a: b1 w2; b: w1; used 1/1', 'limits 3 0 0', '= a: b1 o1 w2; b: o1 w1; used 3/3'],
  },
];

describe('Budget', () => {
  it.each(cases)('$name', (c) => run(c));

  it('says which limit holds a borrower back', () => {
    const budget = new Budget(lim([2, 1, 0]), 'writer');
    const a = new FakePool('orders', 'app');
    const b = new FakePool('orders', 'batch');
    a.share = budget.join(a);
    b.share = budget.join(b);
    a.wants();
    b.wants();
    expect(b.share.why()).toBe('database "orders" has all its 1 connections in use (pool.maxDbConnections)');
    budget.setLimits(lim([1, 0, 1]));
    expect(a.share.why()).toBe('user "app" has all its 1 connections in use (pool.maxUserConnections)');
    budget.setLimits(lim([1, 0, 0]));
    expect(b.share.why()).toBe('all 1 writer connections of this proxy are in use, shared by every database and user');
  });

  it('reports limits, slots held, opening, closing and waiting pools', () => {
    const budget = new Budget(lim([2, 0, 0]));
    const a = new FakePool('d1', 'u1');
    const b = new FakePool('d2', 'u2');
    const c = new FakePool('d3', 'u3');
    for (const p of [a, b, c]) p.share = budget.join(p);
    a.wants();
    a.opened();
    a.returns();
    b.wants();
    c.wants(); // reclaims a's idle connection
    expect(budget.snapshot()).toEqual({ maxConnections: 2, maxDbConnections: 0, maxUserConnections: 0, inUse: 2, opening: 1, closing: 1, poolsWaiting: 1 });
  });
});
