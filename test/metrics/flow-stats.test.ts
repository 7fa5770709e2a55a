/** Time-bucketed flow counts in Redis: what the status page's chart and counts read. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FlowStats } from '../../src/metrics/flow-stats.ts';
import { testRedis, type TestRedis } from '../helpers/redis.ts';

const MINUTE = 60_000;

describe('FlowStats', () => {
  let redis: TestRedis;
  let flows: FlowStats;
  beforeEach(() => {
    redis = testRedis();
    flows = new FlowStats(redis.redis, redis.prefix);
  });
  afterEach(async () => {
    await redis.cleanup();
  });

  it('one batch is one pipeline of a few keys, whatever its size; the reader sums minutes and hours', async () => {
    const now = Date.UTC(2026, 0, 1, 12, 30, 10);
    const entries = Array.from({ length: 500 }, (_, i) => ({
      object: 'Case',
      outcome: i < 400 ? ('pushed' as const) : i < 450 ? ('unchanged' as const) : ('rejected' as const),
      commitTimestamps: [now - 2_000],
    }));
    await flows.record('acme/emails', entries, now);
    await flows.record('acme/emails', [{ object: 'Case', outcome: 'dead_lettered' }], now - 5 * MINUTE);
    await flows.record('acme/emails', [{ object: 'Case', outcome: 'pushed' }], now - 3 * 3_600_000);
    // Written once per batch: two bucket hashes per minute, one last-push hash.
    const keys = await redis.redis.keys(`${redis.prefix}*`);
    expect(keys.filter((k) => k.includes(':flow:minute:'))).toHaveLength(3);
    expect(await redis.redis.ttl(keys.find((k) => k.includes(':flow:hour:')) ?? '')).toBeGreaterThan(25 * 3600);

    const flow = (await flows.read('acme/emails', ['Case', 'EmailMessage'], now)).get('Case');
    expect(flow?.lastHour).toEqual({
      pushed: 400,
      deleted: 0,
      unchanged: 50,
      stale: 0,
      rejected: 50,
      dead_lettered: 1,
    });
    expect(flow?.last24h.pushed).toBe(401);
    expect(flow?.perMinute).toHaveLength(60);
    expect(flow?.perMinute.at(-1)).toBe(500);
    expect(flow?.perMinute.at(-6)).toBe(1);
    // Only pushes and deletes count towards commit → comment: 400 samples of 2 s.
    expect(flow?.commitToComment).toEqual({ p50: 2, p99: 2, samples: 400 });
    expect(flow?.lastPushAt).toBe(now);
    const quiet = (await flows.read('acme/emails', ['EmailMessage'], now)).get('EmailMessage');
    expect(quiet?.perMinute.every((n) => n === 0)).toBe(true);
    expect(quiet?.lastPushAt).toBeUndefined();
  });

  it('a host clock behind Salesforce shows a latency of 0, never a negative one', async () => {
    const now = Date.now();
    await flows.record('acme/emails', [{ object: 'Case', outcome: 'pushed', commitTimestamps: [now + 90_000] }], now);
    expect((await flows.read('acme/emails', ['Case'], now)).get('Case')?.commitToComment).toEqual({
      p50: 1,
      p99: 1,
      samples: 1,
    });
  });
});
