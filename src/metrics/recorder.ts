/**
 * Records counters and latency observations in memory and adds them to Redis every few seconds
 * (one pipeline of HINCRBYFLOAT), so every process of a deployment contributes to the same totals
 * and the api role can serve them all. Loses at most one interval of counts on a crash: metrics
 * are for watching, never for correctness.
 */
import type { RedisClient } from '../store/redis.ts';
import { COUNTERS, LATENCY_BUCKETS, type CounterName } from './catalogue.ts';

/** Redis hash field of one series: `name|label=value|label=value`. Values never contain '|' or '='. */
export function seriesField(name: string, labels: Record<string, string>): string {
  const clean = (value: string) => value.replace(/[|=\n]/g, '_');
  return [name, ...Object.entries(labels).map(([key, value]) => `${key}=${clean(value)}`)].join('|');
}

export function parseSeriesField(field: string): { name: string; labels: Record<string, string> } {
  const [name = '', ...pairs] = field.split('|');
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const index = pair.indexOf('=');
    if (index > 0) labels[pair.slice(0, index)] = pair.slice(index + 1);
  }
  return { name, labels };
}

export class MetricsRecorder {
  readonly #pending = new Map<string, number>();
  /** Field names are built once per series (hot path: one inc per event or change). */
  readonly #fields = new Map<string, string>();
  readonly #latencyFields = new Map<string, { buckets: string[]; sum: string; count: string }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly flushEveryMs = 2_000,
  ) {}

  /** Add `by` to a counter of the catalogue. */
  inc(counter: CounterName, labels: Record<string, string>, by = 1): void {
    if (by === 0) return;
    const memo = `${counter}\u0000${Object.values(labels).join('\u0000')}`;
    let field = this.#fields.get(memo);
    if (field === undefined) this.#fields.set(memo, (field = seriesField(COUNTERS[counter].name, labels)));
    this.#add(field, by);
    this.#schedule();
  }

  /** Many enqueue → push latencies, in seconds: bucketed here, added once per bucket. */
  observeLatencies(integration: string, seconds: readonly number[]): void {
    if (seconds.length === 0) return;
    const fields = this.#latencyFieldsOf(integration);
    const counts = new Array<number>(LATENCY_BUCKETS.length).fill(0);
    let sum = 0;
    for (const value of seconds) {
      sum += value;
      // Cumulative buckets: count the smallest bucket that holds the value, accumulate below.
      const index = LATENCY_BUCKETS.findIndex((bucket) => value <= bucket);
      if (index !== -1) counts[index] = (counts[index] ?? 0) + 1;
    }
    let cumulative = 0;
    LATENCY_BUCKETS.forEach((_, index) => {
      cumulative += counts[index] ?? 0;
      if (cumulative > 0) this.#add(fields.buckets[index] ?? '', cumulative);
    });
    this.#add(fields.buckets[LATENCY_BUCKETS.length] ?? '', seconds.length);
    this.#add(fields.sum, sum);
    this.#add(fields.count, seconds.length);
    this.#schedule();
  }

  #latencyFieldsOf(integration: string): { buckets: string[]; sum: string; count: string } {
    let fields = this.#latencyFields.get(integration);
    if (!fields) {
      fields = {
        buckets: [...LATENCY_BUCKETS.map(String), '+Inf'].map((le) =>
          seriesField('sfcm_push_latency_seconds_bucket', { integration, le }),
        ),
        sum: seriesField('sfcm_push_latency_seconds_sum', { integration }),
        count: seriesField('sfcm_push_latency_seconds_count', { integration }),
      };
      this.#latencyFields.set(integration, fields);
    }
    return fields;
  }

  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = [...this.#pending];
    this.#pending.clear();
    const pipeline = this.redis.pipeline();
    for (const [field, value] of batch) pipeline.hincrbyfloat(this.key, field, value);
    try {
      await pipeline.exec();
    } catch {
      // Redis unreachable: keep the counts for the next flush.
      for (const [field, value] of batch) this.#add(field, value);
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  #add(field: string, by: number): void {
    this.#pending.set(field, (this.#pending.get(field) ?? 0) + by);
  }

  #schedule(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.flushEveryMs);
    this.#timer.unref();
  }
}
