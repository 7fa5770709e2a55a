/**
 * The admin JSON API under `/api`, guarded by the admin token (Bearer, timing-safe compare) in this
 * plugin only. Responses list their fields explicitly: nothing secret can be serialised by accident.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { IntegrationConfig } from '../../config/index.ts';
import { ReplayStore } from '../../queue/replay-store.ts';
import { locateRecord, previewRecord, SALESFORCE_ID } from '../record-lookup.ts';
import { requireAdminBearer } from '../admin-auth.ts';
import type { AppDeps } from '../deps.ts';
import { authenticatePath, findIntegration, integrationView, integrationViews } from '../integration-status.ts';
import type { WebAuth } from '../web-auth.ts';

const IntegrationParams = z.object({ project: z.string(), name: z.string() });
const DeadLetterParams = IntegrationParams.extend({ id: z.string().uuid() });
const RecordParams = IntegrationParams.extend({ recordId: z.string().regex(SALESFORCE_ID, 'not a Salesforce Id') });
const PreviewQuery = z.object({ object: z.string().min(1), id: z.string().regex(SALESFORCE_ID, 'id: not a Salesforce Id') });

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
    const positions = await replay.positions(integration.key);
    const channels = integration.objects
      .filter((object) => object.mode === 'cdc')
      .map((object) => ({ object: object.name, channel: object.channel, replayId: positions.get(object.channel) ?? null }));
    return { ...(await integrationView(integration, deps)), channels };
  });

  /** A one-time authenticate link for an admin's browser that has no session (10 minutes, single use). */
  app.post('/integrations/:project/:name/authorization-link', async (request, reply) => {
    const integration = integrationOf(request.params, reply);
    if (!integration) return reply;
    const { token, expiresAt } = await auth.authorizationLinks.create({ integration: integration.key });
    return { url: `${config.server.publicUrl}${authenticatePath(integration)}?link=${token}`, expiresAt: expiresAt.toISOString() };
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
      items: items.map(({ id, object, recordId, reason, stage, at }) => ({ id, object, ...(recordId ? { recordId } : {}), reason, stage, at })),
    };
  });

  app.post('/integrations/:project/:name/dead-letters/:id/retry', async (request, reply) => {
    const integration = integrationOf(request.params, reply);
    if (!integration) return reply;
    const { id } = DeadLetterParams.parse(request.params);
    const letter = await deadLetters.get(integration.key, id);
    if (!letter) return reply.code(404).send({ error: 'not_found', message: `no dead letter ${id}` });
    if (!letter.recordId) {
      return reply.code(409).send({ error: 'not_retryable', message: 'this dead letter names no record (a malformed event); reconcile the object instead' });
    }
    // Retrying means: fetch the record as it is now and push it again.
    await queues.get(integration.key)?.enqueue(
      [{ integration: integration.key, object: letter.object, recordId: letter.recordId, kind: 'REFRESH', origin: 'retry', enqueuedAt: Date.now() }],
      () => id,
    );
    await deadLetters.remove(integration.key, id);
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
    if (preview.kind === 'unknown_object') return reply.code(400).send({ error: 'bad_request', message: preview.message });
    if (preview.kind === 'not_found') return reply.code(404).send({ error: 'not_found', message: preview.message });
    return preview.result;
  });
};
