import { describe, expect, it } from 'vitest';
import { ClientState, IllegalTransition, canReturnBackend, transition, type ClientEvent } from './state.js';

describe('client state machine', () => {
  it.each<[ClientState, ClientEvent, ClientState]>([
    [ClientState.Startup, 'authenticating', ClientState.Authenticating],
    [ClientState.Startup, 'authenticated', ClientState.Idle],
    [ClientState.Authenticating, 'authenticated', ClientState.Idle],
    [ClientState.Idle, 'work', ClientState.Waiting],
    [ClientState.Waiting, 'linked', ClientState.Active],
    [ClientState.Waiting, 'borrowFailed', ClientState.Idle],
    [ClientState.Active, 'released', ClientState.Idle],
    [ClientState.Active, 'lost', ClientState.Idle],
    [ClientState.Active, 'close', ClientState.Closing],
    [ClientState.Closing, 'closed', ClientState.Closed],
  ])('%s --%s--> %s', (from, event, to) => {
    expect(transition(from, event)).toBe(to);
  });

  it.each<[ClientState, ClientEvent]>([
    [ClientState.Startup, 'work'],
    [ClientState.Authenticating, 'linked'],
    [ClientState.Idle, 'released'],
    [ClientState.Idle, 'linked'],
    [ClientState.Waiting, 'work'],
    [ClientState.Active, 'linked'],
    [ClientState.Closed, 'work'],
  ])('refuses %s --%s-->', (from, event) => {
    expect(() => transition(from, event)).toThrow(IllegalTransition);
  });

  it('every state can be closed', () => {
    for (const s of Object.values(ClientState)) expect(() => transition(s, 'close')).not.toThrow();
  });

  it.each([
    [0x49, 0, false, true],
    [0x49, 1, false, false],
    [0x54, 0, false, false],
    [0x45, 0, false, false],
    [0x49, 0, true, false],
  ])('canReturnBackend(status %s, owed %s, pinned %s) = %s', (status, owed, pinned, expected) => {
    expect(canReturnBackend(status, owed, pinned)).toBe(expected);
  });
});
