import { describe, expect, it } from 'vitest';
import { NotAuthorizedError, SalesforceOAuthError, SalesforceUnavailableError } from '../../src/salesforce/errors.ts';
import { SalesforceApiError } from '../../src/salesforce/rest-client.ts';
import { TokenDecryptionError } from '../../src/auth/token-cipher.ts';
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
  type CmCallContext,
} from '../../src/sink/errors.ts';
import { WorkerClosingError } from '../../src/worker/errors.ts';
import {
  API_LIMIT_WAIT_MS,
  reactionTo,
  TARGET_REFUSED,
  WORKER_REACTIONS,
  type FailureReaction,
} from '../../src/worker/failure-policy.ts';

const cm: CmCallContext = { operation: 'sync', project: 'acme', source: 'emails' };
const sf = (status: number, errorCode: string) => new SalesforceApiError(status, errorCode, 'message');

describe('failure policy: one reaction per failure', () => {
  const table: Array<[string, unknown, FailureReaction['kind'], number?]> = [
    ['worker closing', new WorkerClosingError(), 'wait', 0],
    ['Salesforce needs re-authorisation', new NotAuthorizedError('acme/emails', 'needs_reauth'), 'pause-salesforce'],
    ['Salesforce never authorised', new NotAuthorizedError('acme/emails', 'unauthorized'), 'pause-salesforce'],
    ['tokens unreadable (encryption key changed)', new TokenDecryptionError('cannot decrypt'), 'pause-salesforce'],
    ['Salesforce OAuth endpoint error', new SalesforceOAuthError('server_error', 'busy', 500), 'retry'],
    ['Salesforce unreachable or 5xx', new SalesforceUnavailableError('HTTP 503'), 'retry'],
    ['Salesforce daily API limit', sf(403, 'REQUEST_LIMIT_EXCEEDED'), 'wait', API_LIMIT_WAIT_MS],
    ['Salesforce 401 after the refresh', sf(401, 'INVALID_SESSION_ID'), 'retry'],
    ['Salesforce QUERY_TIMEOUT', sf(400, 'QUERY_TIMEOUT'), 'retry'],
    ['Salesforce INVALID_QUERY_LOCATOR', sf(400, 'INVALID_QUERY_LOCATOR'), 'retry'],
    ['Salesforce 420 (edge routing)', sf(420, 'HTTP_420'), 'retry'],
    ['Salesforce MALFORMED_QUERY', sf(400, 'MALFORMED_QUERY'), 'dead-letter'],
    ['Salesforce INVALID_TYPE', sf(400, 'INVALID_TYPE'), 'dead-letter'],
    ['Salesforce 414 URI too long', sf(414, 'HTTP_414'), 'dead-letter'],
    ['CM 401', new CmAuthError(cm, 401, 'bad token'), 'pause-target'],
    ['CM 403', new CmAuthError(cm, 403, 'forbidden'), 'pause-target'],
    ['CM 404 on the source', new CmNotFoundError(cm, 'no such source'), 'pause-target'],
    ['CM 400/422 escaping the bisection', new CmValidationError(cm, 400, 'bad ids'), 'dead-letter'],
    ['CM 413', new CmPayloadTooLargeError(cm, 'too large'), 'dead-letter'],
    ['CM 405/410', new CmUnexpectedStatusError(cm, 410, 'gone'), 'dead-letter'],
    ['CM 409', new CmConflictError(cm, 'conflict'), 'retry'],
    ['CM 5xx', new CmServerError(cm, 503, 'down'), 'retry'],
    ['CM 429 without Retry-After', new CmRateLimitError(cm, 'slow down', undefined), 'retry'],
    ['CM timeout', new CmTimeoutError(cm, 240_000), 'retry'],
    ['CM connection lost', new CmConnectionError(cm, new Error('ECONNRESET')), 'retry'],
    ['CM 2xx with a body not as documented', new CmUnexpectedResponseError(cm, 200, 'html'), 'retry'],
    ['CM retries exhausted on 5xx', new CmRetriesExhaustedError(new CmServerError(cm, 503, 'down'), 4), 'retry'],
    [
      'CM retries exhausted on a long Retry-After',
      new CmRetriesExhaustedError(new CmRateLimitError(cm, 'later', 120_000), 1),
      'wait',
      120_000,
    ],
    ['an unknown error (a bug)', new TypeError('x is undefined'), 'retry'],
    ['a thrown non-error', 'boom', 'retry'],
  ];

  it.each(table)('%s', (_name, error, kind, delayMs) => {
    const reaction = reactionTo(error);
    expect(reaction.kind).toBe(kind);
    if (delayMs !== undefined) expect(reaction).toMatchObject({ delayMs });
    expect(reaction.reason.length).toBeGreaterThan(0);
  });

  it('the target pause names the refusal and what CM said, never the token', () => {
    const reaction = reactionTo(new CmAuthError(cm, 401, 'Invalid API token'));
    expect(reaction.reason).toContain(TARGET_REFUSED);
    expect(reaction.reason).toContain('answered 401: Invalid API token');
  });

  it('every worker-facing code of the catalogue is in the table above', () => {
    const covered = new Set(
      table.flatMap(([, error]) => (error instanceof Error && 'code' in error ? [String(error.code)] : [])),
    );
    expect([...covered].sort()).toEqual(Object.keys(WORKER_REACTIONS).sort());
  });
});
