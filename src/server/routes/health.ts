/** Liveness and readiness. `/healthz` never touches a dependency; `/readyz` does. */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { integrationKeys } from '../../store/keys.ts';
import type { RedisClient } from '../../store/redis.ts';
import type { AppDeps } from '../deps.ts';

/** A Redis that does not answer within this is not ready, whatever it would say later. */
const REDIS_PROBE_TIMEOUT_MS = 2000;
const REDIS_PROBE_TTL_MS = 10_000;

/**
 * Writes a value into the slot of every integration and reads it back: a PING answers even where a
 * Redis Cluster would refuse the writes the bridge makes (docs/redis.md, "Readiness").
 */
async function slotsTakeWrites(redis: RedisClient, prefix: string, integrations: readonly string[]): Promise<boolean> {
  const probes = integrations.map(async (integration) => {
    const key = integrationKeys(prefix, integration).readinessProbe();
    const value = randomUUID();
    await redis.set(key, value, 'PX', REDIS_PROBE_TTL_MS);
    return (await redis.get(key)) === value;
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), REDIS_PROBE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([Promise.all(probes).then((results) => results.every(Boolean)), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes: FastifyPluginAsync<AppDeps> = async (app, deps) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const integrations = deps.config.integrations.map((integration) => integration.key);
    const checks: Record<string, boolean> = {
      config: true,
      redis: await slotsTakeWrites(deps.redis, deps.config.redis.prefix, integrations),
      ...(deps.readiness?.() ?? {}),
    };
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
};
