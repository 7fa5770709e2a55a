/**
 * Records counters and latency observations in memory and adds them to Redis every few seconds
 * (one pipeline of HINCRBYFLOAT), so every process of a deployment contributes to the same totals
 * and the api role can serve them all. Loses at most one interval of counts on a crash: metrics
 * are for watching, never for correctness.
 */
import type { Redis } from 'ioredis';
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
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly flushEveryMs = 2_000,
  ) {}

  /** Add `by` to a counter of the catalogue. */
  inc(counter: CounterName, labels: Record<string, string>, by = 1): void {
    if (by === 0) return;
    const field = seriesField(COUNTERS[counter].name, labels);
    this.#pending.set(field, (this.#pending.get(field) ?? 0) + by);
    this.#schedule();
  }

  /** One enqueue → push latency, in seconds. */
  observeLatency(integration: string, seconds: number): void {
    for (const bucket of LATENCY_BUCKETS) {
      if (seconds <= bucket) this.#add(seriesField('sfcm_push_latency_seconds_bucket', { integration, le: String(bucket) }), 1);
    }
    this.#add(seriesField('sfcm_push_latency_seconds_bucket', { integration, le: '+Inf' }), 1);
    this.#add(seriesField('sfcm_push_latency_seconds_sum', { integration }), seconds);
    this.#add(seriesField('sfcm_push_latency_seconds_count', { integration }), 1);
    this.#schedule();
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
