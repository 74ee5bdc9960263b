/** What an authenticated client's startup parameters allow: its session machine, or PostgreSQL's refusal. */
import type { BackendConnection } from '../backend/connection.js';
import type { ErrorInfo } from '../protocol/messages.js';
import { SessionMachine, type SessionIO } from '../session/machine.js';
import { StartupOptionsError } from '../session/params.js';
import type { SessionContext } from './context.js';

const SCS_REQUIRED = 'the proxy requires standard_conforming_strings = on (the PostgreSQL default); connect without setting it off';

/** The machine for `params`, or the FATAL 0A000 for startup options the proxy cannot serve. */
export function openMachine(
  params: ReadonlyMap<string, string>,
  ctx: SessionContext,
  io: SessionIO<BackendConnection>,
  firstOfPool: boolean,
): SessionMachine<BackendConnection> | ErrorInfo {
  let machine: SessionMachine<BackendConnection>;
  try {
    machine = new SessionMachine(params, ctx, io, firstOfPool);
  } catch (err) {
    if (err instanceof StartupOptionsError) return { severity: 'FATAL', code: '0A000', message: err.message };
    throw err;
  }
  const scs = machine.settings.settings.get('standard_conforming_strings');
  // The pinning classifier reads literals as the server does with it on (the default since 9.1).
  if (scs !== undefined && !/^'(on|true|yes|1)'$/i.test(scs)) return { severity: 'FATAL', code: '0A000', message: SCS_REQUIRED };
  return machine;
}
