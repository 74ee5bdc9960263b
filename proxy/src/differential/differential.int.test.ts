/**
 * The differential suite: the same raw protocol sequences sent to PostgreSQL directly and through
 * the proxy must give the same backend messages (types, SQLSTATEs, ReadyForQuery statuses, tags,
 * rows), while bystander clients of the same pool keep getting exactly their own replies; batches
 * cut by Terminate or EOF must leave the same data behind. PostgreSQL against itself validates the
 * harness. Malformed messages: malformed.int.test.ts.
 *
 * One scenario:  npx vitest run --project int proxy/src/differential -t 'statement/sql-deallocate$'
 * Fewer modes:   DIFF_MODES=coalesced npx vitest run --project int proxy/src/differential
 * Transcripts:   DIFF_DUMP=/tmp/diff npx vitest run … (dir/mode/scenario.direct.txt and .proxy.txt)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runWithBystanders } from '../testing/bystanders.js';
import { diffTranscripts, runCut, timeouts, type Scenario, type Target } from '../testing/differential.js';
import { query, show, WireConn, type SendMode } from '../testing/wire.js';
import { dumpLine, dumpRun, fail, useEnvironment, type Run } from './env.js';
import { cutCases, KNOWN_LIMITS, validScenarios } from './index.js';

/** DIFF_MODES=coalesced,per-message narrows the send modes (default: all three). */
const MODES = (process.env['DIFF_MODES']?.split(',') ?? ['coalesced', 'per-message', 'bytewise']) as SendMode[];
const CUT_MODES: SendMode[] = MODES.filter((m) => m !== 'bytewise');
const KNOWN = new Map(KNOWN_LIMITS.map((k) => [k.name, k.reason]));

const env = useEnvironment();

/** One run of a scenario with its bystanders, on fresh data (and a fresh pool through the proxy). */
async function runOn(where: 'direct' | 'proxy', s: Scenario, mode: SendMode): Promise<Run> {
  await env.reset();
  const database = s.freshDatabase ? await env.freshDatabase() : undefined;
  const user = where === 'proxy' ? await env.freshUser() : undefined;
  try {
    return await runWithBystanders(user ? env.viaProxy(user, database) : env.direct(undefined, database), s, { mode });
  } finally {
    await env.cleanup(user, database);
  }
}

// ------------------------------------------------------------------ valid scenarios

/** Direct runs, by mode and scenario: PostgreSQL's answer is the same every time (the harness test checks). */
const directRuns = new Map<string, Promise<Run>>();
function directRun(s: Scenario, mode: SendMode): Promise<Run> {
  const key = `${mode} ${s.name}`;
  let r = directRuns.get(key);
  if (!r) {
    r = runOn('direct', s, mode);
    directRuns.set(key, r);
  }
  return r;
}

/** What makes a direct run unusable as the reference. */
function unclean(r: Run): string[] {
  return [...timeouts(r.transcript).map((l) => `a read timed out at ${l}`), ...r.problems];
}

const modesOf = (s: Scenario): SendMode[] => MODES.filter((m) => !s.modes || s.modes.includes(m));

describe('harness: PostgreSQL in both roles', () => {
  for (const s of validScenarios) {
    it(s.name, async () => {
      const [first, ...others] = modesOf(s);
      if (first === undefined) return;
      const a = await directRun(s, first);
      dumpRun('harness', s, 'direct', a);
      const problems = unclean(a);
      for (const mode of others) {
        const b = await directRun(s, mode);
        problems.push(...unclean(b));
        const diff = diffTranscripts(a.transcript, b.transcript, [`direct, ${first}`, `direct, ${mode}`]);
        if (diff !== '') problems.push(diff);
      }
      fail(problems);
    });
  }
});

describe.each(MODES)('differential, %s', (mode) => {
  for (const s of validScenarios.filter((v) => modesOf(v).includes(mode))) {
    it(s.name, async () => {
      const a = await directRun(s, mode);
      const problems = unclean(a).map((p) => `HARNESS: the direct run is not clean: ${p}`);
      const b = await runOn('proxy', s, mode);
      dumpRun(mode, s, 'direct', a);
      dumpRun(mode, s, 'proxy', b);
      const diff = diffTranscripts(a.transcript, b.transcript);
      const known = KNOWN.get(s.name);
      if (diff !== '' && !known) problems.push(`transcript through the proxy differs from PostgreSQL's:\n${diff}`);
      if (diff === '' && known) problems.push(`listed in KNOWN_LIMITS (${known}) but the transcripts are equal now: take it off the list`);
      problems.push(...b.problems.map((p) => `bystander: ${p}`));
      fail(problems);
    });
  }
});

// ------------------------------------------------------------------ cut batches

/**
 * Waits (bounded) until no server process of the user is busy or inside a transaction, twice in a
 * row: what the cut client sent has been dealt with, one way or the other.
 */
async function settle(user: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  let quietPolls = 0;
  while (Date.now() < deadline && quietPolls < 2) {
    const r = await env.query(
      `select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and usename = $1 and state is distinct from 'idle'`,
      [user],
    );
    quietPolls = (r.rows[0] as { n: number }).n === 0 ? quietPolls + 1 : 0;
    await sleep(30);
  }
}

/** What a second connection sees in term_t. */
async function termRows(t: Target): Promise<string> {
  const c = await WireConn.open(t, { user: t.user, database: t.database });
  try {
    await c.send([query("select coalesce(string_agg(k::text, ',' order by k), '(none)') as ks from term_t")]);
    return (await c.read({ z: 1 }, 8_000)).map(show).join(' | ');
  } finally {
    await c.terminate(1_000);
  }
}

describe.each(CUT_MODES)('cut batches, %s', (mode) => {
  for (const c of cutCases) {
    it(c.name, async () => {
      await env.reset();
      const user = await env.freshUser();
      try {
        const d = env.direct(user);
        await runCut(d, c, mode);
        await settle(user);
        const want = await termRows(d);
        await env.reset();
        const p = env.viaProxy(user);
        // Another client used the pool first, so the cut client gets a backend that served someone else.
        const warm = await termRows(p);
        await runCut(p, c, mode);
        await settle(user);
        // The second connection most likely gets the cut client's backend (the pool hands out the most recent).
        const got = await termRows(p);
        const after = await runWithBystanders(p, { name: c.name, steps: [] }, { mode });
        dumpLine(`cut-${mode}.txt`, `${c.name}: direct ${want} / proxy ${got}`);
        const problems = after.problems.map((x) => `bystander after the cut: ${x}`);
        if (!warm.includes('(none)')) problems.push(`the warm-up query saw ${warm}`);
        if (got !== want) problems.unshift(`after the cut PostgreSQL directly shows ${want}\n                  through the proxy ${got}`);
        fail(problems);
      } finally {
        await env.cleanup(user, undefined);
      }
    });
  }
});

it('the diff is empty for equal transcripts and shows a changed record as - and +', () => {
  const t = (status: string) => ({
    entries: [
      {
        label: 'step 1 main until 1 Z',
        records: [
          { type: 'C', tag: 'SELECT 1' },
          { type: 'Z', status },
        ],
      },
    ],
  });
  expect(diffTranscripts(t('I'), t('I'))).toBe('');
  const d = diffTranscripts(t('I'), t('T')).split('\n');
  expect(d).toContain('-    Z {"status":"I"}');
  expect(d).toContain('+    Z {"status":"T"}');
  expect(d.indexOf('-    Z {"status":"I"}')).toBeLessThan(d.indexOf('+    Z {"status":"T"}'));
});

it('the scenario tables hold enough cases', () => {
  expect(validScenarios.length).toBeGreaterThanOrEqual(100);
  expect(cutCases.length).toBeGreaterThan(0);
});
