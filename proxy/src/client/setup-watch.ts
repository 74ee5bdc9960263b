/**
 * A client connection's way to being ready for queries: the startup and authentication timers
 * (limits.*), its place in the per-user count, and the one count of why its setup failed. A base
 * class rather than an object of its own, so an idle session costs no extra allocation.
 */
import type { ErrorInfo } from '../protocol/messages.js';
import type { SessionContext } from './context.js';
import type { LimitReason } from './limits.js';
import type { SetupFailure } from './setup-failure.js';

export abstract class SetupWatch {
  abstract readonly ctx: SessionContext;
  /** limits.startupTimeout, then limits.authenticationTimeout; cleared once authenticated or closed. */
  private setupTimer: NodeJS.Timeout | undefined;
  /** Welcomed, or its refusal counted: a connection's setup outcome is counted once. */
  private setupOver = false;
  /** The user this connection is counted for (limits.maxClientConnectionsPerUser), until it closes. */
  private countedUser: string | undefined;

  /** A stage's timer fired. */
  protected abstract onSetupTimeout(reason: LimitReason): void;

  /** One timer per connection for the stage it is in; a new stage replaces it. */
  protected armSetupTimer(reason: LimitReason, ms: number): void {
    clearTimeout(this.setupTimer);
    this.setupTimer = setTimeout(() => {
      this.setupTimer = undefined;
      this.onSetupTimeout(reason);
    }, ms);
    this.setupTimer.unref();
  }

  private stopSetupTimer(): void {
    clearTimeout(this.setupTimer);
    this.setupTimer = undefined;
  }

  /**
   * Counts `user`'s connection, as PostgreSQL counts a role's: after authentication, so strangers
   * cannot use up a user's share. Past the user's limit: the refusal, and nothing counted.
   */
  protected countLogin(user: string): ErrorInfo | undefined {
    this.stopSetupTimer();
    const refused = this.ctx.userLogin(user);
    if (refused === undefined) this.countedUser = user;
    return refused;
  }

  /** The connection is welcomed: a later failure is not a setup failure. */
  protected setupSucceeded(): void {
    this.setupOver = true;
  }

  /** Counts why this connection was refused, if it was not welcomed yet (and only once). */
  setupFailed(reason: SetupFailure): void {
    if (this.setupOver) return;
    this.setupOver = true;
    this.ctx.onSetupFailure(reason);
  }

  /** The connection closes: no timer left, its user's count given back (once). */
  protected setupClosed(): void {
    this.stopSetupTimer();
    if (this.countedUser !== undefined) this.ctx.userLogout(this.countedUser);
    this.countedUser = undefined;
  }
}
