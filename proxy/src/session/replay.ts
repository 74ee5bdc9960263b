/**
 * The one request the proxy runs again after its backend died: a lone BEGIN that was the unit's
 * only request and got no reply. Nothing of it can have lasted, so the client never sees the loss.
 */
import { serialize } from 'pg-protocol';
import { decodeFrontend, type FrontendMessage } from './frontend.js';
import { Req, ServerMode, type ReplyLedger } from './ledger.js';

/** How many backends one BEGIN may die on before the client gets the error. */
export const MAX_REPLAYS = 3;

/** BEGIN / START TRANSACTION with its modes, alone: replaying it cannot repeat any effect. */
const LONE_BEGIN = /^\s*(begin|start\s+transaction)\b[a-z\s,]*;?\s*$/i;

export function isLoneBegin(sql: string): boolean {
  return sql.length < 200 && LONE_BEGIN.test(sql);
}

/**
 * The dead backend owed only that request, had sent nothing of its reply (or only the FATAL of its
 * shutdown, which the client was not shown: `onlyShutdownSeen`), and held no transaction.
 */
export function onlyItUnanswered(ledger: ReplyLedger, onlyShutdownSeen = false): boolean {
  if (ledger.status !== 0x49) return false;
  if (ledger.mode !== ServerMode.Ready && !(onlyShutdownSeen && ledger.mode === ServerMode.Query)) return false;
  const out = ledger.outstanding();
  return out.length === 1 && out[0] === Req.Query;
}

/** The Query to queue again. */
export function queryMessage(sql: string): FrontendMessage {
  const q = serialize.query(sql);
  return decodeFrontend(q, 0, q.length);
}
