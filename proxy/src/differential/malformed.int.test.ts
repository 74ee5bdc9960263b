/**
 * Malformed client messages, sent when the client is idle and while it waits in the borrow queue
 * (both backends of the pool held by two other clients in open transactions, released after). Not
 * compared with PostgreSQL message for message (its own errors differ): the sender must get an
 * ErrorResponse 08P01 (or, for a length over the limit, 54000 as docs/configuration.md says for
 * maxMessageLength) and/or be closed, and nothing else; the other clients keep getting exactly
 * their own replies; a new connection still works; the proxy (in this process) never throws.
 * PostgreSQL directly runs the same checks, to validate them.
 *
 * One case:  npx vitest run --project int proxy/src/differential/malformed.int.test.ts -t 'malformed/length-zero queued proxy'
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { selectReply } from '../testing/bystanders.js';
import { query, show, WireConn, type Rec } from '../testing/wire.js';
import { dumpLine, fail, useEnvironment } from './env.js';
import { malformedCases } from './index.js';

const env = useEnvironment();

/** SQLSTATEs a malformed message may get: protocol violation; program limit exceeded (over maxMessageLength). */
const PROTOCOL_ERRORS = new Set(['08P01', '54000']);

/** The containment property for the malformed message's sender. */
function senderProblems(recs: Rec[]): string[] {
  const isProtocolError = (r: Rec) => r.type === 'E' && PROTOCOL_ERRORS.has(String(r.code));
  const gotError = recs.some(isProtocolError);
  const closed = recs.some((r) => r.type === 'closed');
  const out: string[] = [];
  if (!gotError && !closed) out.push('the sender got neither an ErrorResponse 08P01 nor a close');
  const other = recs.filter((r) => !['E', 'N', 'Z', 'closed'].includes(r.type) || (r.type === 'E' && !isProtocolError(r)));
  if (other.length > 0) out.push(`the sender got other messages: ${other.map(show).join(' | ')}`);
  return out;
}

/** Sends one query and checks the reply is exactly `want` (and that nothing stray came before it). */
async function exchange(c: WireConn, who: string, sql: string, want: Rec[]): Promise<string[]> {
  const stray = c.take();
  await c.send([query(sql)]);
  const got = (await c.read({ z: 1 }, 8_000)).map(show).join(' | ');
  const expected = want.map(show).join(' | ');
  const out = stray.length > 0 ? [`${who}: stray ${stray.map(show).join(' | ')}`] : [];
  return got === expected ? out : [...out, `${who}: "${sql}" answered ${got}; expected ${expected}`];
}

const select = (c: WireConn, who: string, n: number, status: 'I' | 'T' = 'I') => exchange(c, who, `select ${n} as v`, selectReply(n, status));
const BEGUN: Rec[] = [
  { type: 'C', tag: 'BEGIN' },
  { type: 'Z', status: 'T' },
];
const COMMITTED: Rec[] = [
  { type: 'C', tag: 'COMMIT' },
  { type: 'Z', status: 'I' },
];

const runs = malformedCases.flatMap((m) =>
  (['idle', 'queued'] as const).flatMap((when) => (['direct', 'proxy'] as const).map((where) => ({ ...m, when, where, label: `${m.name} ${when} ${where}` }))),
);

describe('malformed messages', () => {
  for (const m of runs) {
    it(`malformed/${m.label}`, async () => {
      const user = await env.freshUser();
      const t = m.where === 'proxy' ? env.viaProxy(user) : env.direct(user);
      const o = { user, database: t.database };
      const [sender, idle, h1, h2] = await Promise.all([0, 1, 2, 3].map(() => WireConn.open(t, o)));
      const problems: string[] = [];
      try {
        problems.push(...(await select(sender!, 'sender', 1)), ...(await select(idle!, 'idle', 2)));
        if (m.setup) {
          await sender!.send(m.setup);
          const r = await sender!.read({ z: 1 });
          if (r[r.length - 1]?.type !== 'Z') problems.push(`sender: the setup failed: ${r.map(show).join(' | ')}`);
        }
        if (m.when === 'queued') {
          // Both backends of the pool held in transactions: the sender waits in the borrow queue.
          for (const [h, n] of [
            [h1!, 3],
            [h2!, 4],
          ] as const) {
            problems.push(...(await exchange(h, `holder ${n}`, 'begin', BEGUN)), ...(await select(h, `holder ${n}`, n, 'T')));
          }
        }
        await sender!.send([m.bytes]);
        if (m.when === 'queued') {
          await sleep(150);
          for (const [h, n] of [
            [h1!, 3],
            [h2!, 4],
          ] as const)
            problems.push(...(await exchange(h, `holder ${n}`, 'commit', COMMITTED)));
        }
        const recs = await sender!.read({ type: 'E' }, 3_000);
        recs.push(...sender!.take());
        if (!sender!.closed) recs.push(...(await sender!.read({ close: true }, 300)).filter((r) => r.type !== 'timeout'));
        dumpLine('malformed.txt', `${m.label}: ${recs.map(show).join(' | ')}`);
        problems.push(...senderProblems(recs));
        problems.push(...(await select(idle!, 'idle', 5)), ...(await select(h1!, 'holder 3', 6)), ...(await select(h2!, 'holder 4', 7)));
        const fresh = await WireConn.open(t, o);
        problems.push(...(await select(fresh, 'new connection', 8)));
        await fresh.terminate();
        fail(problems);
      } finally {
        await Promise.all([sender, idle, h1, h2].map((c) => c!.terminate(500).catch(() => c!.destroy())));
        await env.cleanup(user, undefined);
      }
    });
  }
});

it('the malformed table holds cases', () => {
  expect(malformedCases.length).toBeGreaterThan(0);
});
