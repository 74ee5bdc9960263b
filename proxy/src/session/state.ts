/**
 * A client connection's lifecycle as an explicit enum; every change goes through `transition`, which
 * refuses the ones that cannot happen, so a bug shows up as an error instead of a dirty backend.
 */
export enum ClientState {
  /** Reading StartupMessage / SSLRequest. */
  Startup = 'startup',
  /** Password or SASL exchange. */
  Authenticating = 'authenticating',
  /** Authenticated; no backend; waiting for the first message of a unit of work. */
  Idle = 'idle',
  /** A unit of work started; queued for a backend. */
  Waiting = 'waiting',
  /** Linked to a backend; bytes flow both ways. */
  Active = 'active',
  /** Going away; what it holds is being given back. */
  Closing = 'closing',
  Closed = 'closed',
}

export type ClientEvent =
  | 'authenticating' // startup accepted, auth exchange begins
  | 'authenticated'
  | 'work' // first message of a unit of work
  | 'linked' // a backend was borrowed
  | 'released' // ReadyForQuery I, nothing owed, not pinned
  | 'borrowFailed'
  | 'lost' // the backend died under an active client that stays connected
  | 'close'
  | 'closed';

const TABLE: Record<ClientState, Partial<Record<ClientEvent, ClientState>>> = {
  [ClientState.Startup]: { authenticating: ClientState.Authenticating, authenticated: ClientState.Idle, close: ClientState.Closing },
  [ClientState.Authenticating]: { authenticated: ClientState.Idle, close: ClientState.Closing },
  [ClientState.Idle]: { work: ClientState.Waiting, close: ClientState.Closing },
  [ClientState.Waiting]: { linked: ClientState.Active, borrowFailed: ClientState.Idle, close: ClientState.Closing },
  [ClientState.Active]: { released: ClientState.Idle, lost: ClientState.Idle, close: ClientState.Closing },
  [ClientState.Closing]: { closed: ClientState.Closed, close: ClientState.Closing },
  [ClientState.Closed]: { close: ClientState.Closed, closed: ClientState.Closed },
};

export class IllegalTransition extends Error {
  constructor(from: ClientState, event: ClientEvent) {
    super(`client state machine: no transition from ${from} on ${event}`);
    this.name = 'IllegalTransition';
  }
}

export function transition(from: ClientState, event: ClientEvent): ClientState {
  const to = TABLE[from][event];
  if (to === undefined) throw new IllegalTransition(from, event);
  return to;
}

/** Whether a backend linked in this state may return to the pool when the client goes away. */
export function canReturnBackend(txStatus: number, owed: number, pinned: boolean): boolean {
  return txStatus === 0x49 /* I */ && owed === 0 && !pinned;
}
