/**
 * The native core's pass masks for the session's ReplyPass modes (session/reply-pass.ts): which
 * server message types it forwards to the client unseen, and ReadyForQuery as the last one. Errors,
 * COPY and replies to any other request always go to the session.
 */
import { BackendCode } from '../protocol/messages.js';
import { definePassMask } from '../io/native-conn.js';
import { ReplyPass } from '../session/reply-pass.js';

const FORWARD = 1;
const LAST = 2;

function mask(tags: boolean): Uint8Array {
  const m = new Uint8Array(256);
  for (const t of [
    BackendCode.RowDescription,
    BackendCode.DataRow,
    BackendCode.EmptyQueryResponse,
    BackendCode.NoticeResponse,
    BackendCode.ParameterStatus,
    BackendCode.NotificationResponse,
  ])
    m[t] = FORWARD;
  if (tags) m[BackendCode.CommandComplete] = FORWARD;
  m[BackendCode.ReadyForQuery] = LAST;
  return m;
}

let defined: boolean | undefined;

/** The core knows the masks (each ReplyPass mode is its mask's index): set once, at the first pass. */
export function passMasksReady(): boolean {
  defined ??= definePassMask(ReplyPass.All, mask(true)) && definePassMask(ReplyPass.NoTags, mask(false));
  return defined;
}
