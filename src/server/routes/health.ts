/** Liveness and readiness. `/healthz` never touches a dependency; `/readyz` does. */
import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from '../deps.ts';

export const healthRoutes: FastifyPluginAsync<AppDeps> = async (app, deps) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const checks: Record<string, boolean> = { config: true, redis: false, ...(deps.readiness?.() ?? {}) };
    try {
      await deps.redis.ping();
      checks.redis = true;
    } catch {
      checks.redis = false;
    }
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
};
