/**
 * The Fastify app of the `api` role, built and never listened to here (tests `inject` into it; the
 * role listens). Every route group is one plugin, registered in this one visible list.
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify, { LogController } from 'fastify';
import { ZodError } from 'zod';
import { NotAuthorizedError, SalesforceUnavailableError } from '../salesforce/errors.ts';
import { SalesforceApiError } from '../salesforce/rest-client.ts';
import type { AppDeps } from './deps.ts';
import { STYLE_SOURCE } from './html.ts';
import { createWebAuth } from './web-auth.ts';
import { adminRoutes } from './routes/admin.ts';
import { assetRoutes } from './routes/assets.ts';
import { deadLetterPageRoutes } from './routes/dead-letters-page.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { oauthRoutes } from './routes/oauth.ts';
import { reconcileRoutes } from './routes/reconcile.ts';
import { statusActionRoutes } from './routes/status-actions.ts';
import { statusRoutes } from './routes/status.ts';

export async function buildApp(deps: AppDeps) {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }),
    // The callback's query string carries the one-time code: request lines log paths only (below).
    logController: new LogController({ disableRequestLogging: true }),
    // Only behind a reverse proxy: X-Forwarded-For decides the client address the limits count.
    trustProxy: deps.config.server.trustProxy,
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        path: request.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    if (error instanceof ZodError)
      return reply.code(400).send({ error: 'bad_request', message: error.issues.map((i) => i.message).join('; ') });
    if (error instanceof NotAuthorizedError)
      return reply.code(409).send({ error: 'not_authorized', message: `${error.message}: ${error.hint ?? ''}` });
    if (error instanceof SalesforceApiError || error instanceof SalesforceUnavailableError) {
      request.log.warn({ err: error }, 'Salesforce call failed');
      return reply.code(502).send({ error: 'salesforce_error', message: error.message });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    if (status === 429) return reply.code(429).send({ error: 'too_many_requests', message: error.message });
    // Never send 5xx internals to the client.
    return reply.code(status).send({
      error: status >= 500 ? 'internal_error' : 'bad_request',
      message: status >= 500 ? 'internal error' : error.message,
    });
  });

  await app.register(cookie);
  await app.register(formbody);
  await app.register(helmet, securityHeaders(deps.config));
  // Per-client request limits of the routes anyone can reach (rate-limits.ts); in memory on purpose:
  // a Redis counter would be a write per anonymous request, which the flood defence must not allow.
  await app.register(rateLimit, { global: false });

  const auth = createWebAuth(deps);
  await app.register(healthRoutes, deps);
  await app.register(metricsRoutes, deps);
  await app.register(oauthRoutes, { ...deps, auth });
  await app.register(statusRoutes, { ...deps, auth });
  await app.register(statusActionRoutes, { ...deps, auth });
  await app.register(deadLetterPageRoutes, { ...deps, auth });
  await app.register(assetRoutes);
  await app.register(adminRoutes, { ...deps, auth, prefix: '/api' });
  await app.register(reconcileRoutes, { ...deps, prefix: '/api' });
  return app;
}

/**
 * Headers of every response (docs/security.md, "Web surface"): a CSP without inline script (scripts
 * only from the bridge itself; the one inline stylesheet is allowed by its hash), no framing, no sniffing, no referrer, HSTS on https.
 * Forms may post to the bridge and redirect on to Salesforce's login hosts (the authorisation flow).
 */
function securityHeaders(config: AppDeps['config']) {
  const loginOrigins = [
    ...new Set(config.integrations.map((integration) => new URL(integration.salesforce.loginUrl).origin)),
  ];
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: [STYLE_SOURCE],
        // Only the bridge's own files (/assets/status.js) and its own fetches (/status/live): no inline script.
        scriptSrc: ["'self'"],
        connectSrc: ["'self'"],
        imgSrc: ["'self'"],
        formAction: ["'self'", ...loginOrigins],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    frameguard: { action: 'deny' as const },
    referrerPolicy: { policy: 'no-referrer' as const },
    hsts: config.server.publicUrl.startsWith('https://') ? { maxAge: 31_536_000, includeSubDomains: false } : false,
  };
}

export type BridgeApp = Awaited<ReturnType<typeof buildApp>>;
