/**
 * The admin's one-time authorisation (OAuth 2.0 web-server flow, reference §4):
 * `GET /integrations/:project/:integration/oauth2/authenticate` → Salesforce login and consent →
 * `GET /external/salesforce/oauth2/callback` → tokens stored encrypted → "configured successfully".
 * Neither page needs the admin token: possession of a valid, single-use `state` is what binds the
 * callback to an authenticate request this bridge issued.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { createPkcePair } from '../../salesforce/oauth-client.ts';
import { SalesforceOAuthError, SalesforceUnavailableError } from '../../salesforce/errors.ts';
import { redirectUri, type AppDeps } from '../deps.ts';
import { renderOAuthErrorPage } from '../oauth-errors.ts';
import { html, page, type SafeHtml } from '../html.ts';
import { authenticatePath, findIntegration } from '../integration-status.ts';

const AuthenticateParams = z.object({ project: z.string(), integration: z.string() });

const CallbackQuery = z.object({
  state: z.string().max(200).optional(),
  code: z.string().max(2000).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(2000).optional(),
});

export const oauthRoutes: FastifyPluginAsync<AppDeps> = async (app, deps) => {
  const { config, oauthStates, oauthClients, tokens, logger } = deps;

  app.get('/integrations/:project/:integration/oauth2/authenticate', async (request, reply) => {
    const params = AuthenticateParams.parse(request.params);
    const integration = findIntegration(config, params.project, params.integration);
    const client = integration ? oauthClients.get(integration.key) : undefined;
    if (!integration || !client) {
      return sendPage(reply, 404, 'Unknown integration', html`<h1>Unknown integration</h1>
        <p>No integration <code>${params.project}/${params.integration}</code> is declared in the bridge's config.</p>`);
    }
    const pkce = integration.salesforce.pkce ? createPkcePair() : undefined;
    const state = await oauthStates.create(integration.key, pkce?.verifier);
    return reply.redirect(client.authorizeUrl(state, pkce?.challenge), 302);
  });

  app.get('/external/salesforce/oauth2/callback', async (request, reply) => {
    const query = CallbackQuery.safeParse(request.query);
    if (!query.success || !query.data.state) {
      return failure(reply, 400, 'This sign-in response is not valid', html`<p>The response from Salesforce carries no valid
        <code>state</code>. Start again from the integration's authenticate link.</p>`);
    }
    const pending = await oauthStates.consume(query.data.state);
    if (!pending) {
      return failure(reply, 400, 'This sign-in link has expired or was already used', html`<p>Each sign-in can be completed
        once, within 10 minutes. Start again from the integration's authenticate link.</p>`);
    }
    const integration = config.integrations.find((i) => i.key === pending.integration);
    const client = integration ? oauthClients.get(integration.key) : undefined;
    if (!integration || !client) {
      return failure(reply, 400, 'Unknown integration', html`<p>The integration <code>${pending.integration}</code> is no longer
        declared in the bridge's config. Nothing was stored.</p>`);
    }
    const retry = html`<p><a class="button" href="${authenticatePath(integration)}">Try again</a></p>`;

    const explain = (stage: 'redirect' | 'token', error: string, description: string) => {
      const rendered = renderOAuthErrorPage({
        error,
        description,
        integration: integration.key,
        retryHref: authenticatePath(integration),
        context: { stage, redirectUri: redirectUri(config.server.publicUrl), loginUrl: integration.salesforce.loginUrl },
      });
      return failure(reply, rendered.status, rendered.title, rendered.body);
    };

    if (query.data.error) {
      logger.warn({ integration: integration.key, error: query.data.error }, 'authorisation refused in Salesforce');
      return explain('redirect', query.data.error, query.data.error_description ?? '');
    }
    if (!query.data.code) {
      return failure(reply, 400, 'No authorisation code', html`<p>Salesforce sent neither a code nor an error.</p>${retry}`);
    }

    try {
      const token = await client.exchangeCode(query.data.code, pending.codeVerifier);
      const identity = await client.identity(token.id, token.access_token);
      await tokens.saveAuthorization(integration.key, token, identity);
      logger.info({ integration: integration.key, org: identity.organization_id, user: identity.username }, 'integration authorised');
      return sendPage(reply, 200, 'Integration configured', html`<div class="notice ok"><h1>Integration configured successfully</h1>
        <p>The integration <strong>${integration.key}</strong> was configured successfully: it is connected to Salesforce org
        <code>${identity.organization_id}</code> as <strong>${identity.username}</strong>.</p></div>
        <p>Changes now flow to Communications Mining. Nobody needs to sign in again unless access is revoked.</p>
        <p><a class="button" href="/">Open the status page</a></p>`);
    } catch (error) {
      if (error instanceof SalesforceOAuthError) {
        logger.warn({ integration: integration.key, error: error.error }, 'code exchange refused');
        return explain('token', error.error, error.description);
      }
      if (error instanceof SalesforceUnavailableError) {
        logger.warn({ integration: integration.key, err: error }, 'Salesforce unavailable during the code exchange');
        return failure(reply, 502, 'Salesforce could not be reached', html`<p>${error.message}.</p>${retry}`);
      }
      throw error;
    }
  });
};

function sendPage(reply: FastifyReply, status: number, title: string, body: SafeHtml): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(page(title, body));
}

function failure(reply: FastifyReply, status: number, title: string, body: SafeHtml): FastifyReply {
  return sendPage(reply, status, title, html`<div class="notice error"><h1>${title}</h1></div>${body}`);
}
