/**
 * What the status page says about the flow of each object (docs/status-page.md): changes processed
 * per minute over the last hour, outcome counts for the last hour and the last 24 h, the last
 * accepted push, and commit → comment latency percentiles.
 *
 * Prometheus counters (src/metrics/recorder.ts) only ever grow; a page needs windows. So workers
 * also add each batch's outcomes to time buckets in Redis: one hash per integration and minute
 * (TTL 2 h) and one per hour (TTL 26 h), written with one pipeline per batch, never per record.
 * The reader takes 60 minute hashes and 24 hour hashes: the "24 h" window is the current hour and
 * the 23 before it. For watching only: a failed write is dropped, never retried into the batch.
 */
import type { RedisClient } from '../store/redis.ts';
import { integrationKeys } from '../store/keys.ts';

export const FLOW_OUTCOMES = ['pushed', 'deleted', 'unchanged', 'stale', 'rejected', 'dead_lettered'] as const;
export type FlowOutcome = (typeof FLOW_OUTCOMES)[number];
export type OutcomeCounts = Record<FlowOutcome, number>;

/** Upper bounds (seconds) of the commit → comment latency buckets; one more bucket holds the slower ones. */
export const COMMIT_LATENCY_BOUNDS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 21_600, 86_400] as const;

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const MINUTES_SHOWN = 60;
const HOURS_SHOWN = 24;
const MINUTE_TTL_S = 2 * 3600;
const HOUR_TTL_S = 26 * 3600;

/** One record's outcome in a batch. */
export interface FlowEntry {
  object: string;
  outcome: FlowOutcome;
  /** Salesforce commit times (ms) of the changes the outcome answers, where the events carried one. */
  commitTimestamps?: readonly number[];
}

export interface LatencyPercentiles {
  /** Upper bound (seconds) of the bucket holding the median; Infinity: slower than the last bound. */
  p50: number;
  p99: number;
  samples: number;
}

export interface ObjectFlow {
  /** Changes processed in each of the last 60 minutes, oldest first; the last is the current minute. */
  perMinute: number[];
  lastHour: OutcomeCounts;
  last24h: OutcomeCounts;
  /** Commit → comment over the last hour (pushes and deletes of changes with a commit time). */
  commitToComment?: LatencyPercentiles;
  /** Epoch ms (the worker host's clock) of the last push or delete Communications Mining accepted. */
  lastPushAt?: number;
}

export class FlowStats {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  /** Add one batch's outcomes: one pipeline whatever the batch size. */
  async record(integration: string, entries: readonly FlowEntry[], now = Date.now()): Promise<void> {
    if (entries.length === 0) return;
    const counts = new Map<string, number>();
    const latencies = new Map<string, number>();
    const pushed = new Set<string>();
    const add = (into: Map<string, number>, field: string) => into.set(field, (into.get(field) ?? 0) + 1);
    for (const { object, outcome, commitTimestamps } of entries) {
      add(counts, `${object}|${outcome}`);
      if (outcome !== 'pushed' && outcome !== 'deleted') continue;
      pushed.add(object);
      // Two clocks (Salesforce's commit, this host's now): a host behind shows 0, never a negative age.
      for (const commit of commitTimestamps ?? [])
        add(latencies, `${object}|latency|${latencyBucket(Math.max(0, now - commit) / 1000)}`);
    }
    const keys = integrationKeys(this.prefix, integration);
    const minute = keys.flowMinute(Math.floor(now / MINUTE_MS));
    const hour = keys.flowHour(Math.floor(now / HOUR_MS));
    const pipeline = this.redis.pipeline();
    for (const [field, by] of counts) pipeline.hincrby(minute, field, by).hincrby(hour, field, by);
    for (const [field, by] of latencies) pipeline.hincrby(minute, field, by);
    pipeline.expire(minute, MINUTE_TTL_S).expire(hour, HOUR_TTL_S);
    // GT: workers finish out of order; the last push only ever moves forward.
    for (const object of pushed) pipeline.zadd(keys.lastPush(), 'GT', now, object);
    try {
      await pipeline.exec();
    } catch {
      // Watching only: the batch's own work is done and must not fail for a chart.
    }
  }

  /** Each object's flow: one pipeline of 85 reads per integration. */
  async read(integration: string, objects: readonly string[], now = Date.now()): Promise<Map<string, ObjectFlow>> {
    const keys = integrationKeys(this.prefix, integration);
    const thisMinute = Math.floor(now / MINUTE_MS);
    const thisHour = Math.floor(now / HOUR_MS);
    const pipeline = this.redis.pipeline();
    for (let i = MINUTES_SHOWN - 1; i >= 0; i--) pipeline.hgetall(keys.flowMinute(thisMinute - i));
    for (let i = HOURS_SHOWN - 1; i >= 0; i--) pipeline.hgetall(keys.flowHour(thisHour - i));
    pipeline.zrange(keys.lastPush(), 0, -1, 'WITHSCORES');
    const replies = ((await pipeline.exec()) ?? []).map(([error, value]) => (error ? undefined : value));
    const hashes = replies.map((value) => (value ?? {}) as Record<string, string>);
    const minutes = hashes.slice(0, MINUTES_SHOWN);
    const hours = hashes.slice(MINUTES_SHOWN, MINUTES_SHOWN + HOURS_SHOWN);
    const lastPush = pairs(replies[MINUTES_SHOWN + HOURS_SHOWN]);
    const flows = new Map<string, ObjectFlow>();
    for (const object of objects) {
      const perMinute = minutes.map((hash) => FLOW_OUTCOMES.reduce((sum, o) => sum + count(hash, object, o), 0));
      const buckets = COMMIT_LATENCY_BOUNDS.map(() => 0).concat(0);
      for (const hash of minutes)
        buckets.forEach(
          (_, index) => (buckets[index] = (buckets[index] ?? 0) + count(hash, object, `latency|${index}`)),
        );
      const commitToComment = percentiles(buckets);
      const pushedAt = Number(lastPush[object]);
      flows.set(object, {
        perMinute,
        lastHour: sumOutcomes(minutes, object),
        last24h: sumOutcomes(hours, object),
        ...(commitToComment ? { commitToComment } : {}),
        ...(Number.isFinite(pushedAt) && pushedAt > 0 ? { lastPushAt: pushedAt } : {}),
      });
    }
    return flows;
  }
}

/** `[member, score, member, score…]` (ZRANGE WITHSCORES) as an object. */
function pairs(reply: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  return out;
}

function count(hash: Record<string, string>, object: string, what: string): number {
  const value = Number(hash[`${object}|${what}`]);
  return Number.isFinite(value) ? value : 0;
}

function sumOutcomes(hashes: ReadonlyArray<Record<string, string>>, object: string): OutcomeCounts {
  const out = Object.fromEntries(FLOW_OUTCOMES.map((o) => [o, 0])) as OutcomeCounts;
  for (const hash of hashes) for (const outcome of FLOW_OUTCOMES) out[outcome] += count(hash, object, outcome);
  return out;
}

/** Index of the smallest bound holding `seconds`; the one past the last bound for slower ones. */
export function latencyBucket(seconds: number): number {
  const index = COMMIT_LATENCY_BOUNDS.findIndex((bound) => seconds <= bound);
  return index === -1 ? COMMIT_LATENCY_BOUNDS.length : index;
}

/** p50 and p99 as bucket upper bounds (an honest "at most"), or undefined without samples. */
export function percentiles(buckets: readonly number[]): LatencyPercentiles | undefined {
  const samples = buckets.reduce((sum, n) => sum + n, 0);
  if (samples === 0) return undefined;
  const at = (quantile: number) => {
    const rank = Math.ceil(quantile * samples);
    let cumulative = 0;
    for (const [index, n] of buckets.entries()) {
      cumulative += n;
      if (cumulative >= rank) return COMMIT_LATENCY_BOUNDS[index] ?? Infinity;
    }
    return Infinity;
  };
  return { p50: at(0.5), p99: at(0.99), samples };
}
