/** The session machine's effects (SessionIO), carried out on one client session. */
import type { BackendConnection } from '../backend/connection.js';
import type { ErrorInfo } from '../protocol/messages.js';
import type { SessionIO } from '../session/machine.js';
import type { ClientSession } from './session.js';

/** The machine's effects, carried out on one session (methods, not per-session closures). */
export class Effects implements SessionIO<BackendConnection> {
  constructor(private readonly s: ClientSession) {}

  toClient(bytes: Buffer): void {
    this.s.side.toClient(bytes);
  }

  toBackend(backend: BackendConnection, bytes: Buffer): void {
    this.s.flow.toBackend(backend, bytes);
  }

  borrow(): void {
    this.s.handle!.pool.acquire(this.s.side);
  }

  cancelBorrow(): void {
    this.s.handle!.pool.cancel(this.s.side);
  }

  release(b: BackendConnection): void {
    this.s.side.later(() => this.s.side.giveBack(b, undefined));
  }

  discard(b: BackendConnection, reason: string): void {
    this.s.side.later(() => this.s.side.giveBack(b, reason));
  }

  welcome(server: ReadonlyMap<string, string>): void {
    this.s.welcome(server);
  }

  end(fatal?: ErrorInfo): void {
    this.s.side.later(() => this.s.closeSocket(fatal));
  }

  pinned(reason: string, rule: string): void {
    this.s.ctx.onPin(reason, rule, this.s.handle);
    this.s.ctx.log.info({ client: this.s.remoteAddress, user: this.s.user, reason, rule }, 'session pinned');
  }

  warn(fields: Record<string, unknown>, message: string): void {
    this.s.ctx.log.warn({ client: this.s.remoteAddress, ...fields }, message);
  }

  serverReadOnly(): void {
    if (this.s.handle) this.s.ctx.onServerReadOnly(this.s.handle.endpoint);
  }
}
