import { describe, expect, it } from 'vitest';
import { COMMIT_LATENCY_BOUNDS, latencyBucket, percentiles } from '../../src/metrics/flow-stats.ts';
import { durationText } from '../../src/server/time-text.ts';

describe('commit → comment percentiles from buckets', () => {
  it.each([
    [0, 0],
    [1, 0],
    [1.5, 1],
    [86_400, COMMIT_LATENCY_BOUNDS.length - 1],
    [90_000, COMMIT_LATENCY_BOUNDS.length],
  ])('%f s falls in bucket %i', (seconds, bucket) => {
    expect(latencyBucket(seconds)).toBe(bucket);
  });

  it('p50 and p99 are the upper bounds of the buckets holding them (an honest "at most")', () => {
    const buckets = COMMIT_LATENCY_BOUNDS.map(() => 0).concat(0);
    buckets[latencyBucket(3)] = 98; // ≤ 5 s
    buckets[latencyBucket(200)] = 2; // ≤ 300 s
    expect(percentiles(buckets)).toEqual({ p50: 5, p99: 300, samples: 100 });
  });

  it('slower than the last bound is Infinity; no samples, no percentiles', () => {
    const buckets = COMMIT_LATENCY_BOUNDS.map(() => 0).concat(1);
    expect(percentiles(buckets)).toEqual({ p50: Infinity, p99: Infinity, samples: 1 });
    expect(percentiles(buckets.map(() => 0))).toBeUndefined();
  });
});

describe('durations as an admin reads them', () => {
  it.each([
    [0, '0 s'],
    [59.4, '59 s'],
    [60, '1 min'],
    [3_600, '1 h'],
    [3_660, '1 h 1 min'],
    [86_400 * 2 + 3_600 * 5, '2 d 5 h'],
  ])('%f s → %s', (seconds, text) => {
    expect(durationText(seconds)).toBe(text);
  });
});
