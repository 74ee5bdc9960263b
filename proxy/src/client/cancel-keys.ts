/** The cancel keys given to clients (BackendKeyData), and a client's CancelRequest forwarded to the server running its request. */
import { randomInt } from 'node:crypto';
import net from 'node:net';
import type { Logger } from 'pino';
import { serialize } from 'pg-protocol';
import type { CancelTarget } from './context.js';

export class CancelKeys {
  private readonly byProcessId = new Map<number, { session: CancelTarget; secretKey: number }>();
  private nextProcessId = randomInt(1_000, 1_000_000);

  constructor(private readonly log: Logger) {}

  register(session: CancelTarget): { processId: number; secretKey: number } {
    const processId = this.nextProcessId++;
    if (this.nextProcessId > 2_000_000_000) this.nextProcessId = 1_000;
    const secretKey = randomInt(-2_147_483_648, 2_147_483_647);
    this.byProcessId.set(processId, { session, secretKey });
    return { processId, secretKey };
  }

  unregister(processId: number): void {
    this.byProcessId.delete(processId);
  }

  /**
   * A CancelRequest: forwarded only while that client's own request runs on its backend, and the
   * backend does not change hands until the server has taken the cancel (PROTOCOL.md: a cancel
   * interrupts whatever runs when it arrives).
   */
  cancel(processId: number, secretKey: number): void {
    const entry = this.byProcessId.get(processId);
    if (!entry || entry.secretKey !== secretKey) return;
    const backend = entry.session.cancelTarget();
    if (!backend) return;
    backend.cancels++;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      backend.cancels--;
      backend.owner?.onCancelDone?.(backend);
    };
    const socket = net.connect({ host: backend.target.host, port: backend.target.port });
    socket.on('connect', () => socket.end(serialize.cancel(backend.processId, backend.secretKey)));
    socket.on('error', (err) => this.log.warn({ err: err.message }, 'could not forward a cancel request'));
    socket.on('close', finish);
    socket.setTimeout(5_000, () => socket.destroy());
  }
}
