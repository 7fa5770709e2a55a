/**
 * `/readyz` checks Redis the way the bridge uses it: a write and a read in each integration's slot.
 * A Redis that answers PING but refuses writes (here a read-only replica) is not ready.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/index.ts';
import { createContext } from '../../src/roles/context.ts';
import { buildApp } from '../../src/server/app.ts';
import { integrationKeys } from '../../src/store/keys.ts';
import { createRedis, type RedisClient } from '../../src/store/redis.ts';
import { bridgeConfigYaml } from '../helpers/bridge.ts';
import { freePort } from '../helpers/ports.ts';
import { eventually, testRedis, TEST_REDIS_URL, type TestRedis } from '../helpers/redis.ts';
import { redisAnswers } from '../helpers/redis-topology.ts';

const UNUSED_ORG = 'http://127.0.0.1:9';

async function readiness(redisYaml: string, prefix: string, connection: RedisClient) {
  const config = loadConfigText(bridgeConfigYaml(UNUSED_ORG, prefix, { redis: redisYaml }), 'test.yaml', {});
  const context = createContext({ config, logger: pino({ level: 'silent' }), redis: connection });
  const app = await buildApp(context);
  try {
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    return { status: response.statusCode, body: response.json<unknown>() };
  } finally {
    await app.close();
    await context.close();
  }
}

describe('readiness', () => {
  let server: ChildProcess | undefined;
  let redis: TestRedis | undefined;
  let connection: RedisClient | undefined;

  afterEach(async () => {
    connection?.disconnect();
    server?.kill('SIGKILL');
    await redis?.cleanup();
    [connection, server, redis] = [undefined, undefined, undefined];
  });

  it("writes and reads a short-lived value in the integration's slot", async () => {
    redis = testRedis();
    connection = createRedis({ url: TEST_REDIS_URL, prefix: redis.prefix });
    const ready = await readiness(`  url: ${TEST_REDIS_URL}`, redis.prefix, connection);
    expect(ready).toEqual({ status: 200, body: { status: 'ready', checks: { config: true, redis: true } } });
    const ttl = await redis.redis.pttl(integrationKeys(redis.prefix, 'acme/emails').readinessProbe());
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10_000);
  });

  it('is not ready on a Redis that answers PING but refuses writes', async () => {
    const port = await freePort();
    const absentPrimary = await freePort();
    // A replica of a primary that is not there: PING and GET answer, every write is refused (READONLY).
    server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--replicaof', '127.0.0.1', String(absentPrimary)],
      { stdio: 'ignore' },
    );
    await eventually(() => redisAnswers(port), 10_000, 50);
    const url = `redis://127.0.0.1:${port}`;
    connection = createRedis({ url, prefix: 'sfcm' });
    expect(await connection.ping()).toBe('PONG');
    const answer = await readiness(`  url: ${url}`, 'sfcm', connection);
    expect(answer).toEqual({ status: 503, body: { status: 'not ready', checks: { config: true, redis: false } } });
  });
});
