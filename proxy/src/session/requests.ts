/**
 * The vocabulary of the reply ledger: what a request is (one value per frontend message), how the
 * server is processing its input, how a request ended, and the hook a request carries.
 */
/** What the client (or the proxy) asked; one value per frontend message type. */
export const enum Req {
  Parse,
  Bind,
  DescribeStatement,
  DescribePortal,
  Execute,
  Close,
  Sync,
  Flush,
  Query,
  FunctionCall,
  CopyData,
  CopyDone,
  CopyFail,
}

/** How the server is processing its input, as far as its replies tell. */
export const enum ServerMode {
  /** Between units: the last thing it sent was ReadyForQuery (or nothing yet). */
  Ready,
  /** Extended-protocol messages processed since the last Sync (an implicit transaction is open). */
  Batch,
  /** An extended-protocol message failed: input is discarded up to the next Sync. */
  Skip,
  /** A simple Query (or FunctionCall) is running; it ends with ReadyForQuery. */
  Query,
  CopyIn,
  CopyOut,
}

/** How a request ended. */
export const enum Outcome {
  Ok,
  /** It got an ErrorResponse, or the backend was lost before it was answered. */
  Failed,
  /** Discarded unread after an earlier error in its batch. */
  Skipped,
}

/** Bookkeeping attached to one request: told how it ended. */
export interface Hook {
  /** Replies to this request are the proxy's own (injected requests): not forwarded. */
  readonly injected: boolean;
  done?(outcome: Outcome): void;
  /** For an injected request: its ErrorResponse goes to the client (the client's next request would have failed). */
  readonly forwardErrors?: boolean;
  /** For an injected request: told the fields of its ErrorResponse. */
  onError?(fields: Record<string, string>): void;
  /** An ErrorResponse for this request, before forwarding (to translate backend names). */
  rewrite?: (fields: Record<string, string>) => Record<string, string>;
}

export const enum Match {
  /** The message answers a request of the client: forward it. */
  Client,
  /** It answers a request the proxy injected: drop it. */
  Injected,
  /** NoticeResponse, ParameterStatus, NotificationResponse: owe nothing. */
  Async,
  /** Nothing was asked that this can answer: the backend is out of step. */
  Unexpected,
}

const FRONTEND: Record<number, Req> = {
  0x50: Req.Parse,
  0x42: Req.Bind,
  0x45: Req.Execute,
  0x43: Req.Close,
  0x53: Req.Sync,
  0x48: Req.Flush,
  0x51: Req.Query,
  0x46: Req.FunctionCall,
  0x64: Req.CopyData,
  0x63: Req.CopyDone,
  0x66: Req.CopyFail,
};

/** The request a frontend message is, or undefined for types that are not requests (Describe: see `describeReq`). */
export function reqOf(type: number): Req | undefined {
  return FRONTEND[type];
}

export function describeReq(kind: number): Req {
  return kind === 0x53 ? Req.DescribeStatement : Req.DescribePortal;
}

export function isExtended(r: Req): boolean {
  return r <= Req.Close;
}

export function isCopy(r: Req): boolean {
  return r >= Req.CopyData;
}

/** Requests the server consumes without a reply in the given mode. */
export function silent(r: Req, mode: ServerMode): boolean {
  if (mode === ServerMode.Skip) return r !== Req.Sync;
  return r === Req.Flush || isCopy(r);
}
