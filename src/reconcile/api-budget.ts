/**
 * The Salesforce API budget governor of one integration
 * (docs/salesforce.md#api-limits-and-sforce-limit-info, #rest-errors).
 *
 * Every REST response says how much of the org's daily allocation is used (`Sforce-Limit-Info`);
 * the last reading is kept in the `apiUsage()` hash, shared by every process (status page, metrics).
 * Reconciliation and backfill are the work that can wait, so they yield first:
 * - above `threshold` (default 80 %), reconcile runs are stretched (`stretch` × the period) and
 *   backfills are deferred; live CDC fetches are never held back here;
 * - on `REQUEST_LIMIT_EXCEEDED` the integration's reconcile/backfill work pauses for `pauseMs`, then
 *   one call probes; success lifts the pause. Nothing crashes: the limit is a state, not an error.
 */
import type { RedisClient } from '../store/redis.ts';
import { integrationKeys } from '../store/keys.ts';
import type { ApiUsage } from '../salesforce/rest-client.ts';

export interface ApiBudgetOptions {
  /** Share of the daily allocation above which reconcile runs stretch and backfills wait. @defaultValue 0.8 */
  threshold?: number;
  /** Reconcile period multiplier while above the threshold. @defaultValue 4 */
  stretch?: number;
  /** Pause after REQUEST_LIMIT_EXCEEDED before one probing call (ms). @defaultValue 300000 */
  pauseMs?: number;
  /** A usage reading older than this no longer holds work back: the next call refreshes it (ms). @defaultValue 60000 */
  staleAfterMs?: number;
  /** How long a deferred backfill waits before asking again (ms). @defaultValue 60000 */
  deferMs?: number;
  now?: () => number;
}

export interface ApiUsageReading {
  used: number;
  max: number;
  /** When it was read (ms). */
  at: number;
  /** Reconcile/backfill paused until then (ms) after REQUEST_LIMIT_EXCEEDED. */
  pausedUntil?: number;
}

export type Admission = { ok: true } | { ok: false; reason: string; retryInMs: number };

export class ApiBudget {
  readonly #key: string;
  readonly #options: Required<Omit<ApiBudgetOptions, 'now'>>;
  readonly #now: () => number;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    readonly integration: string,
    options: ApiBudgetOptions = {},
  ) {
    this.#key = integrationKeys(prefix, integration).apiUsage();
    this.#options = {
      threshold: 0.8,
      stretch: 4,
      pauseMs: 300_000,
      staleAfterMs: 60_000,
      deferMs: 60_000,
      ...stripUndefined(options),
    };
    this.#now = options.now ?? Date.now;
  }

  get threshold(): number {
    return this.#options.threshold;
  }

  /** For `SalesforceRestClient({ onApiUsage })`: store the reading (fire and forget; a lost write is refreshed by the next call). */
  readonly record = (usage: ApiUsage): void => {
    this.redis.hset(this.#key, { used: usage.used, max: usage.max, at: this.#now() }).catch(() => undefined);
  };

  async reading(): Promise<ApiUsageReading | undefined> {
    const hash = await this.redis.hgetall(this.#key);
    if (hash.used === undefined || hash.max === undefined) {
      return hash.pausedUntil ? { used: 0, max: 0, at: 0, pausedUntil: Number(hash.pausedUntil) } : undefined;
    }
    return {
      used: Number(hash.used),
      max: Number(hash.max),
      at: Number(hash.at ?? 0),
      ...(hash.pausedUntil ? { pausedUntil: Number(hash.pausedUntil) } : {}),
    };
  }

  /** Salesforce said REQUEST_LIMIT_EXCEEDED: hold this integration's reconcile/backfill work. */
  async pauseForLimit(): Promise<number> {
    const until = this.#now() + this.#options.pauseMs;
    await this.redis.hset(this.#key, { pausedUntil: until });
    return until;
  }

  /** A call went through: any pause is over. */
  async clearPause(): Promise<void> {
    await this.redis.hdel(this.#key, 'pausedUntil');
  }

  /**
   * May `work` spend API calls now? `lastRunAt`/`periodMs`: when this object was last reconciled and
   * its period, so that a high reading stretches the period instead of stopping reconciliation.
   */
  async admit(
    work: 'reconcile' | 'sweep' | 'backfill',
    schedule: { lastRunAt?: number | undefined; periodMs?: number } = {},
  ): Promise<Admission> {
    const now = this.#now();
    const reading = await this.reading();
    if (reading?.pausedUntil !== undefined && reading.pausedUntil > now) {
      return {
        ok: false,
        reason: `paused after REQUEST_LIMIT_EXCEEDED until ${new Date(reading.pausedUntil).toISOString()}`,
        retryInMs: reading.pausedUntil - now,
      };
    }
    if (!reading || reading.max <= 0 || now - reading.at > this.#options.staleAfterMs) return { ok: true };
    const share = reading.used / reading.max;
    if (share < this.#options.threshold) return { ok: true };
    const usage = `API usage ${reading.used}/${reading.max} (${Math.round(share * 100)} %) is above ${Math.round(this.#options.threshold * 100)} %`;
    if (work === 'backfill')
      return { ok: false, reason: `${usage}: backfill deferred`, retryInMs: this.#options.deferMs };
    const stretched = (schedule.periodMs ?? 0) * this.#options.stretch;
    const since = schedule.lastRunAt === undefined ? Number.POSITIVE_INFINITY : now - schedule.lastRunAt;
    if (since >= stretched) return { ok: true };
    return {
      ok: false,
      reason: `${usage}: ${work} period stretched ×${this.#options.stretch}`,
      retryInMs: stretched - since,
    };
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
