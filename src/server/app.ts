/**
 * The Fastify app of the `api` role, built and never listened to here (tests `inject` into it; the
 * role listens). Every route group is one plugin, registered in this one visible list.
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { LogController } from 'fastify';
import { ZodError } from 'zod';
import { NotAuthorizedError, SalesforceUnavailableError } from '../salesforce/errors.ts';
import { SalesforceApiError } from '../salesforce/rest-client.ts';
import type { AppDeps } from './deps.ts';
import { adminRoutes } from './routes/admin.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { oauthRoutes } from './routes/oauth.ts';
import { reconcileRoutes } from './routes/reconcile.ts';
import { statusRoutes } from './routes/status.ts';

export async function buildApp(deps: AppDeps) {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }),
    // The callback's query string carries the one-time code: request lines log paths only (below).
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: true,
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, path: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    if (error instanceof ZodError) return reply.code(400).send({ error: 'bad_request', message: error.issues.map((i) => i.message).join('; ') });
    if (error instanceof NotAuthorizedError) return reply.code(409).send({ error: 'not_authorized', message: `${error.message}: ${error.hint ?? ''}` });
    if (error instanceof SalesforceApiError || error instanceof SalesforceUnavailableError) {
      request.log.warn({ err: error }, 'Salesforce call failed');
      return reply.code(502).send({ error: 'salesforce_error', message: error.message });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    // Never send 5xx internals to the client.
    return reply.code(status).send({ error: status >= 500 ? 'internal_error' : 'bad_request', message: status >= 500 ? 'internal error' : error.message });
  });

  await app.register(cookie);
  await app.register(formbody);

  await app.register(healthRoutes, deps);
  await app.register(metricsRoutes, deps);
  await app.register(oauthRoutes, deps);
  await app.register(statusRoutes, deps);
  await app.register(adminRoutes, { ...deps, prefix: '/api' });
  await app.register(reconcileRoutes, { ...deps, prefix: '/api' });
  return app;
}

export type BridgeApp = Awaited<ReturnType<typeof buildApp>>;
