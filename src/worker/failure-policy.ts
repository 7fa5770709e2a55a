/**
 * The one place that decides what a failed change batch means (docs/errors.md lists every error code
 * with its reaction; a test keeps the two in step):
 *
 * - `retry`: transient; BullMQ tries again with exponential backoff, spending an attempt. When the
 *   last attempt fails too, the changes are dead-lettered: never dropped.
 * - `wait`: the failure names its own wait (API allocation used up, CM's `Retry-After`, a shutdown):
 *   the jobs are parked that long without spending an attempt.
 * - `dead-letter`: no retry can succeed (a query Salesforce calls a bug, a request CM refuses as
 *   such): dead-lettered at once with the reason (BullMQ `UnrecoverableError`). Malformed changes
 *   never get this far: the worker dead-letters them as it reads the job (change-reader.ts).
 * - `pause-salesforce`: the integration has no usable Salesforce session; jobs park until an admin
 *   authorises it again.
 * - `pause-target`: Communications Mining refuses the bridge's credentials or does not know the
 *   source; the integration's pushes pause until a probe of the source succeeds again.
 *
 * Pure: no I/O, no clock. The change worker applies the reaction.
 */
import { BridgeError } from '../errors.ts';
import { SalesforceApiError } from '../salesforce/rest-client.ts';
import { CmRetriesExhaustedError } from '../sink/errors.ts';

export type ReactionKind = 'retry' | 'wait' | 'dead-letter' | 'pause-salesforce' | 'pause-target';

export type FailureReaction =
  | { kind: 'retry'; reason: string }
  | { kind: 'wait'; delayMs: number; reason: string }
  | { kind: 'dead-letter'; reason: string }
  | { kind: 'pause-salesforce'; reason: string }
  | { kind: 'pause-target'; reason: string };

/** How long the jobs wait when Salesforce says the org's daily API allocation is used up. */
export const API_LIMIT_WAIT_MS = 5 * 60_000;

/** What the target's refusal is called on the status page, the admin API and in logs. */
export const TARGET_REFUSED = "target refused the bridge's credentials";

/**
 * The reaction to every error code a change batch can end with, by code. `depends` means the error
 * carries more detail that decides (see `reactionTo`). Codes of the other roles (config, CLI,
 * CometD streaming) never reach the worker; docs/errors.md lists their reactions too.
 */
export const WORKER_REACTIONS = {
  BRIDGE_ERR_WORKER_CLOSING: 'wait',
  BRIDGE_ERR_NOT_AUTHORIZED: 'pause-salesforce',
  BRIDGE_ERR_TOKENS_UNREADABLE: 'pause-salesforce',
  BRIDGE_ERR_SALESFORCE_OAUTH: 'retry',
  BRIDGE_ERR_SALESFORCE_UNAVAILABLE: 'retry',
  BRIDGE_ERR_SALESFORCE_API: 'depends',
  BRIDGE_ERR_SINK_AUTH: 'pause-target',
  BRIDGE_ERR_SINK_NOT_FOUND: 'pause-target',
  BRIDGE_ERR_SINK_INVALID_COMMENTS: 'dead-letter',
  BRIDGE_ERR_SINK_PAYLOAD_TOO_LARGE: 'dead-letter',
  BRIDGE_ERR_SINK_UNEXPECTED_STATUS: 'dead-letter',
  BRIDGE_ERR_SINK_CONFLICT: 'retry',
  BRIDGE_ERR_SINK_RATE_LIMITED: 'retry',
  BRIDGE_ERR_SINK_UNAVAILABLE: 'retry',
  BRIDGE_ERR_SINK_UNEXPECTED_RESPONSE: 'retry',
  BRIDGE_ERR_SINK_CONNECTION: 'retry',
  BRIDGE_ERR_SINK_TIMEOUT: 'retry',
  BRIDGE_ERR_SINK_RETRIES_EXHAUSTED: 'depends',
} as const satisfies Record<string, ReactionKind | 'depends'>;

/** Salesforce REST error codes that a later try can get past (docs/errors.md, "Salesforce REST"). */
const TRANSIENT_SALESFORCE_CODES = new Set([
  'QUERY_TIMEOUT',
  'INVALID_QUERY_LOCATOR',
  'UNABLE_TO_LOCK_ROW',
  'SERVER_UNAVAILABLE',
]);

/** What to do about `error`, thrown while processing a change batch. */
export function reactionTo(error: unknown): FailureReaction {
  const reason = describe(error);
  if (error instanceof SalesforceApiError) return salesforceReaction(error, reason);
  if (error instanceof CmRetriesExhaustedError) {
    const wait = error.retryAfterMs;
    return wait === undefined ? { kind: 'retry', reason } : { kind: 'wait', delayMs: wait, reason };
  }
  const code = error instanceof BridgeError ? error.code : undefined;
  const kind: ReactionKind | 'depends' =
    code !== undefined && code in WORKER_REACTIONS ? WORKER_REACTIONS[code as keyof typeof WORKER_REACTIONS] : 'retry';
  switch (kind) {
    case 'wait':
      return { kind: 'wait', delayMs: 0, reason };
    case 'pause-target':
      return { kind: 'pause-target', reason: `${TARGET_REFUSED}: ${reason}` };
    case 'dead-letter':
    case 'pause-salesforce':
      return { kind, reason };
    default:
      // Unknown errors (a bug, a bad answer nobody typed) are retried: the attempts are bounded, and
      // the last failure dead-letters the changes, so nothing is retried forever or lost.
      return { kind: 'retry', reason };
  }
}

function salesforceReaction(error: SalesforceApiError, reason: string): FailureReaction {
  if (error.isLimitExceeded) return { kind: 'wait', delayMs: API_LIMIT_WAIT_MS, reason };
  // 401 after the client's own refresh-and-retry, 420 (edge routing), and the codes Salesforce
  // documents as "run it again" are transient; any other 4xx is a query Salesforce will refuse
  // however often it is sent.
  if (
    error.status === 401 ||
    error.status === 420 ||
    error.status >= 500 ||
    TRANSIENT_SALESFORCE_CODES.has(error.errorCode)
  ) {
    return { kind: 'retry', reason };
  }
  return { kind: 'dead-letter', reason };
}

/** The error's message and hint: what an admin reads in the dead-letter list. */
function describe(error: unknown): string {
  if (error instanceof BridgeError) return error.hint ? `${error.message} (${error.hint})` : error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
