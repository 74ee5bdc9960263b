import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PgModel, type ModelRequest } from '../testing/pg-model.js';
import { Match, Outcome, ReplyLedger, Req, ServerMode } from './ledger.js';

const REQ: Record<ModelRequest['type'], Req> = {
  Parse: Req.Parse,
  Bind: Req.Bind,
  Close: Req.Close,
  DescribeStatement: Req.DescribeStatement,
  DescribePortal: Req.DescribePortal,
  Execute: Req.Execute,
  Query: Req.Query,
  FunctionCall: Req.FunctionCall,
  Sync: Req.Sync,
  Flush: Req.Flush,
  CopyData: Req.CopyData,
  CopyDone: Req.CopyDone,
  CopyFail: Req.CopyFail,
};

/** Feeds one reply (a type character) to the ledger; returns what `begin` said. */
function reply(l: ReplyLedger, t: string): { match: Match; fits: boolean } {
  const code = t.charCodeAt(0);
  const match = l.begin(code);
  const fits = l.end(code, 0x49);
  return { match, fits };
}

function feed(l: ReplyLedger, replies: string): void {
  for (const t of replies) {
    const r = reply(l, t);
    expect(r.fits, `reply ${t}`).toBe(true);
  }
}

describe('ReplyLedger, table', () => {
  it.each<[string, ModelRequest['type'][], string, boolean]>([
    // requests, replies so far, idle afterwards
    ['a simple Query', ['Query'], 'TDCZ', true],
    ['a Query with an error', ['Query'], 'EZ', true],
    ['an extended batch', ['Parse', 'Bind', 'Execute', 'Sync'], '12DCZ', true],
    ['an extended batch before its Sync', ['Parse', 'Bind', 'Execute'], '12DC', false],
    ['a batch whose Parse failed, rest skipped', ['Parse', 'Bind', 'Execute', 'Sync'], 'EZ', true],
    ['a Query after an error before Sync is skipped', ['Parse', 'Query', 'Sync'], 'EZ', true],
    ['two pipelined batches, first answered', ['Parse', 'Sync', 'Parse', 'Sync'], '1Z', false],
    ['two pipelined batches, both answered', ['Parse', 'Sync', 'Parse', 'Sync'], '1Z1Z', true],
    ['a lone Flush owes nothing', ['Flush'], '', true],
    ['stray COPY messages owe nothing', ['CopyData', 'CopyDone'], '', true],
    ['COPY FROM STDIN by Query', ['Query', 'CopyData', 'CopyDone'], 'GCZ', true],
    ['COPY FROM STDIN by Execute, Sync ignored during copy', ['Execute', 'Sync', 'CopyData', 'CopyDone', 'Sync'], 'GCZ', true],
    ['COPY FROM STDIN failed by the client', ['Query', 'CopyData', 'CopyFail'], 'GEZ', true],
    ['COPY TO STDOUT by Execute', ['Execute', 'Sync'], 'HddcCZ', true],
    ['Describe of a statement', ['DescribeStatement', 'Sync'], 'tnZ', true],
    ['FunctionCall', ['FunctionCall'], 'VZ', true],
    ['an error at Sync still ends with Z', ['Parse', 'Sync'], '1EZ', true],
  ])('%s', (_, reqs, replies, idle) => {
    const l = new ReplyLedger();
    for (const r of reqs) l.push(REQ[r]);
    feed(l, replies);
    expect(l.idle()).toBe(idle);
  });

  it.each([
    ['short batches', 3],
    ['a pipeline longer than the spare storage kept', 1_000],
  ])('one ledger reused across units of work: %s, then a batch with hooks', (_, n) => {
    const l = new ReplyLedger();
    for (let unit = 0; unit < 3; unit++) {
      for (let i = 0; i < n; i++) l.push(Req.Query);
      feed(l, 'CZ'.repeat(n));
      expect(l.length).toBe(0);
      expect(l.idle()).toBe(true);
    }
    const seen: Outcome[] = [];
    l.push(Req.Parse, { injected: true, done: (o) => seen.push(o) });
    l.push(Req.Sync);
    expect(reply(l, '1').match).toBe(Match.Injected);
    expect(l.length).toBe(1);
    expect(l.outstanding()).toEqual([Req.Sync]);
    expect(reply(l, 'Z').match).toBe(Match.Client);
    expect(seen).toEqual([Outcome.Ok]);
    expect(l.idle()).toBe(true);
  });

  it('says which replies are the proxy’s own, and forgets nothing', () => {
    const l = new ReplyLedger();
    const seen: Outcome[] = [];
    l.push(Req.Parse, { injected: true, done: (o) => seen.push(o) });
    l.push(Req.Bind, { injected: false, done: (o) => seen.push(o) });
    l.push(Req.Sync);
    expect(reply(l, '1').match).toBe(Match.Injected);
    expect(reply(l, '2').match).toBe(Match.Client);
    expect(reply(l, 'N').match).toBe(Match.Async);
    expect(reply(l, 'Z').match).toBe(Match.Client);
    expect(seen).toEqual([Outcome.Ok, Outcome.Ok]);
  });

  it('tells a failed request and the ones skipped after it', () => {
    const l = new ReplyLedger();
    const seen: string[] = [];
    l.push(Req.Parse, { injected: false, done: (o) => seen.push(`P${o}`) });
    l.push(Req.Bind, { injected: false, done: (o) => seen.push(`B${o}`) });
    l.push(Req.Query, { injected: false, done: (o) => seen.push(`Q${o}`) });
    l.push(Req.Sync);
    feed(l, 'EZ');
    expect(seen).toEqual([`P${Outcome.Failed}`, `B${Outcome.Skipped}`, `Q${Outcome.Skipped}`]);
  });

  it('knows an open batch, a copy waiting for its end and replies held until Flush', () => {
    const l = new ReplyLedger();
    l.push(Req.Parse);
    expect(l.awaitsSync()).toBe(true);
    expect(l.awaitsFlush()).toBe(true);
    l.push(Req.Flush);
    expect(l.awaitsFlush()).toBe(false);
    feed(l, '1');
    expect(l.mode).toBe(ServerMode.Batch);
    expect(l.owes()).toBe(false);
    expect(l.idle()).toBe(false);
    l.push(Req.Execute);
    l.push(Req.Sync);
    feed(l, 'G');
    expect(l.awaitsCopyEnd()).toBe(true);
    expect(l.awaitsSync()).toBe(false);
  });

  it('keeps a batch open when the Query queued behind an error is skipped too (only Sync ends the skip)', () => {
    const l = new ReplyLedger();
    l.push(Req.Bind);
    l.push(Req.Query);
    feed(l, 'E');
    expect(l.owes()).toBe(false);
    expect(l.awaitsSync()).toBe(true);
    l.push(Req.Sync);
    expect(l.awaitsSync()).toBe(false);
    feed(l, 'Z');
    expect(l.idle()).toBe(true);
  });

  it('refuses a reply nothing asked for, and a reply of the wrong kind', () => {
    const l = new ReplyLedger();
    expect(reply(l, 'Z').match).toBe(Match.Unexpected);
    l.push(Req.Parse);
    expect(reply(l, '2').fits).toBe(false);
  });

  it('gives up (unreliable) when a Sync was sent among COPY data that failed', () => {
    const l = new ReplyLedger();
    for (const r of [Req.Execute, Req.CopyData, Req.Sync, Req.CopyData, Req.CopyDone, Req.Sync]) l.push(r);
    feed(l, 'GE');
    expect(l.unreliable).toBe(true);
    expect(l.idle()).toBe(false);
  });
});

const request: fc.Arbitrary<ModelRequest> = fc.oneof(
  fc.record({ type: fc.constantFrom('Parse' as const, 'Bind' as const, 'Close' as const), fail: fc.boolean() }),
  fc.record({ type: fc.constantFrom('DescribeStatement' as const, 'DescribePortal' as const), fail: fc.boolean() }),
  fc.record({ type: fc.constant('Execute' as const), fail: fc.boolean(), rows: fc.nat(3), copy: fc.constantFrom(undefined, 'in' as const, 'out' as const) }),
  fc.record({ type: fc.constant('Query' as const), fail: fc.boolean(), copy: fc.constantFrom(undefined, 'in' as const, 'out' as const) }),
  fc.record({ type: fc.constant('FunctionCall' as const), fail: fc.boolean() }),
  fc.record({ type: fc.constantFrom('Sync' as const, 'Flush' as const, 'CopyData' as const, 'CopyDone' as const, 'CopyFail' as const) }),
);

describe('ReplyLedger against a model of PostgreSQL (property)', () => {
  it('matches every reply, never owes less than the server will send, and is idle exactly when the server is', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(request, fc.nat(8)), { maxLength: 40 }), (steps) => {
        const l = new ReplyLedger();
        const pg = new PgModel();
        let outbox: string[] = [];
        for (const [q, deliver] of steps) {
          // A client sends COPY data only while a copy runs, as drivers do (not required by the model).
          l.push(REQ[q.type]);
          outbox.push(...pg.process(q));
          const now = outbox.slice(0, deliver);
          outbox = outbox.slice(deliver);
          for (const t of now) {
            if (l.unreliable) break;
            const r = reply(l, t);
            expect(r.match, `reply ${t}`).toBe(Match.Client);
            expect(r.fits, `reply ${t}`).toBe(true);
          }
          // The ledger gives up (the backend is then closed, never reused) only where the server's
          // replies cannot tell what it did.
          if (l.unreliable) {
            expect(pg.ambiguous).toBe(true);
            return;
          }
          // Replies still to come: the ledger must know it owes them.
          if (outbox.length > 0) expect(l.owes()).toBe(true);
          if (l.idle()) expect(outbox.length === 0 && pg.idle).toBe(true);
        }
        for (const t of outbox) {
          if (l.unreliable) break; // past this point the ledger matches nothing: the backend is closed
          expect(reply(l, t).fits).toBe(true);
        }
        expect(l.unreliable).toBe(pg.ambiguous);
        if (l.unreliable) return;
        expect(l.owes()).toBe(pg.copying);
        expect(l.idle()).toBe(pg.idle);
      }),
      { numRuns: 2000 },
    );
  });
});
