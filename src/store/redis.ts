/**
 * The one place Redis connections are made, for each topology the config allows (docs/redis.md):
 * one server (`redis.url`), a Redis Cluster (`redis.cluster`, seed nodes) or Redis Sentinel
 * (`redis.sentinel`). Keys are prefixed by their owners (BullMQ's `prefix` option,
 * `src/store/keys.ts`), never with ioredis' `keyPrefix`, which BullMQ does not support.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { RedisUnreachableError } from '../errors.ts';

export interface RedisSettings {
  /** Exactly one of url, cluster and sentinel is set (the config schema checks it). */
  url?: string;
  cluster?: string[];
  sentinel?: { name: string; nodes: string[] };
  prefix: string;
}

/** A connection to any topology: both classes offer the same commands, scripts, pipelines and pub/sub. */
export type RedisClient = Redis | Cluster;

interface Endpoint {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls: boolean;
}

function endpoint(url: string, defaultPort: number): Endpoint {
  const parsed = new URL(url);
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port ? Number(parsed.port) : defaultPort,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    tls: parsed.protocol === 'rediss:',
  };
}

/** Credentials and TLS of an endpoint, as the options of the data connections. */
function authOptions({ username, password, tls }: Endpoint): RedisOptions {
  return {
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(tls ? { tls: {} } : {}),
  };
}

function maskedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return 'the configured Redis URL';
  }
}

/** Where the bridge's Redis is, with any password masked, for messages and logs. */
export function describeRedis(settings: RedisSettings): string {
  if (settings.cluster) return `cluster ${settings.cluster.map(maskedUrl).join(', ')}`;
  if (settings.sentinel)
    return `sentinel master "${settings.sentinel.name}" via ${settings.sentinel.nodes.map(maskedUrl).join(', ')}`;
  return maskedUrl(settings.url ?? '');
}

/**
 * Options a cluster takes at its own level rather than per node: the client must not queue commands
 * while offline or connect lazily unless its nodes do too.
 */
function clusterLevel(extra: RedisOptions): ClusterOptions {
  return {
    ...(extra.lazyConnect === undefined ? {} : { lazyConnect: extra.lazyConnect }),
    ...(extra.enableOfflineQueue === undefined ? {} : { enableOfflineQueue: extra.enableOfflineQueue }),
    ...(extra.retryStrategy === undefined ? {} : { clusterRetryStrategy: () => null }),
  };
}

/**
 * A new connection. `purpose: 'worker'` gives the settings BullMQ requires for blocking connections
 * (`maxRetriesPerRequest: null`), so commands wait for a reconnect instead of failing a job.
 */
export function createRedis(
  settings: RedisSettings,
  purpose: 'command' | 'worker' = 'command',
  extra: RedisOptions = {},
): RedisClient {
  const options: RedisOptions = {
    maxRetriesPerRequest: purpose === 'worker' ? null : 20,
    enableReadyCheck: true,
    connectionName: `sf-cm-bridge:${purpose}`,
    ...extra,
  };
  if (settings.cluster) {
    const seeds = settings.cluster.map((url) => endpoint(url, 6379));
    const first = seeds[0];
    return new Cluster(
      seeds.map(({ host, port }) => ({ host, port })),
      {
        // Credentials and TLS of the first seed apply to every node the cluster announces.
        redisOptions: { ...options, ...(first ? authOptions(first) : {}) },
        ...clusterLevel(extra),
      },
    );
  }
  if (settings.sentinel) {
    const sentinels = settings.sentinel.nodes.map((url) => endpoint(url, 26379));
    const first = sentinels[0];
    return new Redis({
      ...options,
      name: settings.sentinel.name,
      sentinels: sentinels.map(({ host, port }) => ({ host, port })),
      // A password in the sentinel URLs is both the sentinels' and the data nodes' password.
      ...(first ? authOptions(first) : {}),
      ...(first?.password ? { sentinelPassword: first.password } : {}),
      ...(first?.username ? { sentinelUsername: first.username } : {}),
      ...(first?.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
    });
  }
  return new Redis(settings.url ?? 'redis://127.0.0.1:6379', options);
}

/** Fails fast with a message that says how to start a Redis, instead of retrying forever at start-up. */
export async function assertRedisReachable(settings: RedisSettings, timeoutMs = 3000): Promise<void> {
  const probe = createRedis(settings, 'command', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  probe.on('error', () => {
    /* reported below */
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs * 2);
  });
  try {
    await Promise.race([probe.connect().then(() => probe.ping()), deadline]);
  } catch (error) {
    throw new RedisUnreachableError(
      `Redis is not reachable at ${describeRedis(settings)} (${(error as Error).message})`,
      'start one with `redis-server --daemonize yes --port 6379` (or `docker compose up -d redis`), or set redis.url / REDIS_URL (or redis.cluster / redis.sentinel)',
    );
  } finally {
    clearTimeout(timer);
    probe.disconnect();
  }
}
