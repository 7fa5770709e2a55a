/**
 * The status page's buttons: reconcile now, start a backfill, re-authorise and disconnect. Each is
 * a form POST that checks its origin (src/server/origin-check.ts) and the admin session, does what
 * the admin API route of the same name does, and lands back on the status page with a notice.
 * Disconnect is destructive (it revokes the tokens at Salesforce): its first POST only shows a
 * confirmation page, whose own POST does it. No script is involved (docs/status-page.md).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { IntegrationConfig } from '../../config/index.ts';
import { ReconcileTrigger } from '../../reconcile/reconcile-jobs.ts';
import type { AppDeps } from '../deps.ts';
import { html } from '../html.ts';
import { authenticatePath } from '../integration-status.ts';
import { loginPage, sendPage } from '../pages.ts';
import type { WebAuth } from '../web-auth.ts';

const IntegrationForm = z.object({ integration: z.string().max(300) });
const ObjectForm = IntegrationForm.extend({ object: z.string().max(100).optional() });
const BackfillForm = ObjectForm.extend({
  since: z.union([z.literal(''), z.iso.date()]).optional(),
});
const DisconnectForm = IntegrationForm.extend({ confirm: z.literal('yes').optional() });

/** Back to the status page with a notice (`error` for a problem). */
export function backToStatus(reply: FastifyReply, text: string, kind: 'notice' | 'error' = 'notice'): FastifyReply {
  return reply.redirect(`/?${kind}=${encodeURIComponent(text)}`, 303);
}

export const statusActionRoutes: FastifyPluginAsync<AppDeps & { auth: WebAuth }> = async (app, deps) => {
  const { config, tokens, auth } = deps;
  const trigger = new ReconcileTrigger(deps.redis, config.redis.prefix);
  app.addHook('onClose', async () => trigger.close());

  /**
   * The admin's form and the integration it names, or a reply already sent (403 from another
   * site, the sign-in page without a session, or back to the status page with what is wrong).
   */
  async function admitted<T extends z.ZodType<{ integration: string }>>(
    request: FastifyRequest,
    reply: FastifyReply,
    schema: T,
  ): Promise<{ form: z.infer<T>; integration: IntegrationConfig } | undefined> {
    if (!auth.checkOrigin(request, reply)) return undefined;
    if (!(await auth.isAdmin(request))) {
      void loginPage(reply, 401);
      return undefined;
    }
    const form = schema.safeParse(request.body);
    const integration = form.success ? config.integrations.find((i) => i.key === form.data.integration) : undefined;
    if (!form.success || !integration) {
      void backToStatus(reply, 'That form named no integration of this bridge.', 'error');
      return undefined;
    }
    return { form: form.data, integration };
  }

  /**
   * The objects a run form names ('' or absent: all) of an authorised integration (reconcile and
   * backfill read Salesforce), or undefined with the admin sent back to say what is wrong.
   */
  async function runTargets(
    integration: IntegrationConfig,
    object: string | undefined,
    reply: FastifyReply,
  ): Promise<string[] | undefined> {
    const names = integration.objects.map((o) => o.name);
    if (object && !names.includes(object)) {
      void backToStatus(reply, `${integration.key} has no object ${object}.`, 'error');
      return undefined;
    }
    const status = await tokens.store.status(integration.key);
    if (status.state !== 'authorized') {
      void backToStatus(reply, `${integration.key} is not authorised: authorise it first.`, 'error');
      return undefined;
    }
    return object ? [object] : names;
  }

  app.post('/status/actions/reconcile', async (request, reply) => {
    const admission = await admitted(request, reply, ObjectForm);
    if (!admission) return reply;
    const { form, integration } = admission;
    const objects = await runTargets(integration, form.object, reply);
    if (!objects) return reply;
    await trigger.reconcileNow(integration.key, objects);
    return backToStatus(reply, `Reconciliation of ${integration.key} (${objects.join(', ')}) queued.`);
  });

  app.post('/status/actions/backfill', async (request, reply) => {
    const admission = await admitted(request, reply, BackfillForm);
    if (!admission) return reply;
    const { form, integration } = admission;
    const objects = await runTargets(integration, form.object, reply);
    if (!objects) return reply;
    // A date is midnight UTC of that day; none: every record.
    const since = form.since ? Date.parse(`${form.since}T00:00:00Z`) : null;
    await trigger.backfill(integration.key, objects, since, 'admin');
    const from = since === null ? 'all records' : `records changed since ${form.since} (UTC)`;
    return backToStatus(
      reply,
      `Backfill of ${integration.key} (${objects.join(', ')}, ${from}) started: its progress shows below.`,
    );
  });

  app.post('/status/actions/reauthorize', async (request, reply) => {
    const admission = await admitted(request, reply, IntegrationForm);
    if (!admission) return reply;
    // The authenticate route starts the OAuth flow for this session's browser.
    return reply.redirect(authenticatePath(admission.integration), 303);
  });

  app.post('/status/actions/disconnect', async (request, reply) => {
    const admission = await admitted(request, reply, DisconnectForm);
    if (!admission) return reply;
    const { form, integration } = admission;
    if (form.confirm !== 'yes')
      return sendPage(
        reply,
        200,
        'Disconnect',
        html`<h1>Disconnect ${integration.key}?</h1>
          <div class="notice error">The bridge revokes its tokens at Salesforce and deletes them. Streaming and pushes of
          ${integration.key} stop until an admin authorises it again. Comments already in Communications Mining stay.</div>
          <div class="actions"><form method="post" action="/status/actions/disconnect">
            <input type="hidden" name="integration" value="${integration.key}"><input type="hidden" name="confirm" value="yes">
            <button type="submit" class="danger">Yes, disconnect ${integration.key}</button></form>
            <a class="button secondary" href="/">Cancel</a></div>`,
      );
    const { revoked } = await tokens.disconnect(integration.key);
    return backToStatus(
      reply,
      `${integration.key} disconnected${revoked ? ' (its tokens were revoked at Salesforce)' : ' (Salesforce could not be reached to revoke the tokens; they are deleted here)'}.`,
    );
  });
};
