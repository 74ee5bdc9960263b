/** FunctionCall of int4pl, its OID looked up first (equal on both sides: one server). */
import { rt, type Scenario, type StepContext } from '../testing/differential.js';
import { functionCall as F, query as Q } from '../testing/wire.js';

const LOOKUP = Q("select 'int4pl'::regproc::oid::int as oid");
/** The OID the lookup (the first row this connection read) returned. */
const oid = (ctx: StepContext): number => Number(ctx.all.find((r) => r.type === 'D')?.values?.[0] ?? 0);
const int4 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

export const functionCallScenarios: Scenario[] = [
  { name: 'function/int4pl-text', steps: [...rt([LOOKUP]), ...rt((c) => [F(oid(c), ['2', '3'])])] },
  { name: 'function/int4pl-binary', steps: [...rt([LOOKUP]), ...rt((c) => [F(oid(c), [int4(40), int4(2)], [1], 1)])] },
  { name: 'function/int4pl-null-argument', steps: [...rt([LOOKUP]), ...rt((c) => [F(oid(c), ['2', null])])] },
  { name: 'function/int4pl-bad-argument', steps: [...rt([LOOKUP]), ...rt((c) => [F(oid(c), ['abc', '1'])])] },
  { name: 'function/missing-oid', steps: rt([F(1, ['1'])]) },
  { name: 'function/pipelined-calls', steps: [...rt([LOOKUP]), ...rt((c) => [F(oid(c), ['1', '1']), F(oid(c), ['2', '2']), F(oid(c), ['3', '3'])], 3)] },
  { name: 'function/in-a-transaction', steps: [...rt([Q('begin'), LOOKUP], 2), ...rt((c) => [F(oid(c), ['5', '5'])]), ...rt([Q('commit')])] },
  {
    name: 'function/in-a-failed-transaction',
    steps: [...rt([LOOKUP]), ...rt([Q('begin'), Q('select 1/0')], 2), ...rt((c) => [F(oid(c), ['1', '2'])]), ...rt([Q('rollback')])],
  },
];
