import { afterEach, describe, expect, it } from 'vitest';
import { MetricsRecorder, parseSeriesField } from '../../src/metrics/recorder.ts';
import { renderSummed } from '../../src/server/routes/metrics.ts';
import { testRedis, type TestRedis } from '../helpers/redis.ts';

describe('metrics recorder', () => {
  let redis: TestRedis;
  afterEach(async () => {
    await redis.cleanup();
  });

  async function recorded(fill: (recorder: MetricsRecorder) => void): Promise<Record<string, string>> {
    const recorder = new MetricsRecorder(redis.redis, `${redis.prefix}:metrics`);
    fill(recorder);
    await recorder.close();
    return redis.redis.hgetall(`${redis.prefix}:metrics`);
  }

  it('a batch of latencies gives exactly the cumulative histogram of one observation each', async () => {
    redis = testRedis();
    const values = [0.01, 0.07, 0.3, 0.3, 2, 45, 400];
    const one = await recorded((r) => values.forEach((v) => r.observeLatencies('a/b', [v])));
    await redis.redis.del(`${redis.prefix}:metrics`);
    const batch = await recorded((r) => r.observeLatencies('a/b', values));
    expect(batch).toEqual(one);
    const buckets = Object.fromEntries(
      Object.entries(batch)
        .map(([field, value]) => [parseSeriesField(field), Number(value)] as const)
        .filter(([series]) => series.name === 'sfcm_push_latency_seconds_bucket')
        .map(([series, value]) => [series.labels.le, value]),
    );
    expect(buckets).toMatchObject({ '0.05': 1, '0.1': 2, '0.5': 4, '2.5': 5, '60': 6, '300': 6, '+Inf': 7 });
  });

  it('counters from several processes add up, and render as Prometheus text', async () => {
    redis = testRedis();
    await recorded((r) => r.inc('cmComments', { integration: 'a/b', outcome: 'pushed' }, 3));
    const fields = await recorded((r) => r.inc('cmComments', { integration: 'a/b', outcome: 'pushed' }, 4));
    expect(renderSummed(fields)).toContain('sfcm_cm_comments_total{integration="a/b",outcome="pushed"} 7');
  });
});
