/**
 * Whether a backend's replies may reach the client without the session seeing each one (the
 * native core's pass-through, client/reply-pass.ts): while the only request outstanding is a
 * client's simple Query, RowDescription, DataRow, EmptyQueryResponse and the asynchronous messages
 * change nothing in the session, nor CommandComplete unless SETs are tracked (its tag then
 * matters). ReadyForQuery ends a pass, its status told to the session (`onServerPassed`).
 */
export const enum ReplyPass {
  /** The session must see every reply. */
  None = -1,
  All = 0,
  /** SETs are tracked: CommandComplete tags go to the session. */
  NoTags = 1,
}
