/**
 * A client connection's way to being ready for queries: the startup and authentication timers
 * (limits.*), its place in the per-user count, and the one count of why its setup failed.
 */
import type { ErrorInfo } from '../protocol/messages.js';
import type { SessionContext } from './context.js';
import type { LimitReason } from './limits.js';
import type { SetupFailure } from './setup-failure.js';

export class SetupWatch {
  /** limits.startupTimeout, then limits.authenticationTimeout; cleared once authenticated or closed. */
  private timer: NodeJS.Timeout | undefined;
  /** Welcomed, or its refusal counted: a connection's setup outcome is counted once. */
  private over = false;
  /** The user this connection is counted for (limits.maxClientConnectionsPerUser), until it closes. */
  private countedUser: string | undefined;

  constructor(
    private readonly ctx: SessionContext,
    /** Runs when a stage's timer fires (inside the session's guard). */
    private readonly timedOut: (reason: LimitReason) => void,
  ) {}

  /** One timer per connection for the stage it is in; a new stage replaces it. */
  arm(reason: LimitReason, ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timedOut(reason);
    }, ms);
    this.timer.unref();
  }

  stopTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Counts `user`'s connection, as PostgreSQL counts a role's: after authentication, so strangers
   * cannot use up a user's share. Past the user's limit: the refusal, and nothing counted.
   */
  login(user: string): ErrorInfo | undefined {
    this.stopTimer();
    const refused = this.ctx.userLogin(user);
    if (refused === undefined) this.countedUser = user;
    return refused;
  }

  /** The connection is welcomed: a later failure is not a setup failure. */
  succeeded(): void {
    this.over = true;
  }

  /** Counts why this connection was refused, if it was not welcomed yet (and only once). */
  failed(reason: SetupFailure): void {
    if (this.over) return;
    this.over = true;
    this.ctx.onSetupFailure(reason);
  }

  /** The connection closes: no timer left, its user's count given back (once). */
  closed(): void {
    this.stopTimer();
    if (this.countedUser !== undefined) this.ctx.userLogout(this.countedUser);
    this.countedUser = undefined;
  }
}
