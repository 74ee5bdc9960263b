import fc from 'fast-check';
import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { PgModel, type ModelRequest } from '../testing/pg-model.js';
import { B, DS, FakeBackend, H, P, Q, S, setup, split, TERMINATE, X } from '../testing/session-harness.js';
import { Mode } from './state.js';

describe('SessionMachine: message sequences', () => {
  it('borrows for a Query, forwards it, and releases on ReadyForQuery I', () => {
    const { io, m, send, reply } = setup();
    send(Q('select 1'));
    expect(m.mode).toBe(Mode.Waiting);
    const b = new FakeBackend();
    m.onBackend(b);
    expect(b.sent).toEqual(['Q']);
    reply(b, 'TDCZ');
    expect(io.client).toEqual(['T', 'D', 'C', 'ZI']);
    expect(io.released).toEqual([b]);
    expect(m.mode).toBe(Mode.Idle);
  });

  it('keeps the backend until the last ReadyForQuery of a pipeline', () => {
    const { io, m, send, reply } = setup();
    send(P('select 1'), B(), X(), S(), Q('select 2'));
    const b = new FakeBackend();
    m.onBackend(b);
    reply(b, '12DCZ');
    expect(io.released).toEqual([]);
    reply(b, 'TDCZ');
    expect(io.released).toEqual([b]);
  });

  it('keeps the backend through a transaction block', () => {
    const { io, m, send, reply } = setup();
    send(Q('begin'));
    const b = new FakeBackend();
    m.onBackend(b);
    reply(b, 'CZ', 'T');
    expect(io.released).toEqual([]);
    send(Q('commit'));
    reply(b, 'CZ', 'I');
    expect(io.released).toEqual([b]);
  });

  it('answers a lone Sync itself and ignores a lone Flush, without borrowing', () => {
    const { io, send } = setup();
    send(S(), H(), serialize.copyData(Buffer.from('x')));
    expect(io.client).toEqual(['ZI']);
    expect(io.borrows).toBe(0);
  });

  it('fails a queued extended batch with an error before its ReadyForQuery when the borrow times out', () => {
    const { io, m, send } = setup();
    send(P('select 1'), B(), X(), S());
    m.onBorrowError({ sqlstate: '53300', message: 'timed out' });
    expect(io.client).toEqual(['E', 'ZI']);
    expect(m.mode).toBe(Mode.Idle);
  });

  it('answers a queued batch without Sync with its error, then waits for the Sync', () => {
    const { io, m, send } = setup();
    send(P('select 1'), B());
    m.onBorrowError({ sqlstate: '53300', message: 'timed out' });
    expect(io.client).toEqual(['E']);
    expect(m.mode).toBe(Mode.DiscardUntilSync);
    send(X(), S());
    expect(io.client).toEqual(['E', 'ZI']);
    expect(m.mode).toBe(Mode.Idle);
  });

  it('runs what a client queued before Terminate, then hands the backend back', () => {
    const { io, m, send, reply } = setup();
    send(Q('insert into t values (1)'), TERMINATE());
    const b = new FakeBackend();
    m.onBackend(b);
    expect(b.sent).toEqual(['Q']);
    expect(m.mode).toBe(Mode.Draining);
    reply(b, 'CZ');
    expect(io.client).toEqual(['C', 'ZI']); // the replies still reach the client, as on PostgreSQL
    expect(io.ended).toBe(true);
    expect(io.released).toEqual([b]);
  });

  it('rolls back, never commits, the open batch of a client that left', () => {
    const { io, m, send, reply } = setup();
    send(P('insert into t values (1)'), B(), X(), H());
    const b = new FakeBackend();
    m.onBackend(b);
    reply(b, '12C');
    send(TERMINATE());
    expect(b.sent.slice(-2)).toEqual(['Q', 'S']); // ROLLBACK, then Sync
    expect(b.sentBytes.at(-2)!.toString('latin1')).toContain('ROLLBACK');
    reply(b, 'CZZ');
    expect(io.released).toEqual([b]);
    expect(io.client).toEqual(['1', '2', 'C']);
  });

  it('closes, never reuses, the backend of a client that left while its request ran', () => {
    const { io, m, send } = setup();
    send(Q('select pg_sleep(10)'));
    const b = new FakeBackend();
    m.onBackend(b);
    m.onClientGone();
    expect(io.discarded).toEqual([b]);
    expect(io.released).toEqual([]);
  });

  it('carries the client’s unnamed statement to the next backend when a later Bind needs it', () => {
    const { io, m, send, reply } = setup();
    send(P('select $1::int'), DS(), S());
    const b1 = new FakeBackend();
    m.onBackend(b1);
    reply(b1, '1tTZ');
    expect(io.released).toEqual([b1]);
    send(B(), X(), S());
    const b2 = new FakeBackend();
    m.onBackend(b2);
    expect(b2.sent).toEqual(['P', 'B', 'E', 'S']);
    reply(b2, '12DCZ');
    // The injected ParseComplete is the proxy's: the client sees only its own replies.
    expect(io.client.slice(4)).toEqual(['2', 'D', 'C', 'ZI']);
  });

  it('never binds another client’s unnamed statement: with none of its own, the Bind fails as on PostgreSQL', () => {
    const { m, send } = setup();
    send(B(), X(), S());
    const b = new FakeBackend();
    m.onBackend(b);
    expect(b.sentBytes[0]!.toString('latin1')).toContain('dbproxy_missing');
  });

  it('forwards a cancel only while the client’s request runs, and holds the backend until it is done', () => {
    const { io, m, send, reply } = setup();
    expect(m.cancelTarget()).toBeUndefined();
    send(Q('select pg_sleep(1)'));
    const b = new FakeBackend();
    m.onBackend(b);
    expect(m.cancelTarget()).toBe(b);
    b.cancels++;
    reply(b, 'EZ');
    expect(io.released).toEqual([]);
    expect(m.cancelTarget()).toBeUndefined();
    b.cancels--;
    m.onCancelDone(b);
    expect(io.released).toEqual([b]);
  });

  it.each([
    ['an extended batch', [P('insert into t values (1) returning 1'), B(), X(), S()], '12', ['1', '2', 'E', 'ZI']],
    ['a simple Query', [Q('select 1')], '', ['E', 'ZI']],
  ])('a server going down under %s (FATAL 57P01, then the close) still gives the client an error before ReadyForQuery', (_, msgs, before, client) => {
    const { io, m, send, reply } = setup();
    send(...msgs);
    const b = new FakeBackend();
    m.onBackend(b);
    reply(b, before);
    // Swallowed (the client stays for the next writer), but the batch has not failed toward the client.
    m.onServerBegin(0x45);
    m.onServerEnd(0x45, Buffer.from('SFATAL\0VFATAL\0C57P01\0Mterminating connection due to unexpected postmaster exit\0\0'));
    m.onBackendLost('the server closed the connection');
    expect(io.client).toEqual(client);
    expect(m.mode).toBe(Mode.Idle);
  });

  it.each([
    ['25006', 1],
    ['23505', 0],
  ])('reports a server error %s as a read-only refusal %i time(s) (a demoted writer is probed at once)', (code, times) => {
    const { io, m, send } = setup();
    send(Q('insert into t values (1)'));
    const b = new FakeBackend();
    m.onBackend(b);
    m.onServerBegin(0x45);
    m.onServerEnd(0x45, Buffer.from(`SERROR\0VERROR\0C${code}\0Mcannot execute INSERT in a read-only transaction\0\0`));
    expect(io.readOnlyErrors).toBe(times);
    expect(io.client).toEqual(['E']);
  });

  it('a server going down while it skips to Sync after an error the client saw owes it no second error', () => {
    const { io, m, send, reply } = setup();
    send(P('select 1/0'), B(), X(), S());
    const b = new FakeBackend();
    m.onBackend(b);
    reply(b, '1E'); // ParseComplete, then the Bind's error: the server skips to the Sync
    m.onServerBegin(0x45);
    m.onServerEnd(0x45, Buffer.from('SFATAL\0VFATAL\0C57P01\0Mterminating connection due to administrator command\0\0'));
    m.onBackendLost('the server closed the connection');
    expect(io.client).toEqual(['1', 'E', 'ZI']);
  });

  it('answers for a transaction cut by a lost backend, then its ROLLBACK', () => {
    const { io, m, send, reply } = setup();
    send(Q('begin'));
    const b = new FakeBackend();
    m.onBackend(b);
    reply(b, 'CZ', 'T');
    send(Q('select 1'));
    m.onBackendLost('the server closed the connection');
    expect(io.client.slice(2)).toEqual(['E', 'ZE']);
    expect(m.mode).toBe(Mode.FailedTransaction);
    send(Q('rollback'));
    expect(io.client.slice(4)).toEqual(['C', 'ZI']);
    expect(m.mode).toBe(Mode.Idle);
  });
});

/** What a frontend message is to the model; `fail` comes from the test's dice. */
function modelRequest(bytes: Buffer, fail: boolean): ModelRequest {
  const t = String.fromCharCode(bytes[0]!);
  switch (t) {
    case 'P':
      return { type: 'Parse', fail };
    case 'B':
      return { type: 'Bind', fail };
    case 'C':
      return { type: 'Close', fail: false };
    case 'D':
      return { type: bytes[5] === 0x53 ? 'DescribeStatement' : 'DescribePortal', fail };
    case 'E':
      return { type: 'Execute', fail, rows: 1 };
    case 'Q':
      return { type: 'Query', fail };
    case 'S':
      return { type: 'Sync' };
    case 'H':
      return { type: 'Flush' };
    default:
      throw new Error(`unexpected message ${t}`);
  }
}

const clientMessage = fc.constantFrom(
  () => P('select 1'),
  () => P('select 1', 'named'),
  () => B(),
  () => B('named'),
  () => DS(),
  () => serialize.describe({ type: 'P', name: '' }),
  () => X(),
  () => S(),
  () => H(),
  () => Q('select 1'),
  () => serialize.close({ type: 'S', name: 'named' }),
);

describe('SessionMachine with a model server (property)', () => {
  it('never releases a backend that owes replies or has a batch open, and every reply is accounted for', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(clientMessage, fc.boolean(), fc.nat(6)), { maxLength: 30 }), (steps) => {
        const { io, m, send } = setup();
        let b: FakeBackend | undefined;
        let pg = new PgModel();
        let outbox: string[] = [];
        let sentCount = 0;
        const released = new Set<FakeBackend>();
        const pump = (deliver: number, failDice: boolean) => {
          if (m.mode === Mode.Waiting) {
            b = new FakeBackend();
            pg = new PgModel();
            outbox = [];
            sentCount = 0;
            m.onBackend(b);
          }
          if (!b) return;
          for (; sentCount < b.sentBytes.length; sentCount++) {
            for (const one of split(b.sentBytes[sentCount]!)) outbox.push(...pg.process(modelRequest(one, failDice && one[0] !== 0x51)));
          }
          for (let i = 0; i < deliver && outbox.length > 0 && m.backend === b; i++) {
            const t = outbox.shift()!;
            const code = t.charCodeAt(0);
            m.onServerBegin(code);
            m.onServerEnd(code, t === 'Z' ? Buffer.from('I') : t === 'E' ? Buffer.from('SERROR\0C42000\0Mx\0\0') : Buffer.alloc(0));
          }
          for (const r of io.released) {
            if (released.has(r)) continue;
            released.add(r);
            expect(r).toBe(b);
            expect(outbox).toEqual([]);
            expect(pg.idle).toBe(true);
            b = undefined;
          }
        };
        for (const [make, fail, deliver] of steps) {
          send(make());
          pump(deliver, fail);
        }
        for (let i = 0; i < 10; i++) pump(100, false);
        expect(io.discarded).toEqual([]);
        if (m.backend) expect(m.backend.ledger.unreliable).toBe(false);
      }),
      { numRuns: 1500 },
    );
  });
});
