/**
 * Exponential backoff with full jitter and a ceiling: the n-th delay is uniform in [0, min(ceiling,
 * base · 2ⁿ)). Full jitter spreads reconnecting clients apart, so a fleet that lost its connections at
 * the same moment does not handshake in lockstep (docs/salesforce.md#pitfall-6-handshake-storms).
 */

export interface BackoffPolicy {
  /** First window, ms. */
  baseMs: number;
  /** Largest window, ms. */
  ceilingMs: number;
}

export class Backoff {
  #attempt = 0;

  constructor(
    readonly policy: BackoffPolicy,
    /** Uniform in [0, 1); injectable so tests can pin the delays. @defaultValue Math.random */
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call widens the window until the ceiling. */
  next(): number {
    const window = Math.min(this.policy.ceilingMs, this.policy.baseMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt += 1;
    return Math.floor(this.random() * window);
  }

  /** Attempts made since the last success. */
  get attempts(): number {
    return this.#attempt;
  }

  /** A success: the next failure starts from the base window again. */
  reset(): void {
    this.#attempt = 0;
  }
}
