/**
 * Retrying one CM request: 429 waits for `Retry-After`; 5xx, 409, timeouts and lost connections back
 * off exponentially with full jitter under a ceiling
 * (docs/communications-mining.md#errors-retries-and-timeouts,
 * #batching-and-retries-in-the-official-cli). Attempts are bounded; then the failure surfaces as
 * `CmRetriesExhaustedError`, still retryable, so the queue job tries again later instead of a worker
 * looping forever.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { CmError, CmRateLimitError, CmRetriesExhaustedError, shouldRetry, type CmOperation } from './errors.ts';
import type { SinkMetrics } from './metrics.ts';

export interface RetryPolicy {
  /** Tries per request, the first included. @defaultValue 4 (the CLI: 1 + 3 retries, docs/communications-mining.md#batching-and-retries-in-the-official-cli) */
  maxAttempts: number;
  /** Backoff before retry n is drawn from [0, min(maxDelayMs, baseDelayMs·2^(n-1))). @defaultValue 5000 (CLI `base_wait`) @unit milliseconds */
  baseDelayMs: number;
  /** Ceiling of one backoff delay. @defaultValue 60 000 @unit milliseconds */
  maxDelayMs: number;
  /**
   * Longest `Retry-After` waited for in-process. A longer one surfaces at once (as
   * `CmRetriesExhaustedError` with `retryAfterMs`) so the queue delays the job and frees the worker.
   * @defaultValue 60 000 @unit milliseconds
   */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 4,
  baseDelayMs: 5_000,
  maxDelayMs: 60_000,
  maxRetryAfterMs: 60_000,
});

/** Time and chance, injectable so tests neither sleep nor depend on luck. */
export interface RetryClock {
  /** Resolves after `ms`; rejects with the signal's reason when it aborts. @defaultValue node:timers/promises setTimeout */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Uniform in [0, 1). @defaultValue Math.random */
  random(): number;
}

export const SYSTEM_RETRY_CLOCK: RetryClock = {
  sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : undefined),
  random: Math.random,
};

/** Full jitter ("Exponential Backoff And Jitter", AWS): spreads retries of many workers apart. */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

export interface RetryContext {
  operation: CmOperation;
  policy: RetryPolicy;
  clock: RetryClock;
  metrics?: SinkMetrics | undefined;
  signal?: AbortSignal | undefined;
  /** Called before each wait, e.g. to log it. */
  onRetry?: ((error: CmError, attempt: number, delayMs: number) => void) | undefined;
}

/** Runs `request` until it succeeds, fails terminally (rethrown as-is), or runs out of attempts. */
export async function withRetries<T>(request: () => Promise<T>, context: RetryContext): Promise<T> {
  const { policy, clock } = context;
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      if (!(error instanceof CmError) || !shouldRetry(error)) throw error;
      const wait = waitBeforeRetry(error, attempt, policy, () => clock.random());
      if (attempt >= policy.maxAttempts || wait === undefined) throw new CmRetriesExhaustedError(error, attempt);
      context.metrics?.onRetry?.({ operation: context.operation, reason: error.code, attempt, delayMs: wait });
      context.onRetry?.(error, attempt, wait);
      await clock.sleep(wait, context.signal);
    }
  }
}

/** How long to wait after failed attempt `attempt`, or undefined when CM asked for longer than we wait in-process. */
function waitBeforeRetry(
  error: CmError,
  attempt: number,
  policy: RetryPolicy,
  random: () => number,
): number | undefined {
  if (error instanceof CmRateLimitError && error.retryAfterMs !== undefined) {
    return error.retryAfterMs <= policy.maxRetryAfterMs ? error.retryAfterMs : undefined;
  }
  return backoffDelayMs(attempt, policy, random);
}
