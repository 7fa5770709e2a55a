/**
 * The admin's authorisation (OAuth 2.0 web-server flow; docs/security.md):
 * `GET /integrations/:project/:integration/oauth2/authenticate` → Salesforce login and consent →
 * `GET /external/salesforce/oauth2/callback` → tokens stored encrypted → "configured successfully".
 *
 * Only an admin starts a flow: a status-page session, the admin token, or a one-time link; anyone
 * else gets the sign-in form, and nothing is written for them. The `state` is single-use and bound
 * to the starting browser by an HttpOnly, SameSite=Lax cookie, so a callback opened in another
 * browser (a forwarded link, a login-CSRF) exchanges no code. The org of the grant is then checked
 * against the integration's bound org (src/salesforce/org-binding.ts).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { IntegrationConfig } from '../../config/index.ts';
import { createPkcePair } from '../../salesforce/oauth-client.ts';
import { digest, randomSecret, TooManyPendingStatesError } from '../../auth/oauth-state.ts';
import { SalesforceOAuthError, SalesforceUnavailableError } from '../../salesforce/errors.ts';
import { completeAuthorization, type AuthorizationOutcome } from '../../auth/org-binding.ts';
import { redirectUri } from '../../config/index.ts';
import type { AppDeps } from '../deps.ts';
import { renderOAuthErrorPage } from '../oauth-errors.ts';
import { html } from '../html.ts';
import { authenticatePath, findIntegration } from '../integration-status.ts';
import { failurePage as failure, loginPage, sendPage } from '../pages.ts';
import { limited, WEB_RATE_LIMIT } from '../rate-limits.ts';
import { BROWSER_COOKIE, ONE_TIME_TTL_MS, type WebAuth } from '../web-auth.ts';

const AuthenticateParams = z.object({ project: z.string(), integration: z.string() });
const AuthenticateQuery = z.object({ link: z.string().max(200).optional() });
const SwitchForm = z.object({ confirm: z.string().max(200) });

const CallbackQuery = z.object({
  state: z.string().max(200).optional(),
  code: z.string().max(2000).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(2000).optional(),
});

const BINDING = /^[A-Za-z0-9_-]{40,100}$/;

export const oauthRoutes: FastifyPluginAsync<AppDeps & { auth: WebAuth }> = async (app, deps) => {
  const { config, oauthStates, oauthClients, tokens, logger, auth } = deps;

  /** The integration of the path, or undefined with a 404 page sent. */
  function integrationOf(params: unknown, reply: FastifyReply): IntegrationConfig | undefined {
    const { project, integration: name } = AuthenticateParams.parse(params);
    const integration = findIntegration(config, project, name);
    if (!integration || !oauthClients.has(integration.key)) {
      void sendPage(
        reply,
        404,
        'Unknown integration',
        html`<h1>Unknown integration</h1>
        <p>No integration <code>${project}/${name}</code> is declared in the bridge's config.</p>`,
      );
      return undefined;
    }
    return integration;
  }

  /** This browser's binding value: the existing cookie (several tabs may be in a flow), or a new one. */
  function browserBinding(request: FastifyRequest, reply: FastifyReply): string {
    const existing = request.cookies[BROWSER_COOKIE];
    const binding = existing && BINDING.test(existing) ? existing : randomSecret();
    reply.setCookie(BROWSER_COOKIE, binding, auth.cookie('lax', ONE_TIME_TTL_MS / 1000));
    return binding;
  }

  /** Create the state (PKCE, browser-bound) and send the browser to Salesforce's authorize page. */
  async function redirectToSalesforce(
    request: FastifyRequest,
    reply: FastifyReply,
    integration: IntegrationConfig,
    status: 302 | 303,
    switchToOrg?: string,
  ) {
    const client = oauthClients.get(integration.key);
    if (!client) throw new Error(`no OAuth client for ${integration.key}`);
    const pkce = integration.salesforce.pkce ? createPkcePair() : undefined;
    let state: string;
    try {
      state = await oauthStates.create(integration.key, {
        codeVerifier: pkce?.verifier,
        browserBinding: browserBinding(request, reply),
        switchToOrg,
      });
    } catch (error) {
      if (!(error instanceof TooManyPendingStatesError)) throw error;
      return failure(
        reply.header('Retry-After', '60'),
        429,
        'Too many authorisations in progress',
        html`<p>${integration.key} already has many
        authorisations waiting for Salesforce. Finish one, or try again in a few minutes.</p>`,
      );
    }
    return reply.redirect(client.authorizeUrl(state, pkce?.challenge), status);
  }

  app.get(
    '/integrations/:project/:integration/oauth2/authenticate',
    limited(WEB_RATE_LIMIT),
    async (request, reply) => {
      const integration = integrationOf(request.params, reply);
      if (!integration) return reply;
      const { link } = AuthenticateQuery.parse(request.query);
      if (await auth.isAdmin(request)) return redirectToSalesforce(request, reply, integration, 302);
      if (link !== undefined) {
        const granted = await auth.authorizationLinks.consume(link);
        if (granted?.integration === integration.key) return redirectToSalesforce(request, reply, integration, 302);
        return loginPage(reply, 401, {
          error: 'This authorisation link has expired or was already used. Sign in to continue.',
          next: authenticatePath(integration),
        });
      }
      // Anonymous: the sign-in form, and nothing written anywhere.
      return loginPage(reply, 401, {
        next: authenticatePath(integration),
        intro: html`<p>Sign in with the admin token to authorise <strong>${integration.key}</strong> in Salesforce.</p>`,
      });
    },
  );

  app.post('/integrations/:project/:integration/oauth2/switch-org', limited(WEB_RATE_LIMIT), async (request, reply) => {
    if (!auth.checkOrigin(request, reply)) return reply;
    const integration = integrationOf(request.params, reply);
    if (!integration) return reply;
    const form = SwitchForm.safeParse(request.body);
    const pending = form.success ? await auth.orgSwitches.consume(form.data.confirm) : undefined;
    const binding = request.cookies[BROWSER_COOKIE];
    if (!pending || pending.integration !== integration.key || !binding || digest(binding) !== pending.browser) {
      return failure(
        reply,
        400,
        'This confirmation has expired or was already used',
        html`<p>Start again from the integration's
        authenticate link. Nothing was changed.</p>`,
      );
    }
    logger.warn(
      { integration: integration.key, fromOrg: pending.fromOrg, toOrg: pending.toOrg },
      'admin confirmed moving the integration to another org',
    );
    return redirectToSalesforce(request, reply, integration, 303, pending.toOrg);
  });

  app.get('/external/salesforce/oauth2/callback', limited(WEB_RATE_LIMIT), async (request, reply) => {
    const query = CallbackQuery.safeParse(request.query);
    if (!query.success || !query.data.state) {
      return failure(
        reply,
        400,
        'This sign-in response is not valid',
        html`<p>The response from Salesforce carries no valid
        <code>state</code>. Start again from the integration's authenticate link.</p>`,
      );
    }
    const binding = request.cookies[BROWSER_COOKIE];
    if (!binding) return otherBrowser(reply);
    const pending = await oauthStates.consume(query.data.state);
    if (!pending) {
      return failure(
        reply,
        400,
        'This sign-in link has expired or was already used',
        html`<p>Each sign-in can be completed
        once, within 10 minutes. Start again from the integration's authenticate link.</p>`,
      );
    }
    if (digest(binding) !== pending.browser) return otherBrowser(reply);
    const integration = config.integrations.find((i) => i.key === pending.integration);
    const client = integration ? oauthClients.get(integration.key) : undefined;
    if (!integration || !client) {
      return failure(
        reply,
        400,
        'Unknown integration',
        html`<p>The integration <code>${pending.integration}</code> is no longer
        declared in the bridge's config. Nothing was stored.</p>`,
      );
    }
    const retry = html`<p><a class="button" href="${authenticatePath(integration)}">Try again</a></p>`;

    const explain = (stage: 'redirect' | 'token', error: string, description: string) => {
      const rendered = renderOAuthErrorPage({
        error,
        description,
        integration: integration.key,
        retryHref: authenticatePath(integration),
        context: {
          stage,
          redirectUri: redirectUri(config.server.publicUrl),
          loginUrl: integration.salesforce.loginUrl,
        },
      });
      return failure(reply, rendered.status, rendered.title, rendered.body);
    };

    if (query.data.error) {
      logger.warn({ integration: integration.key, error: query.data.error }, 'authorisation refused in Salesforce');
      return explain('redirect', query.data.error, query.data.error_description ?? '');
    }
    if (!query.data.code) {
      return failure(
        reply,
        400,
        'No authorisation code',
        html`<p>Salesforce sent neither a code nor an error.</p>${retry}`,
      );
    }

    try {
      const token = await client.exchangeCode(query.data.code, pending.codeVerifier);
      const identity = await client.identity(token.id, token.access_token);
      const outcome = await completeAuthorization(
        {
          redis: deps.redis,
          prefix: config.redis.prefix,
          tokens,
          client,
          queue: deps.queues.get(integration.key),
          logger,
        },
        integration,
        token,
        identity,
        pending.switchToOrg,
      );
      if (outcome.kind === 'refused') return await otherOrg(reply, integration, outcome, binding);
      logger.info(
        { integration: integration.key, org: identity.organization_id, user: identity.username, outcome: outcome.kind },
        'integration authorised',
      );
      return await sendPage(
        reply,
        200,
        'Integration configured',
        html`<div class="notice ok"><h1>Integration configured successfully</h1>
        <p>The integration <strong>${integration.key}</strong> was configured successfully: it is connected to Salesforce org
        <code>${identity.organization_id}</code> as <strong>${identity.username}</strong>.</p></div>
        ${
          outcome.kind === 'switched'
            ? html`<p>It was moved from org <code>${outcome.fromOrg}</code> and starts from a clean position. The comments
        already in the source from that org were left there: delete them in Communications Mining if they should go.</p>`
            : ''
        }
        <p>Changes now flow to Communications Mining. Nobody needs to sign in again unless access is revoked.</p>
        <p><a class="button" href="/">Open the status page</a></p>`,
      );
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

  /** The grant came from another org than the bound one: say so, and offer the explicit move. */
  async function otherOrg(
    reply: FastifyReply,
    integration: IntegrationConfig,
    outcome: Extract<AuthorizationOutcome, { kind: 'refused' }>,
    binding: string,
  ) {
    const { token } = await auth.orgSwitches.create({
      integration: integration.key,
      fromOrg: outcome.boundOrg,
      toOrg: outcome.org,
      browser: digest(binding),
    });
    const action = authenticatePath(integration).replace(/\/authenticate$/, '/switch-org');
    return failure(
      reply,
      409,
      'This is another Salesforce org',
      html`<p>The integration <strong>${integration.key}</strong> is bound to Salesforce org
      <code>${outcome.boundOrg}</code>, but this sign-in came from org <code>${outcome.org}</code>. Nothing was stored${
        outcome.revoked ? ', and the new grant was revoked at Salesforce' : ''
      }.</p>
      <p>If you meant the bound org, sign out of Salesforce and start again with a user of <code>${outcome.boundOrg}</code>.</p>
      <section class="card"><h2>Move the integration to org ${outcome.org}?</h2>
      <p>Moving starts the integration from a clean position in the new org (replay positions, watermarks, record versions and
      history are reset). Comments already in the source from org <code>${outcome.boundOrg}</code> stay there until you delete them.
      You will sign in to Salesforce once more. You can also disconnect the integration first, then authorise it again.</p>
      <form method="post" action="${action}"><input type="hidden" name="confirm" value="${token}">
      <button type="submit">Move to org ${outcome.org}</button></form></section>
      <p><a href="/">Back to the status page</a></p>`,
    );
  }
};

function otherBrowser(reply: FastifyReply): FastifyReply {
  return failure(
    reply,
    400,
    'This sign-in was started in another browser',
    html`<p>A sign-in must finish in the browser that
    started it. Nothing was exchanged or stored. Open the integration's authenticate link in this browser to start again.</p>`,
  );
}
