/**
 * Redis for tests: the shared dev/CI Redis under a random key prefix per test, cleaned by prefix.
 * Never FLUSHDB: other test files and developers use the same server.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestRedis {
  redis: Redis;
  prefix: string;
  url: string;
  /** Delete every key under the prefix and close the connections opened through `connect()`. */
  cleanup(): Promise<void>;
  /** Another connection to the same server (closed by cleanup). */
  connect(): Redis;
}

export function testRedis(): TestRedis {
  const prefix = `sfcm-test:${randomUUID()}`;
  const connections: Redis[] = [];
  const connect = () => {
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 3 });
    connections.push(connection);
    return connection;
  };
  const redis = connect();
  return {
    redis,
    prefix,
    url: TEST_REDIS_URL,
    connect,
    async cleanup() {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      for (const connection of connections) connection.disconnect();
    },
  };
}

/** Poll `check` until it returns a truthy value or the deadline passes (no blind sleeps). */
export async function eventually<T>(
  check: () => Promise<T> | T,
  timeoutMs = 5000,
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? String(last) : JSON.stringify(last);
      throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${why}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
