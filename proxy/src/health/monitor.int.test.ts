import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, startStandby, type PgInstance } from '../testing/postgres.js';
import { TargetMonitor, type WriterChange } from './monitor.js';

/** The next `change` event satisfying `pred`, or an error after a generous bound (no timing asserted). */
function nextChange(m: TargetMonitor, pred: (c: WriterChange) => boolean, what: string, boundMs = 30_000): Promise<WriterChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      m.off('change', on);
      reject(new Error(`no change: ${what}; targets: ${JSON.stringify(m.snapshot())}`));
    }, boundMs);
    const on = (c: WriterChange) => {
      if (!pred(c)) return;
      clearTimeout(timer);
      m.off('change', on);
      resolve(c);
    };
    m.on('change', on);
  });
}

describe('TargetMonitor against a real primary and standby', () => {
  let primary: PgInstance;
  let standby: PgInstance;
  let monitor: TargetMonitor;
  const ep = (db: PgInstance) => `127.0.0.1:${db.port}`;

  beforeAll(async () => {
    primary = await startPostgres({ users: [{ name: 'monitor', password: 'mon-pw' }] });
    standby = await startStandby(primary);
  });
  afterAll(async () => {
    monitor?.stop();
    await standby?.stop();
    await primary?.stop();
  });

  it('picks the primary, then flips to the promoted standby when the primary dies', async () => {
    // The standby is listed first: order must not make a READER the writer.
    monitor = new TargetMonitor({
      endpoints: [ep(standby), ep(primary)],
      intervalMs: 200,
      failureThreshold: 2,
      timeoutMs: 2_000,
      user: 'monitor',
      password: 'mon-pw',
    });
    const first = nextChange(monitor, (c) => c.writer !== undefined, 'a writer');
    monitor.start();
    const c1 = await first;
    expect(c1.writer).toBe(ep(primary));
    expect(c1.generation).toBe(1);
    expect(c1.healths).toEqual([
      expect.objectContaining({ endpoint: ep(standby), role: 'READER', state: 'AVAILABLE' }),
      expect.objectContaining({ endpoint: ep(primary), role: 'WRITER', state: 'AVAILABLE', consecutiveFailures: 0 }),
    ]);

    const lost = nextChange(monitor, (c) => c.writer === undefined, 'the writer lost');
    await primary.kill();
    const c2 = await lost;
    expect(c2.generation).toBe(1);
    expect(c2.healths.find((h) => h.endpoint === ep(primary))).toMatchObject({ state: 'UNAVAILABLE', reason: 'UNREACHABLE' });

    const flipped = nextChange(monitor, (c) => c.writer === ep(standby), 'the promoted standby as writer');
    await standby.promote();
    const c3 = await flipped;
    expect(c3.generation).toBe(2);
    expect(monitor.current()).toEqual({ writer: ep(standby), generation: 2 });
    expect(monitor.snapshot().find((h) => h.endpoint === ep(standby))).toMatchObject({ role: 'WRITER', state: 'AVAILABLE' });
  });
});
