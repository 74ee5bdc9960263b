import { describe, expect, it } from 'vitest';
import { FakeBackend, Q, setup } from '../testing/session-harness.js';
import { Mode } from './state.js';

describe('SessionMachine: a lone BEGIN whose backend died unanswered runs on the next one', () => {
  it.each(['begin', 'BEGIN;', 'start transaction isolation level repeatable read, read only', '  Begin Work  '])(
    'replays %j: no error, the next backend gets it, its replies reach the client',
    (sql) => {
      const { io, m, send, reply } = setup();
      send(Q(sql));
      const dead = new FakeBackend();
      m.onBackend(dead);
      expect(dead.sent).toEqual(['Q']);
      m.onBackendLost('the server closed the connection');
      expect(io.client).toEqual([]);
      expect(m.mode).toBe(Mode.Waiting);
      expect(io.borrows).toBe(2);
      const next = new FakeBackend();
      m.onBackend(next);
      expect(next.sentBytes.map((b) => b.toString('latin1'))).toEqual([Q(sql).toString('latin1')]);
      reply(next, 'CZ', 'T');
      expect(io.client).toEqual(['C', 'ZT']);
      expect(m.mode).toBe(Mode.Linked);
    },
  );

  it.each<{ name: string; sql: string; run: (s: ReturnType<typeof setup>, b: FakeBackend) => void; answered: string[]; mode: Mode }>([
    { name: 'a BEGIN with another statement', sql: 'begin; insert into t values (1)', run: () => {}, answered: ['E', 'ZI'], mode: Mode.Idle },
    { name: 'a statement that is not BEGIN', sql: 'insert into t values (1)', run: () => {}, answered: ['E', 'ZI'], mode: Mode.Idle },
    { name: 'a BEGIN whose reply had begun', sql: 'begin', run: (s, b) => s.reply(b, 'C'), answered: ['E', 'ZI'], mode: Mode.Idle },
    { name: 'a BEGIN followed by another request', sql: 'begin', run: (s) => s.send(Q('select 1')), answered: ['E', 'ZI', 'E', 'ZI'], mode: Mode.Idle },
    // Nothing is owed: the transaction fails at the client's next statement (25P02 until ROLLBACK).
    {
      name: 'a BEGIN already answered (the transaction is open)',
      sql: 'begin',
      run: (s, b) => s.reply(b, 'CZ', 'T'),
      answered: [],
      mode: Mode.FailedTransaction,
    },
  ])('does not replay $name: the client is answered as for any lost backend', ({ sql, run, answered, mode }) => {
    const s = setup();
    s.send(Q(sql));
    const b = new FakeBackend();
    s.m.onBackend(b);
    run(s, b);
    const before = s.io.client.length;
    s.m.onBackendLost('the server closed the connection');
    expect(s.io.client.slice(before)).toEqual(answered);
    expect(s.m.mode).toBe(mode);
    expect(s.io.borrows).toBe(1);
  });

  it.each([
    ['its only reply was the FATAL of a server going down', '', true],
    ['its CommandComplete had come before that FATAL', 'C', false],
  ])('a BEGIN whose %s: replayed only when the client saw nothing of it', (_, before, replayed) => {
    const s = setup();
    s.send(Q('begin'));
    const b = new FakeBackend();
    s.m.onBackend(b);
    s.reply(b, before);
    s.m.onServerBegin(0x45);
    s.m.onServerEnd(0x45, Buffer.from('SFATAL\0VFATAL\0C57P01\0Mterminating connection due to unexpected postmaster exit\0\0'));
    s.m.onBackendLost('the server closed the connection');
    if (replayed) {
      expect(s.io.client).toEqual([]);
      expect(s.m.mode).toBe(Mode.Waiting);
      expect(s.io.borrows).toBe(2);
    } else {
      expect(s.io.client).toEqual(['C', 'E', 'ZI']);
      expect(s.m.mode).toBe(Mode.Idle);
    }
  });

  it('does not replay in a pinned session: its state went with the backend', () => {
    const s = setup();
    s.send(Q('listen chan'));
    const b = new FakeBackend();
    s.m.onBackend(b);
    s.reply(b, 'CZ');
    expect(s.m.mode).toBe(Mode.Pinned);
    s.send(Q('begin'));
    s.m.onBackendLost('the server closed the connection');
    expect(s.io.borrows).toBe(1);
    expect(s.io.fatal).toMatchObject({ code: '08006', message: expect.stringMatching(/cannot be moved to another connection/) });
    expect(s.m.mode).toBe(Mode.Closed);
  });

  it('gives up after three backends died under the same BEGIN: the client gets the error', () => {
    const s = setup();
    s.send(Q('begin'));
    for (let i = 0; i < 3; i++) {
      s.m.onBackend(new FakeBackend());
      s.m.onBackendLost('the server closed the connection');
      expect(s.m.mode).toBe(Mode.Waiting);
    }
    s.m.onBackend(new FakeBackend());
    s.m.onBackendLost('the server closed the connection');
    expect(s.io.client).toEqual(['E', 'ZI']);
    expect(s.m.mode).toBe(Mode.Idle);
    expect(s.io.borrows).toBe(4);
  });
});
