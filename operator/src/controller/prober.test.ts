import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ProbeOptions, ProbeResult } from '../../../contract/health/probe.js';
import { TargetProber } from './prober.js';

const CA = '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n';
const plan = {
  endpoints: ['10.0.0.1:5432', '10.0.0.2:5432'],
  intervalMs: 1000,
  failureThreshold: 2,
  user: 'app',
  password: 'pw',
  tls: { sslmode: 'verify-full' as const, ca: CA, serverName: 'db.shop.svc' },
};
const writer: ProbeResult = { ok: true, inRecovery: false, maxConnections: 100, serverVersion: '15' };
const reader: ProbeResult = { ok: true, inRecovery: true, maxConnections: 100, serverVersion: '15' };
const refused: ProbeResult = { ok: false, reason: 'UNREACHABLE', message: 'ECONNREFUSED' };

describe('TargetProber (fake timers, fake probe)', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it("probes each endpoint with the plan's credentials, enqueues on change, honours failureThreshold", async () => {
    const answers = new Map<string, ProbeResult>([
      ['10.0.0.1', writer],
      ['10.0.0.2', reader],
    ]);
    const seen: ProbeOptions[] = [];
    const changes: string[] = [];
    const p = new TargetProber({ log: pino({ level: 'silent' }), onChange: (k) => changes.push(k), probe: async (o) => (seen.push(o), answers.get(o.host)!) });
    p.sync('shop/orders', plan);
    await vi.advanceTimersByTimeAsync(0);
    expect(seen.map((o) => `${o.user}:${o.password}@${o.host}:${o.port}`)).toEqual(['app:pw@10.0.0.1:5432', 'app:pw@10.0.0.2:5432']);
    // The pods' backend TLS settings, the CA from its Secret: the operator probes as the pods connect.
    expect(seen.map((o) => o.tls)).toEqual([plan.tls, plan.tls]);
    expect(changes).toEqual(['shop/orders']);
    expect(p.health('shop/orders', '10.0.0.1:5432')).toMatchObject({ role: 'WRITER', state: 'AVAILABLE', maxConnections: 100 });

    await vi.advanceTimersByTimeAsync(1000); // same answers: nothing to reconcile
    expect(changes).toHaveLength(1);

    answers.set('10.0.0.1', refused);
    await vi.advanceTimersByTimeAsync(1000); // first failure: below the threshold
    expect(p.health('shop/orders', '10.0.0.1:5432')?.state).toBe('AVAILABLE');
    expect(changes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000); // second failure: UNAVAILABLE
    expect(p.health('shop/orders', '10.0.0.1:5432')).toMatchObject({ state: 'UNAVAILABLE', reason: 'UNREACHABLE' });
    expect(changes).toHaveLength(2);

    p.sync('shop/orders', undefined);
    const before = seen.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(seen.length).toBe(before);
    expect(p.health('shop/orders', '10.0.0.1:5432')).toBeUndefined();
  });

  it('a new CA (the Secret changed) is a new plan: probed with it at once', async () => {
    const seen: ProbeOptions[] = [];
    const p = new TargetProber({ log: pino({ level: 'silent' }), onChange: () => {}, probe: async (o) => (seen.push(o), writer) });
    p.sync('k', { ...plan, endpoints: ['db:5432'] });
    await vi.advanceTimersByTimeAsync(0);
    const rotated = CA.replace('ca', 'ca2');
    p.sync('k', { ...plan, endpoints: ['db:5432'], tls: { ...plan.tls, ca: rotated } });
    await vi.advanceTimersByTimeAsync(0);
    expect(seen.map((o) => o.tls?.ca)).toEqual([CA, rotated]);
    p.stopAll();
  });

  it('a throwing probe counts as a failure and the loop goes on', async () => {
    let calls = 0;
    const p = new TargetProber({
      log: pino({ level: 'silent' }),
      onChange: () => {},
      probe: async () => {
        calls++;
        throw new Error('boom');
      },
    });
    p.sync('k', { ...plan, endpoints: ['db:5432'] });
    await vi.advanceTimersByTimeAsync(250); // no writer: fast rounds at 0, 100, 200
    expect(calls).toBe(3);
    expect(p.health('k', 'db:5432')).toMatchObject({ state: 'UNAVAILABLE', reason: 'CONNECTION_FAILED' });
    p.stopAll();
  });

  it('probes in fast rounds while the writer is in doubt, and at the interval once it answers', async () => {
    const answers = new Map<string, ProbeResult>([
      ['10.0.0.1', writer],
      ['10.0.0.2', reader],
    ]);
    let calls = 0;
    const p = new TargetProber({ log: pino({ level: 'silent' }), onChange: () => {}, probe: async (o) => (calls++, answers.get(o.host)!) });
    p.sync('k', plan);
    await vi.advanceTimersByTimeAsync(0);
    answers.set('10.0.0.1', refused);
    await vi.advanceTimersByTimeAsync(1000); // 1000: first failure
    expect(p.health('k', '10.0.0.1:5432')).toMatchObject({ state: 'AVAILABLE', consecutiveFailures: 1 });
    await vi.advanceTimersByTimeAsync(100); // 1100, a fast round: the second failure
    expect(p.health('k', '10.0.0.1:5432')).toMatchObject({ state: 'UNAVAILABLE' });
    answers.set('10.0.0.2', writer); // the standby is promoted
    await vi.advanceTimersByTimeAsync(100);
    expect(p.health('k', '10.0.0.2:5432')).toMatchObject({ role: 'WRITER', state: 'AVAILABLE' });
    const before = calls;
    await vi.advanceTimersByTimeAsync(900); // one writer again: back to the interval
    expect(calls).toBe(before);
    p.stopAll();
  });

  it('probes new candidates at once when the plan changes (an EndpointSlice moved)', async () => {
    const hosts: string[] = [];
    const p = new TargetProber({
      log: pino({ level: 'silent' }),
      onChange: () => {},
      probe: async (o) => (hosts.push(o.host), o.host === '10.0.0.1' ? writer : reader),
    });
    p.sync('k', plan);
    await vi.advanceTimersByTimeAsync(500);
    p.sync('k', { ...plan, endpoints: ['10.0.0.1:5432', '10.0.0.3:5432'] });
    await vi.advanceTimersByTimeAsync(0);
    p.stopAll();
    expect(hosts).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.1', '10.0.0.3']);
  });
});
