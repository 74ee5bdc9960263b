// The client limits' rules: the pod's and the user's refusals, the per-user counts, the log throttle, a refusal at accept.
import { describe, expect, it } from 'vitest';
import type { Conn, ConnHandlers } from '../io/conn.js';
import { pino } from 'pino';
import { ClientLimits, MAX_PENDING_REFUSALS, podRefusal, refuseConnection, Throttled, TOO_MANY_CLIENTS, UserCounts, userRefusal } from './limits.js';

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

describe('ClientLimits', () => {
  function limits(max: number, perUser: number) {
    const seen: string[] = [];
    const l = new ClientLimits({
      config: () => ({ maxClientConnections: max, maxClientConnectionsPerUser: perUser, startupTimeout: 1, authenticationTimeout: 1 }),
      log: pino({ level: 'silent' }),
      onLimit: (r) => seen.push(r),
      onSetupFailure: (r) => seen.push(`setup:${r}`),
    });
    return { l, seen };
  }
  const conn = () => {
    const calls: string[] = [];
    const c = { setHandlers: () => {}, end: () => calls.push('end'), destroy: () => calls.push('destroy') } as unknown as Conn;
    return { c, calls };
  };

  it('admits under the pod limit; past it, the refusal waits for the StartupMessage; past 1,000 of those, it is refused at accept', () => {
    const { l, seen } = limits(2, 0);
    const a = conn();
    expect(l.admit(1, a.c)).toBeUndefined();
    expect(l.admit(2, a.c)).toEqual(TOO_MANY_CLIENTS);
    expect(a.calls).toEqual([]);
    for (let i = 0; i < MAX_PENDING_REFUSALS; i++) l.refusing.add({});
    const b = conn();
    expect(l.admit(2, b.c)).toBe('refused');
    expect(b.calls).toEqual(['end']);
    expect(seen).toEqual(['max_client_connections', 'max_client_connections', 'setup:limits']);
  });

  it('counts a user at login only when admitted, and frees the place at logout', () => {
    const { l } = limits(10, 1);
    expect(l.userLogin('u')).toBeUndefined();
    expect(l.userLogin('u')?.message).toBe('too many connections for role "u"');
    expect(l.of('u')).toBe(1);
    l.userLogout('u');
    expect(l.userLogin('u')).toBeUndefined();
  });
});
