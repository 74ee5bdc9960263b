/**
 * One place that turns whatever the Kubernetes client threw into a kind the callers branch on.
 * Sources it understands: client-node's ApiException (`code`, `body` as a JSON string or an object),
 * the Watch's HTTP error (`statusCode`), a `Status` object (a watch ERROR event), a `WatchStatusError`
 * from this package, and anything else (sockets, TLS, DNS) which is Transient: retry with backoff.
 */
export type ApiErrorKind = 'NotFound' | 'Conflict' | 'Invalid' | 'Forbidden' | 'Gone' | 'Transient';

export interface ClassifiedError {
  kind: ApiErrorKind;
  status?: number;
  message: string;
}

/** Thrown by the informer when a watch stream delivers an ERROR event (its object is a Status). */
export class WatchStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'WatchStatusError';
  }
}

export function kindForStatus(status: number | undefined): ApiErrorKind {
  switch (status) {
    case 404:
      return 'NotFound';
    case 409:
      return 'Conflict';
    case 400:
    case 422:
      return 'Invalid';
    case 401:
    case 403:
      return 'Forbidden';
    case 410:
      return 'Gone';
    default:
      // 429, 5xx, timeouts and no status at all: the request may succeed later.
      return 'Transient';
  }
}

interface StatusLike {
  kind?: unknown;
  code?: unknown;
  message?: unknown;
  reason?: unknown;
}

/** ApiException.body is the raw JSON text of a `Status` in client-node 1.x; older paths give objects. */
function parseStatusBody(body: unknown): StatusLike | undefined {
  if (typeof body === 'string') {
    try {
      const parsed: unknown = JSON.parse(body);
      return typeof parsed === 'object' && parsed !== null ? (parsed as StatusLike) : { message: body };
    } catch {
      return body.trim() === '' ? undefined : { message: body.slice(0, 500) };
    }
  }
  return typeof body === 'object' && body !== null ? (body as StatusLike) : undefined;
}

function numberField(o: object, key: string): number | undefined {
  const v = (o as Record<string, unknown>)[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

export function classifyApiError(err: unknown): ClassifiedError {
  if (typeof err !== 'object' || err === null) return { kind: 'Transient', message: messageOf(err) };
  if (err instanceof WatchStatusError) return { kind: kindForStatus(err.status), status: err.status, message: err.message };
  // A bare Status object (e.g. the object of a watch ERROR event).
  if ((err as StatusLike).kind === 'Status') {
    const s = err as StatusLike;
    const status = typeof s.code === 'number' ? s.code : undefined;
    return { kind: kindForStatus(status), ...(status !== undefined && { status }), message: String(s.message ?? s.reason ?? 'Status') };
  }
  const status = numberField(err, 'code') ?? numberField(err, 'statusCode');
  if (status === undefined) return { kind: 'Transient', message: messageOf(err) };
  const body = parseStatusBody((err as { body?: unknown }).body);
  const message =
    typeof body?.message === 'string' && body.message !== ''
      ? body.message
      : `HTTP ${status}${err instanceof Error && err.message && !err.message.startsWith('HTTP-Code') ? `: ${err.message}` : ''}`;
  return { kind: kindForStatus(status), status, message };
}
