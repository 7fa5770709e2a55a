import { describe, expect, it } from 'vitest';
import { DEFAULT_SOFT_LIMIT_MB, exposedGc, HeapGovernor, softLimitFromEnv } from '../../src/roles/heap-governor.ts';

const MB = 1024 * 1024;

describe('heap governor', () => {
  it('collects only above the soft limit, at most once per gap', () => {
    let rss = 150 * MB;
    let collections = 0;
    const governor = new HeapGovernor({
      softLimitBytes: 200 * MB,
      minGapMs: 5_000,
      rss: () => rss,
      collect: () => (collections += 1),
    });
    expect(governor.check(0)).toBe(false);
    rss = 260 * MB;
    expect(governor.check(1_000)).toBe(true);
    expect(governor.check(3_000)).toBe(false); // inside the gap
    expect(governor.check(6_500)).toBe(true);
    rss = 180 * MB;
    expect(governor.check(20_000)).toBe(false);
    expect(collections).toBe(2);
    expect(governor.collections).toBe(2);
  });

  it('reads SFCM_MEMORY_SOFT_LIMIT_MB: unset or unreadable is the default, 0 is off', () => {
    expect(softLimitFromEnv(undefined)).toBe(DEFAULT_SOFT_LIMIT_MB * MB);
    expect(softLimitFromEnv('')).toBe(DEFAULT_SOFT_LIMIT_MB * MB);
    expect(softLimitFromEnv('lots')).toBe(DEFAULT_SOFT_LIMIT_MB * MB);
    expect(softLimitFromEnv('-5')).toBe(DEFAULT_SOFT_LIMIT_MB * MB);
    expect(softLimitFromEnv('320')).toBe(320 * MB);
    expect(softLimitFromEnv('0')).toBeUndefined();
  });

  it("V8's full collection is callable without --expose-gc and frees garbage", () => {
    const gc = exposedGc();
    const holder: { garbage?: number[][] } = {
      garbage: Array.from({ length: 200 }, () => new Array<number>(10_000).fill(1)),
    };
    const withGarbage = process.memoryUsage().heapUsed;
    delete holder.garbage;
    gc();
    expect(process.memoryUsage().heapUsed).toBeLessThan(withGarbage - 5 * MB);
  });
});
