import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.ts';
import { RedisUnreachableError } from '../../src/errors.ts';
import { assertRedisReachable, createRedis, describeRedis } from '../../src/store/redis.ts';

describe('Redis connection factory', () => {
  it('connects to the Redis the tests run against', async () => {
    const settings = { url: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: 'sfcm-test' };
    await assertRedisReachable(settings);
    const redis = createRedis(settings);
    try {
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });

  it('says how to start Redis when none answers, without leaking the password', async () => {
    const port = await freePort();
    const attempt = assertRedisReachable({ url: `redis://:hunter2-secret@127.0.0.1:${port}`, prefix: 'x' }, 1000);
    await expect(attempt).rejects.toBeInstanceOf(RedisUnreachableError);
    await expect(attempt).rejects.toThrow(`Redis is not reachable at redis://:***@127.0.0.1:${port}`);
    const error = (await attempt.then(
      () => undefined,
      (e: unknown) => e,
    )) as RedisUnreachableError;
    expect(error.hint).toContain('redis-server');
    expect(`${error.message} ${error.hint}`).not.toContain('hunter2');
  });

  it('describeRedis masks passwords of every topology', () => {
    expect(describeRedis({ url: 'rediss://user:pw@cache.example.com:6380/2', prefix: 'x' })).toBe(
      'rediss://user:***@cache.example.com:6380/2',
    );
    expect(describeRedis({ url: 'not a url', prefix: 'x' })).toBe('the configured Redis URL');
    expect(describeRedis({ cluster: ['redis://:pw@10.0.0.1:7000', 'redis://10.0.0.2:7000'], prefix: 'x' })).toBe(
      'cluster redis://:***@10.0.0.1:7000, redis://10.0.0.2:7000',
    );
    expect(describeRedis({ sentinel: { name: 'mymaster', nodes: ['redis://:pw@10.0.0.1:26379'] }, prefix: 'x' })).toBe(
      'sentinel master "mymaster" via redis://:***@10.0.0.1:26379',
    );
  });
});
