/**
 * The status page (`GET /`) and its forms, for the admin token holder only: a login form starts a
 * server-side session (src/server/admin-sessions.ts) whose id travels in an HttpOnly,
 * SameSite=Strict cookie, so the token is typed once and never lands in a URL or history. Every
 * form POST checks its origin (src/server/origin-check.ts); failed sign-ins are limited per client
 * address across all api replicas (docs/security.md, "Limits").
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { IntegrationConfig } from '../../config/index.ts';
import { safeEqual } from '../admin-auth.ts';
import { consoleViews } from '../console-view.ts';
import type { AppDeps } from '../deps.ts';
import { html, type SafeHtml } from '../html.ts';
import { LoginThrottle } from '../login-throttle.ts';
import { loginPage, sendPage } from '../pages.ts';
import { limited, LOGIN_RATE_LIMIT } from '../rate-limits.ts';
import { integrationCard, livePart, liveId } from '../status-render.ts';
import { SESSION_COOKIE, type WebAuth } from '../web-auth.ts';
import { locateRecord, previewRecord } from '../record-lookup.ts';
import { SALESFORCE_ID } from '../../model/record-id.ts';

const LoginForm = z.object({ token: z.string().max(1000), next: z.string().max(500).optional() });
/** Where a sign-in may continue: the status page or an authenticate URL, never another site. */
const NEXT_PATH = /^\/integrations\/[A-Za-z0-9_.%-]+\/[A-Za-z0-9_%-]+\/oauth2\/authenticate$/;
const RecordQuery = z.object({
  integration: z.string(),
  recordId: z.string().trim().regex(SALESFORCE_ID, 'not a Salesforce Id'),
});
/** The preview form sends one `target` (`<integration>|<object>`, a select of the configured pairs); links send both. */
const PreviewQuery = z.preprocess(
  (query) => {
    if (typeof query !== 'object' || query === null || !('target' in query) || typeof query.target !== 'string')
      return query;
    const [integration, object] = query.target.split('|');
    return { ...query, integration, object };
  },
  RecordQuery.extend({ object: z.string().min(1) }),
);
const NoticeQuery = z.object({ notice: z.string().max(300).optional(), error: z.string().max(300).optional() });

export const statusRoutes: FastifyPluginAsync<AppDeps & { auth: WebAuth }> = async (app, deps) => {
  const { config, auth } = deps;
  const { adminToken } = config.server;
  const isAdmin = (request: FastifyRequest) => auth.isAdmin(request);
  const throttle = new LoginThrottle(deps.redis, config.redis.prefix);
  const integrationNamed = (key: string): IntegrationConfig | undefined =>
    config.integrations.find((i) => i.key === key);
  const send = (reply: FastifyReply, title: string, body: SafeHtml, status = 200) =>
    sendPage(reply, status, title, body);

  app.get('/', async (request, reply) => {
    if (!(await isAdmin(request))) return loginPage(reply, 401);
    const query = NoticeQuery.safeParse(request.query);
    const { notice, error } = query.success ? query.data : {};
    const now = Date.now();
    const views = await consoleViews(deps, now);
    return sendPage(
      reply,
      200,
      'Status',
      html`<h1>sf-cm-bridge status</h1>${notice ? html`<div class="notice ok">${notice}</div>` : ''}${error ? html`<div class="notice error">${error}</div>` : ''}
        ${views.map((view, index) => integrationCard(view, index, config.integrations[index] as IntegrationConfig, now))}
        ${toolsCard(config.integrations)}
        <form method="post" action="/logout"><button type="submit">Sign out</button></form>`,
      { script: '/assets/status.js' },
    );
  });

  /** The live parts of the status page, for its refresh script (assets/status.js). */
  app.get('/status/live', async (request, reply) => {
    if (!(await isAdmin(request))) return reply.code(401).send({ error: 'unauthorized', message: 'sign in again' });
    const now = Date.now();
    const views = await consoleViews(deps, now);
    return reply
      .type('text/html; charset=utf-8')
      .header('Cache-Control', 'no-store')
      .send(
        html`${views.map((view, index) => html`<div class="live" id="${liveId(index)}">${livePart(view, now)}</div>`)}`
          .value,
      );
  });

  app.get('/status/record', async (request, reply) => {
    if (!(await isAdmin(request))) return loginPage(reply, 401);
    const query = RecordQuery.safeParse(request.query);
    const integration = query.success ? integrationNamed(query.data.integration) : undefined;
    if (!query.success || !integration)
      return send(
        reply,
        'Record',
        html`<div class="notice error">Give an integration and a Salesforce record Id.</div><p><a href="/">Back</a></p>`,
        400,
      );
    const location = await locateRecord(deps, integration, query.data.recordId);
    return send(
      reply,
      'Record',
      html`<h1>Where is ${location.recordId}?</h1>
        ${location.found ? '' : html`<p>The bridge has seen no change of this record in <code>${integration.key}</code>.</p>`}
        ${location.objects.map(
          (o) => html`<section class="card"><h2>${o.object}</h2><dl>
            <dt>Last change</dt><dd>${o.lastChange ? `${o.lastChange.kind} from ${o.lastChange.origin}${o.lastChange.replayId !== undefined ? ` (replay id ${o.lastChange.replayId})` : ''}, queued ${o.lastChange.enqueuedAt}` : '—'}</dd>
            <dt>Processed</dt><dd>${o.processed ? `${o.processed.outcome} at ${o.processed.at}` : '—'}</dd>
            <dt>In the source</dt><dd>${o.inSource ? `${o.inSource.state} as comment ${o.inSource.commentId}, version ${o.inSource.version}, pushed ${o.inSource.pushedAt}` : '—'}</dd>
            <dt>Dead letters</dt><dd>${o.deadLetters.length === 0 ? 'none' : o.deadLetters.map((d) => html`<div>${d.at} (${d.stage}): ${d.reason}</div>`)}</dd>
          </dl></section>`,
        )}<p><a href="/">Back</a></p>`,
    );
  });

  app.get('/status/preview', async (request, reply) => {
    if (!(await isAdmin(request))) return loginPage(reply, 401);
    const query = PreviewQuery.safeParse(request.query);
    const integration = query.success ? integrationNamed(query.data.integration) : undefined;
    if (!query.success || !integration)
      return send(
        reply,
        'Preview',
        html`<div class="notice error">Give an integration, an object and a record Id.</div><p><a href="/">Back</a></p>`,
        400,
      );
    const preview = await previewRecord(deps, integration, query.data.object, query.data.recordId);
    if (preview.kind !== 'ok')
      return send(
        reply,
        'Preview',
        html`<div class="notice error">${preview.message}</div><p><a href="/">Back</a></p>`,
        preview.kind === 'not_found' ? 404 : 400,
      );
    const { result } = preview;
    return send(
      reply,
      'Preview',
      html`<h1>${result.object} ${result.recordId} would become</h1>
        <p>${result.inScope ? 'In scope: this comment is what the source holds once the record is synced.' : "Out of scope (the object's where condition excludes it): it would be deleted from the source."}</p>
        ${result.comment ? html`<pre class="card">${JSON.stringify(result.comment, null, 2)}</pre>` : html`<div class="notice error">Cannot be converted: ${result.reason}</div>`}
        <p><a href="/">Back</a></p>`,
    );
  });

  app.post('/login', limited(LOGIN_RATE_LIMIT), async (request, reply) => {
    if (!auth.checkOrigin(request, reply)) return reply;
    const form = LoginForm.safeParse(request.body);
    const next = form.success && form.data.next && NEXT_PATH.test(form.data.next) ? form.data.next : undefined;
    const lockedFor = await throttle.lockedFor(request.ip);
    if (lockedFor > 0) {
      request.log.warn({ client: request.ip }, 'sign-in refused: too many failed attempts');
      reply.header('Retry-After', String(Math.ceil(lockedFor / 1000)));
      return loginPage(reply, 429, {
        error: `Too many failed sign-ins from this address. Try again in ${Math.ceil(lockedFor / 60_000)} minute(s).`,
        next,
      });
    }
    if (!form.success || !safeEqual(form.data.token, adminToken)) {
      await throttle.failed(request.ip);
      return loginPage(reply, 401, { error: 'That is not the admin token.', next });
    }
    await throttle.succeeded(request.ip);
    const session = await auth.sessions.create();
    reply.setCookie(SESSION_COOKIE, session, auth.cookie('strict', Math.floor(auth.sessions.ttlMs / 1000)));
    return reply.redirect(next ?? '/', 303);
  });

  app.post('/logout', async (request, reply) => {
    if (!auth.checkOrigin(request, reply)) return reply;
    await auth.sessions.destroy(request.cookies[SESSION_COOKIE]);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.redirect('/', 303);
  });
};

function toolsCard(integrations: readonly IntegrationConfig[]): SafeHtml {
  const options = integrations.map((i) => html`<option value="${i.key}">${i.key}</option>`);
  // One select of every configured integration/object pair: no free text, no mismatched pair.
  const objects = integrations.map(
    (i) =>
      html`<optgroup label="${i.key}">${i.objects.map((o) => html`<option value="${i.key}|${o.name}">${o.name}</option>`)}</optgroup>`,
  );
  return html`<section class="card"><h2>Look up a record</h2>
    <form method="get" action="/status/record" class="filters"><select name="integration">${options}</select>
      <input name="recordId" placeholder="Salesforce record Id"> <button type="submit">Where is it?</button></form>
    <h2>Preview a mapping</h2>
    <form method="get" action="/status/preview" class="filters"><select name="target" aria-label="Object">${objects}</select>
      <input name="recordId" placeholder="Salesforce record Id">
      <button type="submit">Preview the comment</button></form>
  </section>`;
}
