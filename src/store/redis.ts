/**
 * The one place Redis connections are made. Keys are prefixed by their owners (BullMQ's `prefix`
 * option, `src/store/keys.ts`), never with ioredis' `keyPrefix`, which BullMQ does not support.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { RedisUnreachableError } from '../errors.ts';

export interface RedisSettings {
  url: string;
  prefix: string;
}

/** The URL with any password masked, for messages and logs. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return 'the configured Redis URL';
  }
}

/**
 * A new connection. `purpose: 'worker'` gives the settings BullMQ requires for blocking connections
 * (`maxRetriesPerRequest: null`), so commands wait for a reconnect instead of failing a job.
 */
export function createRedis(
  settings: RedisSettings,
  purpose: 'command' | 'worker' = 'command',
  extra: RedisOptions = {},
): Redis {
  return new Redis(settings.url, {
    maxRetriesPerRequest: purpose === 'worker' ? null : 20,
    enableReadyCheck: true,
    connectionName: `sf-cm-bridge:${purpose}`,
    ...extra,
  });
}

/** Fails fast with a message that says how to start a Redis, instead of retrying forever at start-up. */
export async function assertRedisReachable(settings: RedisSettings, timeoutMs = 3000): Promise<void> {
  const probe = new Redis(settings.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  probe.on('error', () => {
    /* reported below */
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new RedisUnreachableError(
      `Redis is not reachable at ${describeRedisUrl(settings.url)} (${(error as Error).message})`,
      'start one with `redis-server --daemonize yes --port 6379` (or `docker compose up -d redis`), or set redis.url / REDIS_URL',
    );
  } finally {
    probe.disconnect();
  }
}
