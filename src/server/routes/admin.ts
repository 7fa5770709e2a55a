/**
 * The admin JSON API under `/api`, guarded by the admin token (Bearer, timing-safe compare) in this
 * plugin only. Responses list their fields explicitly: nothing secret can be serialised by accident.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { IntegrationConfig } from '../../config/index.ts';
import { ReplayStore } from '../../store/replay-store.ts';
import { locateRecord, previewRecord } from '../record-lookup.ts';
import { SALESFORCE_ID } from '../../model/record-id.ts';
import { retryDeadLetter } from '../../queue/dead-letter-retry.ts';
import { requireAdminBearer } from '../admin-auth.ts';
import type { AppDeps } from '../deps.ts';
import { authenticatePath, findIntegration, integrationView, integrationViews } from '../integration-status.ts';
import type { WebAuth } from '../web-auth.ts';

const IntegrationParams = z.object({ project: z.string(), name: z.string() });
const DeadLetterParams = IntegrationParams.extend({ id: z.uuid() });
const RecordParams = IntegrationParams.extend({ recordId: z.string().regex(SALESFORCE_ID, 'not a Salesforce Id') });
const PreviewQuery = z.object({
  object: z.string().min(1),
  id: z.string().regex(SALESFORCE_ID, 'id: not a Salesforce Id'),
});

export const adminRoutes: FastifyPluginAsync<AppDeps & { auth: WebAuth }> = async (app, deps) => {
  const { config, tokens, deadLetters, queues, auth } = deps;
  const replay = new ReplayStore(deps.redis, config.redis.prefix);

  app.addHook('onRequest', requireAdminBearer(config.server.adminToken));

  /** The integration named in the path, or a 404 already sent. */
  function integrationOf(params: unknown, reply: FastifyReply): IntegrationConfig | undefined {
    const { project, name } = IntegrationParams.parse(params);
    const integration = findIntegration(config, project, name);
    if (!integration) void reply.code(404).send({ error: 'not_found', message: `no integration ${project}/${name}` });
    return integration;
  }

  app.get('/integrations', async () => ({ integrations: await integrationViews(deps) }));

  app.get('/integrations/:project/:name', async (request, reply) => {
    const integration = integrationOf(request.params, reply);
    if (!integration) return reply;
    // The position of the transport in use (docs/pubsub.md#replay-positions).
    const positions = await replay.transport(integration.salesforce.transport).positions(integration.key);
    const channels = integration.objects
      .filter((object) => object.mode === 'cdc')
      .map((object) => ({
        object: object.name,
        channel: object.channel,
        replayId: positions.get(object.channel) ?? null,
      }));
    return { ...(await integrationView(integration, deps)), channels };
  });

  /** A one-time authenticate link for an admin's browser that has no session (10 minutes, single use). */
  app.post('/integrations/:project/:name/authorization-link', async (request, reply) => {
    const integration = integrationOf(request.params, reply);
    if (!integration) return reply;
    const { token, expiresAt } = await auth.authorizationLinks.create({ integration: integration.key });
    return {
      url: `${config.server.publicUrl}${authenticatePath(integration)}?link=${token}`,
      expiresAt: expiresAt.toISOString(),
    };
  });

  app.delete('/integrations/:project/:name/authorization', async (request, reply) => {
    const integration = integrationOf(request.params, reply);
    if (!integration) return reply;
    const { revoked } = await tokens.disconnect(integration.key);
    return { integration: integration.key, disconnected: true, revokedAtSalesforce: revoked };
  });

  app.get('/integrations/:project/:name/dead-letters', async (request, reply) => {
    const integration = integrationOf(request.params, reply);
    if (!integration) return reply;
    const items = await deadLetters.list(integration.key, 500);
    return {
      items: items.map(({ id, object, recordId, reason, stage, at }) => ({
        id,
        object,
        ...(recordId ? { recordId } : {}),
        reason,
        stage,
        at,
      })),
    };
  });

  app.post('/integrations/:project/:name/dead-letters/:id/retry', async (request, reply) => {
    const integration = integrationOf(request.params, reply);
    if (!integration) return reply;
    const { id } = DeadLetterParams.parse(request.params);
    const outcome = await retryDeadLetter(deadLetters, queues.get(integration.key), integration.key, id);
    if (outcome.kind === 'not_found') return reply.code(404).send({ error: 'not_found', message: outcome.message });
    if (outcome.kind === 'not_retryable')
      return reply.code(422).send({ error: 'not_retryable', message: outcome.message });
    const { letter } = outcome;
    return { retried: id, object: letter.object, recordId: letter.recordId };
  });

  app.get('/integrations/:project/:name/records/:recordId', async (request, reply) => {
    const integration = integrationOf(request.params, reply);
    if (!integration) return reply;
    const { recordId } = RecordParams.parse(request.params);
    return locateRecord(deps, integration, recordId);
  });

  app.get('/integrations/:project/:name/preview', async (request, reply) => {
    const integration = integrationOf(request.params, reply);
    if (!integration) return reply;
    const query = PreviewQuery.parse(request.query);
    const preview = await previewRecord(deps, integration, query.object, query.id);
    if (preview.kind === 'unknown_object')
      return reply.code(400).send({ error: 'bad_request', message: preview.message });
    if (preview.kind === 'not_found') return reply.code(404).send({ error: 'not_found', message: preview.message });
    return preview.result;
  });
};
