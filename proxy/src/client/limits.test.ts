// The client limits' rules: the pod's and the user's refusals, the per-user counts, the log throttle, a refusal at accept.
import { describe, expect, it } from 'vitest';
import type { Conn, ConnHandlers } from '../io/conn.js';
import { podRefusal, refuseConnection, Throttled, TOO_MANY_CLIENTS, UserCounts, userRefusal } from './limits.js';

describe('podRefusal', () => {
  it.each([
    [0, 1, false],
    [0, 20_000, false],
    [19_999, 20_000, false],
    [20_000, 20_000, true],
    [20_001, 20_000, true],
    [1, 1, true],
  ])('%i open of %i: refused %s', (open, max, refused) => {
    expect(podRefusal(open, max)).toEqual(refused ? TOO_MANY_CLIENTS : undefined);
  });

  it("is PostgreSQL's FATAL 53300 text", () => {
    expect(TOO_MANY_CLIENTS).toEqual({ severity: 'FATAL', code: '53300', message: 'sorry, too many clients already' });
  });
});

describe('userRefusal', () => {
  it.each([
    ['app', 5, 0, undefined],
    ['app', 0, 1, undefined],
    ['app', 1, 2, undefined],
    ['app', 2, 2, 'too many connections for role "app"'],
    ['we"ird', 3, 2, 'too many connections for role "we"ird"'],
  ])('%s holding %i of %i: %s', (user, open, max, message) => {
    const r = userRefusal(user, open, max);
    expect(r?.message).toBe(message);
    if (r) expect(r).toMatchObject({ severity: 'FATAL', code: '53300' });
  });
});

describe('UserCounts', () => {
  it('counts per user and forgets a user at zero', () => {
    const c = new UserCounts();
    c.add('a');
    c.add('a');
    c.add('b');
    expect([c.of('a'), c.of('b'), c.of('c'), c.size]).toEqual([2, 1, 0, 2]);
    c.remove('a');
    c.remove('b');
    expect([c.of('a'), c.of('b'), c.size]).toEqual([1, 0, 1]);
    c.remove('a');
    expect(c.size).toBe(0);
  });
});

describe('Throttled', () => {
  it('lets one line through per interval, with the count since the last', () => {
    const t = new Throttled(10_000);
    const ticks = [1_000, 2_000, 3_000, 11_000, 11_500, 25_000].map((now) => t.tick(now));
    expect(ticks).toEqual([1, 0, 0, 3, 0, 2]);
  });
});

describe('refuseConnection', () => {
  it('sends the error, ends the connection, drops what the client sends, and destroys it if the client stays', async () => {
    const calls: string[] = [];
    let handlers: ConnHandlers | undefined;
    let ended: Buffer | undefined;
    const conn = {
      setHandlers: (h: ConnHandlers) => (handlers = h),
      end: (last?: Buffer) => {
        ended = last;
        calls.push('end');
      },
      destroy: () => calls.push('destroy'),
    } as unknown as Conn;
    refuseConnection(conn, TOO_MANY_CLIENTS);
    expect(calls).toEqual(['end']);
    expect(ended?.[0]).toBe(0x45); // 'E'
    expect(ended?.toString('latin1')).toContain('53300');
    expect(ended?.toString('latin1')).toContain('sorry, too many clients already');
    handlers!.data(Buffer.from('ignored'));
    await new Promise((r) => setTimeout(r, 1_100));
    expect(calls).toEqual(['end', 'destroy']);
  });
});
