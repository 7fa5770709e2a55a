/**
 * The admin JSON API under `/api`, guarded by the admin token (Bearer, timing-safe compare) in this
 * plugin only. Responses list their fields explicitly: nothing secret can be serialised by accident.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { isAdminBearer } from '../admin-auth.ts';
import type { AppDeps } from '../deps.ts';
import { findIntegration, integrationView, integrationViews } from '../integration-status.ts';

const IntegrationParams = z.object({ project: z.string(), name: z.string() });

export const adminRoutes: FastifyPluginAsync<AppDeps> = async (app, deps) => {
  const { config, tokens } = deps;

  app.addHook('onRequest', async (request, reply) => {
    if (!isAdminBearer(request, config.server.adminToken)) {
      return reply
        .code(401)
        .header('WWW-Authenticate', 'Bearer realm="sf-cm-bridge"')
        .send({ error: 'unauthorized', message: 'send the admin token as Authorization: Bearer <token>' });
    }
  });

  app.get('/integrations', async () => ({ integrations: await integrationViews(config, tokens.store) }));

  app.get('/integrations/:project/:name', async (request, reply) => {
    const params = IntegrationParams.parse(request.params);
    const integration = findIntegration(config, params.project, params.name);
    if (!integration) return reply.code(404).send({ error: 'not_found', message: `no integration ${params.project}/${params.name}` });
    return { ...(await integrationView(integration, tokens.store)), channels: [] };
  });

  app.delete('/integrations/:project/:name/authorization', async (request, reply) => {
    const params = IntegrationParams.parse(request.params);
    const integration = findIntegration(config, params.project, params.name);
    if (!integration) return reply.code(404).send({ error: 'not_found', message: `no integration ${params.project}/${params.name}` });
    const { revoked } = await tokens.disconnect(integration.key);
    return { integration: integration.key, disconnected: true, revokedAtSalesforce: revoked };
  });
};
