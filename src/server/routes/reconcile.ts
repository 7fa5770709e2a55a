/**
 * Admin API: start reconciliation and backfill runs (they run on the workers; these routes only
 * queue them). Registered under `/api`; the admin token is checked here too, so the plugin is safe
 * wherever it is registered.
 *
 * - `POST /integrations/:project/:name/reconcile` `{ object? }` → 202, runs from the watermarks
 * - `POST /integrations/:project/:name/backfill` `{ object?, since? }` → 202, resumable backfill
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { IntegrationConfig } from '../../config/index.ts';
import { ReconcileTrigger } from '../../reconcile/reconcile-jobs.ts';
import { requireAdminBearer } from '../admin-auth.ts';
import type { AppDeps } from '../deps.ts';
import { findIntegration } from '../integration-status.ts';

const IntegrationParams = z.object({ project: z.string(), name: z.string() });
const ReconcileBody = z.object({ object: z.string().min(1).optional() }).strict();
const BackfillBody = z
  .object({
    object: z.string().min(1).optional(),
    since: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('ISO 8601 lower bound on SystemModstamp; absent: every record'),
  })
  .strict();

export const reconcileRoutes: FastifyPluginAsync<AppDeps> = async (app, deps) => {
  const { config, tokens } = deps;
  const trigger = new ReconcileTrigger(deps.redis, config.redis.prefix);
  app.addHook('onClose', async () => trigger.close());

  app.addHook('onRequest', requireAdminBearer(config.server.adminToken));

  /** The integration and objects a request names, or an error reply already sent. */
  async function target(
    params: unknown,
    object: string | undefined,
    reply: FastifyReply,
  ): Promise<{ integration: IntegrationConfig; objects: string[] } | undefined> {
    const { project, name } = IntegrationParams.parse(params);
    const integration = findIntegration(config, project, name);
    if (!integration) {
      void reply.code(404).send({ error: 'not_found', message: `no integration ${project}/${name}` });
      return undefined;
    }
    const names = integration.objects.map((o) => o.name);
    if (object !== undefined && !names.includes(object)) {
      void reply.code(404).send({
        error: 'not_found',
        message: `integration ${integration.key} has no object ${object} (it has: ${names.join(', ')})`,
      });
      return undefined;
    }
    const status = await tokens.store.status(integration.key);
    if (status.state !== 'authorized') {
      void reply.code(409).send({
        error: 'not_authorized',
        message: `integration ${integration.key} is ${status.state}: authorise it first`,
      });
      return undefined;
    }
    return { integration, objects: object === undefined ? names : [object] };
  }

  function invalid(reply: FastifyReply, error: z.ZodError) {
    return reply.code(400).send({
      error: 'bad_request',
      message: error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    });
  }

  app.post('/integrations/:project/:name/reconcile', async (request, reply) => {
    const body = ReconcileBody.safeParse(request.body ?? {});
    if (!body.success) return invalid(reply, body.error);
    const found = await target(request.params, body.data.object, reply);
    if (!found) return reply;
    const jobs = await trigger.reconcileNow(found.integration.key, found.objects);
    return reply.code(202).send({ integration: found.integration.key, reconcile: found.objects, jobs });
  });

  app.post('/integrations/:project/:name/backfill', async (request, reply) => {
    const body = BackfillBody.safeParse(request.body ?? {});
    if (!body.success) return invalid(reply, body.error);
    const found = await target(request.params, body.data.object, reply);
    if (!found) return reply;
    const since = body.data.since === undefined ? null : Date.parse(body.data.since);
    const jobs = await trigger.backfill(found.integration.key, found.objects, since, 'admin');
    return reply.code(202).send({
      integration: found.integration.key,
      backfill: found.objects,
      since: since === null ? null : new Date(since).toISOString(),
      jobs,
    });
  });
};
