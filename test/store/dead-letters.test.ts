import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DeadLetterStore } from '../../src/store/dead-letters.ts';
import { testRedis, type TestRedis } from '../helpers/redis.ts';

describe('dead letters', () => {
  let redis: TestRedis;
  afterEach(async () => {
    await redis.cleanup();
  });

  const letter = { integration: 'a/b', object: 'Case', reason: 'malformed change event', stage: 'event' as const };

  it('the same failure stored twice (an event delivered again) stays one dead letter, with a UUID id', async () => {
    redis = testRedis();
    const store = new DeadLetterStore(redis.redis, redis.prefix);
    const first = await store.add(letter, 'event|/data/CaseChangeEvent|42');
    const again = await store.add(letter, 'event|/data/CaseChangeEvent|42');
    const other = await store.add(letter, 'event|/data/CaseChangeEvent|43');
    expect(again.id).toBe(first.id);
    expect(other.id).not.toBe(first.id);
    expect(z.uuid().safeParse(first.id).success).toBe(true);
    expect(await store.count('a/b')).toBe(2);
  });

  it('without a key every failure is kept, and can be removed', async () => {
    redis = testRedis();
    const store = new DeadLetterStore(redis.redis, redis.prefix);
    const a = await store.add({ ...letter, reason: 'first' });
    const b = await store.add({ ...letter, reason: 'second' });
    expect((await store.list('a/b')).map((l) => l.id).sort()).toEqual([a.id, b.id].sort());
    expect(await store.remove('a/b', a.id)).toBe(true);
    expect(await store.remove('a/b', a.id)).toBe(false);
    expect(await store.count('a/b')).toBe(1);
  });
});
