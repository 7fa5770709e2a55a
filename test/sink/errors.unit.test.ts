/** The HTTP status → typed error mapping and the retry decision (docs/communications-mining.md#errors-retries-and-timeouts, #batching-and-retries-in-the-official-cli). */
import { describe, expect, it } from 'vitest';
import { BridgeError } from '../../src/errors.ts';
import {
  CmAuthError,
  CmConflictError,
  CmConnectionError,
  CmNotFoundError,
  CmPayloadTooLargeError,
  CmRateLimitError,
  CmRetriesExhaustedError,
  CmServerError,
  CmTimeoutError,
  CmUnexpectedResponseError,
  CmUnexpectedStatusError,
  CmValidationError,
  cmErrorFromResponse,
  retryAfterMs,
  shouldRetry,
  shouldSplit,
  type CmCallContext,
} from '../../src/sink/errors.ts';

const context: CmCallContext = { operation: 'sync', project: 'acme', source: 'emails' };
const envelope = (message: string) => ({ status: 'error', message });

function fromStatus(status: number, headers: Record<string, string> = {}, body: unknown = envelope(`${status} msg`)) {
  return cmErrorFromResponse(
    context,
    { status, body, headers: new Headers(headers) },
    Date.parse('2026-01-01T00:00:00Z'),
  );
}

describe('cmErrorFromResponse', () => {
  it.each([
    [400, CmValidationError, 'BRIDGE_ERR_SINK_INVALID_COMMENTS', false],
    [422, CmValidationError, 'BRIDGE_ERR_SINK_INVALID_COMMENTS', false],
    [401, CmAuthError, 'BRIDGE_ERR_SINK_AUTH', false],
    [403, CmAuthError, 'BRIDGE_ERR_SINK_AUTH', false],
    [404, CmNotFoundError, 'BRIDGE_ERR_SINK_NOT_FOUND', false],
    [405, CmUnexpectedStatusError, 'BRIDGE_ERR_SINK_UNEXPECTED_STATUS', false],
    [408, CmServerError, 'BRIDGE_ERR_SINK_UNAVAILABLE', true],
    [409, CmConflictError, 'BRIDGE_ERR_SINK_CONFLICT', true],
    [413, CmPayloadTooLargeError, 'BRIDGE_ERR_SINK_PAYLOAD_TOO_LARGE', false],
    [429, CmRateLimitError, 'BRIDGE_ERR_SINK_RATE_LIMITED', true],
    [500, CmServerError, 'BRIDGE_ERR_SINK_UNAVAILABLE', true],
    [502, CmServerError, 'BRIDGE_ERR_SINK_UNAVAILABLE', true],
    [503, CmServerError, 'BRIDGE_ERR_SINK_UNAVAILABLE', true],
  ])('%i maps to its typed error, stable code and retry decision', (status, type, code, retry) => {
    const error = fromStatus(status);
    expect(error).toBeInstanceOf(type);
    expect(error).toBeInstanceOf(BridgeError);
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(shouldRetry(error)).toBe(retry);
  });

  it('carries CM’s envelope message and says which call failed', () => {
    const error = fromStatus(422, {}, envelope('comments[3].timestamp: must be an RFC 3339 date-time'));
    expect(error.cmMessage).toBe('comments[3].timestamp: must be an RFC 3339 date-time');
    expect(error.message).toBe(
      'Communications Mining sync acme/emails answered 422: comments[3].timestamp: must be an RFC 3339 date-time',
    );
  });

  it('a non-envelope body (proxy HTML page) becomes a short excerpt', () => {
    const error = fromStatus(502, {}, `<html>${'x'.repeat(2000)}</html>`);
    expect(error.cmMessage.length).toBeLessThanOrEqual(501);
    expect(fromStatus(503, {}, '').cmMessage).toBe('HTTP 503 with no error message');
  });

  it('401 hints at a dedicated service user: regenerating a token revokes the old one', () => {
    expect(fromStatus(401).hint).toMatch(/dedicated CM service user/);
  });

  it('404 hints at the tenant path', () => {
    expect(fromStatus(404).hint).toMatch(/reinfer_/);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads delta-seconds', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    const limited = fromStatus(429, { 'retry-after': '3' });
    expect(limited instanceof CmRateLimitError && limited.retryAfterMs).toBe(3000);
  });
  it('reads an HTTP-date relative to now; a past date means no wait', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now)).toBe(5000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }), now)).toBe(0);
  });
  it('prefers retry-after-ms, ignores garbage and absence', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
  });
});

describe('shouldRetry / shouldSplit', () => {
  it('retries lost connections, timeouts, bad 2xx bodies and exhausted retries; never plain errors', () => {
    const connection = new CmConnectionError(
      context,
      new TypeError('fetch failed', {
        cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
      }),
    );
    expect(connection.cmMessage).toBe('UND_ERR_SOCKET: other side closed');
    expect(shouldRetry(connection)).toBe(true);
    expect(shouldRetry(new CmTimeoutError(context, 100))).toBe(true);
    expect(shouldRetry(new CmUnexpectedResponseError(context, 200, 'bad body'))).toBe(true);
    expect(shouldRetry(new CmRetriesExhaustedError(new CmServerError(context, 503, 'down'), 4))).toBe(true);
    expect(shouldRetry(new Error('bug'))).toBe(false);
    expect(shouldRetry(undefined)).toBe(false);
  });

  it('splits only what smaller requests can fix: 400, 422, 413', () => {
    expect(shouldSplit(fromStatus(400))).toBe(true);
    expect(shouldSplit(fromStatus(422))).toBe(true);
    expect(shouldSplit(fromStatus(413))).toBe(true);
    expect(shouldSplit(fromStatus(401))).toBe(false);
    expect(shouldSplit(fromStatus(503))).toBe(false);
  });

  it('an exhausted rate limit still tells the caller how long CM asked to wait', () => {
    const exhausted = new CmRetriesExhaustedError(new CmRateLimitError(context, 'slow down', 120_000), 1);
    expect(exhausted.retryAfterMs).toBe(120_000);
    expect(exhausted.code).toBe('BRIDGE_ERR_SINK_RETRIES_EXHAUSTED');
    expect(exhausted.message).toMatch(/gave up after 1 attempt\)$/);
  });
});
