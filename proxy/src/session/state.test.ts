import { describe, expect, it } from 'vitest';
import { holdsBackend, IllegalTransition, Mode, transition } from './state.js';

describe('session modes', () => {
  it.each<[Mode, Mode]>([
    [Mode.Welcoming, Mode.Idle],
    [Mode.Welcoming, Mode.Linked],
    [Mode.Idle, Mode.Waiting],
    [Mode.Waiting, Mode.Linked],
    [Mode.Waiting, Mode.Idle],
    [Mode.Waiting, Mode.DiscardUntilSync],
    [Mode.Linked, Mode.Idle],
    [Mode.Linked, Mode.Pinned],
    [Mode.Linked, Mode.FailedTransaction],
    [Mode.Linked, Mode.Draining],
    [Mode.Pinned, Mode.Draining],
    [Mode.FailedTransaction, Mode.Idle],
    [Mode.DiscardUntilSync, Mode.FailedTransaction],
    [Mode.Draining, Mode.Closed],
  ])('%s → %s', (from, to) => {
    expect(transition(from, to)).toBe(to);
  });

  it.each<[Mode, Mode]>([
    [Mode.Idle, Mode.Linked],
    [Mode.Idle, Mode.Draining],
    [Mode.Pinned, Mode.Idle],
    [Mode.Pinned, Mode.Linked],
    [Mode.Draining, Mode.Idle],
    [Mode.Draining, Mode.Linked],
    [Mode.Closed, Mode.Waiting],
    [Mode.FailedTransaction, Mode.Linked],
  ])('refuses %s → %s', (from, to) => {
    expect(() => transition(from, to)).toThrow(IllegalTransition);
  });

  it('every mode can close', () => {
    for (const m of Object.values(Mode)) expect(transition(m, Mode.Closed)).toBe(Mode.Closed);
  });

  it('only linked, pinned and draining sessions hold a backend', () => {
    expect(Object.values(Mode).filter(holdsBackend)).toEqual([Mode.Linked, Mode.Pinned, Mode.Draining]);
  });
});
