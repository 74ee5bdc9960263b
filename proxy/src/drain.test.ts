/** The shutdown state machine's transitions, table-driven. */
import { describe, expect, it } from 'vitest';
import { drainReadiness, drainStep, refusesClients, type DrainAction, type DrainPhase, type DrainPlan } from './drain.js';

const plan: DrainPlan = { delayMs: 5_000, drainTimeoutMs: 20_000 };
const noDelay: DrainPlan = { delayMs: 0, drainTimeoutMs: 20_000 };

describe('drainStep', () => {
  const cases: [string, DrainPhase, number, number, DrainPlan, DrainPhase, DrainAction[]][] = [
    // name, phase, elapsedMs, clients, plan → phase, actions
    ['the signal turns the proxy unready; it still accepts during the delay', 'serving', 0, 3, plan, 'unready', []],
    ['without a delay the listeners close and idle clients are told at once', 'serving', 0, 3, noDelay, 'draining', ['closeListeners', 'tellIdle']],
    ['without a delay or clients it stops at once', 'serving', 0, 0, noDelay, 'stopped', ['closeListeners', 'tellIdle', 'closePools']],
    ['during the delay nothing more happens', 'unready', 4_999, 3, plan, 'unready', []],
    ['clients leaving during the delay do not end it early', 'unready', 1_000, 0, plan, 'unready', []],
    ['the delay over: listeners close, idle clients told', 'unready', 5_000, 3, plan, 'draining', ['closeListeners', 'tellIdle']],
    ['the delay over and no clients: stopped', 'unready', 5_000, 0, plan, 'stopped', ['closeListeners', 'tellIdle', 'closePools']],
    ['busy clients finish within the timeout', 'draining', 24_999, 2, plan, 'draining', []],
    ['the last client gone: pools closed', 'draining', 7_000, 0, plan, 'stopped', ['closePools']],
    ['the timeout counts from the listeners closing', 'draining', 25_000, 2, plan, 'closing', ['terminateRest']],
    ['without a delay the timeout is the drain timeout', 'draining', 20_000, 1, noDelay, 'closing', ['terminateRest']],
    ['terminated clients not gone yet: wait', 'closing', 25_050, 1, plan, 'closing', []],
    ['terminated clients gone: pools closed', 'closing', 25_100, 0, plan, 'stopped', ['closePools']],
    ['a client that does not go within the close grace does not hold the stop', 'closing', 27_000, 1, plan, 'stopped', ['closePools']],
    ['stopped stays stopped', 'stopped', 99_000, 0, plan, 'stopped', []],
  ];
  it.each(cases)('%s', (_name, phase, elapsedMs, clients, p, wantPhase, wantActions) => {
    expect(drainStep({ phase, elapsedMs, clients }, p)).toEqual({ phase: wantPhase, actions: wantActions });
  });

  it('a timeout of 0 closes the clients as soon as the listeners close', () => {
    expect(drainStep({ phase: 'serving', elapsedMs: 0, clients: 2 }, { delayMs: 0, drainTimeoutMs: 0 })).toEqual({
      phase: 'closing',
      actions: ['closeListeners', 'tellIdle', 'terminateRest'],
    });
  });

  it('each action runs once over a whole drain driven tick by tick', () => {
    const ran: DrainAction[] = [];
    let phase: DrainPhase = 'serving';
    let clients = 4;
    for (let t = 0; t <= 40_000 && phase !== 'stopped'; t += 50) {
      if (t === 10_000) clients = 1; // three finish their transactions
      if (ran.includes('terminateRest')) clients = 0;
      const step = drainStep({ phase, elapsedMs: t, clients }, plan);
      phase = step.phase;
      ran.push(...step.actions);
    }
    expect(phase).toBe('stopped');
    expect(ran).toEqual(['closeListeners', 'tellIdle', 'terminateRest', 'closePools']);
  });
});

describe('readiness and refusal by phase', () => {
  const cases: [DrainPhase, boolean, boolean][] = [
    ['serving', true, false],
    ['unready', false, false],
    ['draining', false, true],
    ['closing', false, true],
    ['stopped', false, true],
  ];
  it.each(cases)('%s: ready %s, refuses new clients %s', (phase, ready, refuses) => {
    expect(drainReadiness(phase).ok).toBe(ready);
    expect(refusesClients(phase)).toBe(refuses);
  });
});
