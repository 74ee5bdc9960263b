/**
 * A client session's modes, as one enum; every change goes through `transition`, which refuses the
 * ones that cannot happen, so a bug shows up as an error for that one session instead of a backend
 * handed over dirty.
 */
export enum Mode {
  /** The first client of a pool waits for a backend to learn what the server reports at startup. */
  Welcoming = 'welcoming',
  /** Authenticated, no backend, nothing open. */
  Idle = 'idle',
  /** A unit of work started; queued for a backend with its messages held. */
  Waiting = 'waiting',
  /** Linked to a backend; bytes flow both ways; released on ReadyForQuery `I` with nothing owed. */
  Linked = 'linked',
  /** Linked for good: session state that cannot move between backends. */
  Pinned = 'pinned',
  /** The backend was lost inside a transaction block: the proxy answers errors until ROLLBACK. */
  FailedTransaction = 'failed-transaction',
  /** The proxy answered an extended-protocol batch with an error: it discards up to Sync. */
  DiscardUntilSync = 'discard-until-sync',
  /** The client is gone; its backend is being brought back to idle (or closed). */
  Draining = 'draining',
  Closed = 'closed',
}

const M = Mode;
const TABLE: Record<Mode, readonly Mode[]> = {
  [M.Welcoming]: [M.Idle, M.Linked, M.Pinned, M.Closed],
  [M.Idle]: [M.Waiting, M.Closed],
  [M.Waiting]: [M.Linked, M.Pinned, M.Idle, M.DiscardUntilSync, M.Closed],
  [M.Linked]: [M.Pinned, M.Idle, M.Waiting, M.FailedTransaction, M.DiscardUntilSync, M.Draining, M.Closed],
  [M.Pinned]: [M.Draining, M.Closed],
  [M.FailedTransaction]: [M.Idle, M.DiscardUntilSync, M.Closed],
  [M.DiscardUntilSync]: [M.Idle, M.FailedTransaction, M.Closed],
  [M.Draining]: [M.Closed],
  [M.Closed]: [M.Closed],
};

export class IllegalTransition extends Error {
  constructor(from: Mode, to: Mode) {
    super(`session machine: no transition from ${from} to ${to}`);
    this.name = 'IllegalTransition';
  }
}

export function transition(from: Mode, to: Mode): Mode {
  if (!TABLE[from].includes(to)) throw new IllegalTransition(from, to);
  return to;
}

/** Modes in which the session holds a backend. */
export function holdsBackend(mode: Mode): boolean {
  return mode === Mode.Linked || mode === Mode.Pinned || mode === Mode.Draining;
}
