/**
 * Communications Mining failures, typed by what the caller should do about them
 * (docs/communications-mining.md#errors-retries-and-timeouts,
 * #batching-and-retries-in-the-official-cli). `cmErrorFromResponse` is the one place an HTTP status
 * becomes an error class, and `shouldRetry` the one place that decides whether trying again can help.
 * Retry intent is a type, never a regex over messages.
 */
import { BridgeError } from '../errors.ts';

/** Which client call failed, for messages and metrics. */
export type CmOperation = 'sync' | 'deleteComments' | 'getComment' | 'getSource';

/** Where a failed call was aimed; never holds the token. */
export interface CmCallContext {
  operation: CmOperation;
  project: string;
  source: string;
}

/** Every error a CM call can end with. `status` is the HTTP status, when CM (or a proxy) answered. */
export abstract class CmError extends BridgeError {
  /** The `message` of CM's `{"status":"error","message":…}` envelope, or a short body excerpt. */
  readonly cmMessage: string;

  constructor(
    readonly context: CmCallContext,
    readonly status: number | undefined,
    cmMessage: string,
    hint?: string,
    options?: { cause?: unknown },
  ) {
    const answered = status === undefined ? '' : ` answered ${status}`;
    super(
      `Communications Mining ${context.operation} ${context.project}/${context.source}${answered}: ${cmMessage}`,
      hint,
    );
    this.cmMessage = cmMessage;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/**
 * 401: the token is wrong, or was regenerated, which revokes the old one
 * (docs/communications-mining.md#authentication, #pitfall-12-one-api-token-per-user). 403: the token's
 * user lacks a permission. Terminal: retrying cannot help.
 */
export class CmAuthError extends CmError {
  readonly code = 'BRIDGE_ERR_SINK_AUTH';

  constructor(context: CmCallContext, status: 401 | 403, cmMessage: string) {
    super(
      context,
      status,
      cmMessage,
      status === 401
        ? 'check target.token; regenerating a CM API token revokes the previous one, so give the bridge a dedicated CM service user'
        : 'the CM user behind target.token needs "View sources" and "Edit messages" on the target project',
    );
  }
}

/** 404: the project or source does not exist (or the base URL lost its `/reinfer_` path, docs/communications-mining.md#pitfall-1-the-base-url-loses-its-tenant-path). */
export class CmNotFoundError extends CmError {
  readonly code = 'BRIDGE_ERR_SINK_NOT_FOUND';

  constructor(context: CmCallContext, cmMessage: string) {
    super(
      context,
      404,
      cmMessage,
      'check target.project and target.source exist in CM, and that target.url keeps its tenant path (…/<org>/<tenant>/reinfer_)',
    );
  }
}

/** 400/422: the request holds at least one invalid comment; one bad comment fails the batch (docs/communications-mining.md#pitfall-6-one-bad-comment-fails-the-batch). */
export class CmValidationError extends CmError {
  readonly code = 'BRIDGE_ERR_SINK_INVALID_COMMENTS';

  constructor(context: CmCallContext, status: number, cmMessage: string) {
    super(
      context,
      status,
      cmMessage,
      'the pusher splits the batch and dead-letters each comment CM rejects; fix the mapping that produced it',
    );
  }
}

/** 413: the request body is larger than CM (or a proxy in front of it) accepts. Split, don't retry. */
export class CmPayloadTooLargeError extends CmError {
  readonly code = 'BRIDGE_ERR_SINK_PAYLOAD_TOO_LARGE';

  constructor(context: CmCallContext, cmMessage: string) {
    super(context, 413, cmMessage, 'lower the sink batch byte limit');
  }
}

/** 409: a concurrent change to the same comments; the CLI retries it (docs/communications-mining.md#batching-and-retries-in-the-official-cli). */
export class CmConflictError extends CmError {
  readonly code = 'BRIDGE_ERR_SINK_CONFLICT';

  constructor(context: CmCallContext, cmMessage: string) {
    super(context, 409, cmMessage);
  }
}

/** 429: slow down. `retryAfterMs` is CM's `Retry-After`, when it sent one (seconds or HTTP-date). */
export class CmRateLimitError extends CmError {
  readonly code = 'BRIDGE_ERR_SINK_RATE_LIMITED';

  constructor(
    context: CmCallContext,
    cmMessage: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(
      context,
      429,
      cmMessage,
      'CM is rate limiting the bridge; it backs off and retries, fewer workers push less at once',
    );
  }
}

/** 5xx (and 408): CM or a proxy in front of it failed; transient. */
export class CmServerError extends CmError {
  readonly code = 'BRIDGE_ERR_SINK_UNAVAILABLE';
}

/** Any other status we have no better name for (405, 410…): a bug or an API change, not transient. */
export class CmUnexpectedStatusError extends CmError {
  readonly code = 'BRIDGE_ERR_SINK_UNEXPECTED_STATUS';
}

/** A 2xx whose body is not what the API documents (a proxy page, a truncated body). Retried, like the CLI does since v0.38.18. */
export class CmUnexpectedResponseError extends CmError {
  readonly code = 'BRIDGE_ERR_SINK_UNEXPECTED_RESPONSE';
}

/** No answer: refused, reset, DNS, TLS, or the socket closed before the response ended. */
export class CmConnectionError extends CmError {
  readonly code = 'BRIDGE_ERR_SINK_CONNECTION';

  constructor(context: CmCallContext, cause: unknown) {
    super(context, undefined, describeCause(cause), 'check target.url and the network path to CM', { cause });
  }
}

/** No answer within the client's `timeoutMs` (docs/communications-mining.md#errors-retries-and-timeouts: large batches are slow; the CLI allows 240 s). */
export class CmTimeoutError extends CmError {
  readonly code = 'BRIDGE_ERR_SINK_TIMEOUT';

  constructor(
    context: CmCallContext,
    readonly timeoutMs: number,
  ) {
    super(context, undefined, `no response within ${timeoutMs} ms`, 'raise the sink timeout or lower the batch size');
  }
}

/**
 * A retryable failure persisted through every attempt the pusher allows. Still retryable: the caller
 * (a queue job) should try again later, after `retryAfterMs` when CM named a wait.
 */
export class CmRetriesExhaustedError extends BridgeError {
  readonly code = 'BRIDGE_ERR_SINK_RETRIES_EXHAUSTED';

  constructor(
    readonly lastError: CmError,
    readonly attempts: number,
  ) {
    super(`${lastError.message} (gave up after ${attempts} attempt${attempts === 1 ? '' : 's'})`, lastError.hint);
    this.cause = lastError;
  }

  /** How long CM asked us to wait, when the last failure was a 429 with `Retry-After`. */
  get retryAfterMs(): number | undefined {
    return this.lastError instanceof CmRateLimitError ? this.lastError.retryAfterMs : undefined;
  }
}

/**
 * Whether trying the same request again later can succeed: 429, 409, 5xx, timeouts and lost connections
 * yes; 400/401/403/404/413/422 no (docs/communications-mining.md#errors-retries-and-timeouts,
 * #batching-and-retries-in-the-official-cli, #pitfall-6-one-bad-comment-fails-the-batch).
 */
export function shouldRetry(error: unknown): boolean {
  return (
    error instanceof CmRateLimitError ||
    error instanceof CmConflictError ||
    error instanceof CmServerError ||
    error instanceof CmConnectionError ||
    error instanceof CmTimeoutError ||
    error instanceof CmUnexpectedResponseError ||
    error instanceof CmRetriesExhaustedError
  );
}

/** Whether smaller requests can get part of a batch through: one bad comment fails the whole batch (docs/communications-mining.md#pitfall-6-one-bad-comment-fails-the-batch). */
export function shouldSplit(error: unknown): error is CmValidationError | CmPayloadTooLargeError {
  return error instanceof CmValidationError || error instanceof CmPayloadTooLargeError;
}

export interface CmErrorResponse {
  status: number;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
  headers: Headers;
}

/** Maps a non-2xx answer to its typed error. `now` is for `Retry-After` HTTP-dates. */
export function cmErrorFromResponse(
  context: CmCallContext,
  response: CmErrorResponse,
  now: number = Date.now(),
): CmError {
  const message = errorMessageOf(response.body, response.status);
  const { status } = response;
  switch (status) {
    case 400:
    case 422:
      return new CmValidationError(context, status, message);
    case 401:
    case 403:
      return new CmAuthError(context, status, message);
    case 404:
      return new CmNotFoundError(context, message);
    case 409:
      return new CmConflictError(context, message);
    case 413:
      return new CmPayloadTooLargeError(context, message);
    case 429:
      return new CmRateLimitError(context, message, retryAfterMs(response.headers, now));
    case 408:
      return new CmServerError(context, status, message);
    default:
      return status >= 500
        ? new CmServerError(context, status, message)
        : new CmUnexpectedStatusError(context, status, message);
  }
}

/** Bodies from proxies can be whole HTML pages; keep errors and logs readable. */
const MAX_MESSAGE_CHARS = 500;

/** CM's envelope `message`; otherwise a short excerpt of whatever came back (docs/communications-mining.md#response-envelope: proxies differ). */
export function errorMessageOf(body: unknown, status: number): string {
  if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') {
    return truncate(body.message);
  }
  if (typeof body === 'string' && body.trim() !== '') return truncate(body.trim());
  return `HTTP ${status} with no error message`;
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}

/**
 * `Retry-After` as milliseconds from `now`: delta-seconds (`"2"`) or an HTTP-date. A date in the past
 * is 0. `retry-after-ms`, when present, wins (it is more precise). Undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const precise = headers.get('retry-after-ms');
  if (precise !== null && /^\s*\d+(\.\d+)?\s*$/.test(precise)) return Math.ceil(Number(precise));
  const value = headers.get('retry-after')?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** `ECONNRESET: other side closed`, without the generic "fetch failed" wrapper undici adds. */
function describeCause(cause: unknown): string {
  const inner = cause instanceof Error && cause.cause instanceof Error ? cause.cause : cause;
  if (inner instanceof Error) {
    const code = 'code' in inner && typeof inner.code === 'string' ? `${inner.code}: ` : '';
    return `${code}${inner.message}`;
  }
  return String(inner);
}
