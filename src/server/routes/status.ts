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
import type { AppDeps } from '../deps.ts';
import { html, type SafeHtml } from '../html.ts';
import { LoginThrottle } from '../login-throttle.ts';
import { loginPage, sendPage } from '../pages.ts';
import { limited, LOGIN_RATE_LIMIT } from '../rate-limits.ts';
import { SESSION_COOKIE, type WebAuth } from '../web-auth.ts';
import { authenticatePath, integrationViews, type BackfillView, type IntegrationView } from '../integration-status.ts';
import { locateRecord, previewRecord } from '../record-lookup.ts';
import { SALESFORCE_ID } from '../../model/record-id.ts';
import { retryDeadLetter } from '../../queue/dead-letter-retry.ts';

const LoginForm = z.object({ token: z.string().max(1000), next: z.string().max(500).optional() });
/** Where a sign-in may continue: the status page or an authenticate URL, never another site. */
const NEXT_PATH = /^\/integrations\/[A-Za-z0-9_.%-]+\/[A-Za-z0-9_%-]+\/oauth2\/authenticate$/;
const RetryForm = z.object({ integration: z.string(), id: z.uuid() });
const RecordQuery = z.object({
  integration: z.string(),
  recordId: z.string().trim().regex(SALESFORCE_ID, 'not a Salesforce Id'),
});
const PreviewQuery = RecordQuery.extend({ object: z.string().min(1) });
const NoticeQuery = z.object({ notice: z.string().max(300).optional() });

const STATE_LABEL = {
  authorized: 'authorised',
  needs_reauth: 'needs re-authorisation',
  unauthorized: 'not authorised',
} as const;

export const statusRoutes: FastifyPluginAsync<AppDeps & { auth: WebAuth }> = async (app, deps) => {
  const { config, deadLetters, queues, auth } = deps;
  const { adminToken } = config.server;
  const isAdmin = (request: FastifyRequest) => auth.isAdmin(request);
  const throttle = new LoginThrottle(deps.redis, config.redis.prefix);
  const integrationNamed = (key: string): IntegrationConfig | undefined =>
    config.integrations.find((i) => i.key === key);
  const send = (reply: FastifyReply, title: string, body: SafeHtml, status = 200) =>
    sendPage(reply, status, title, body);

  app.get('/', async (request, reply) => {
    if (!(await isAdmin(request))) return loginPage(reply, 401);
    const { notice } = NoticeQuery.parse(request.query);
    const views = await integrationViews(deps);
    const letters = await Promise.all(views.map((view) => deadLetters.list(`${view.project}/${view.name}`, 10)));
    return send(
      reply,
      'Status',
      html`<h1>sf-cm-bridge status</h1>${notice ? html`<div class="notice ok">${notice}</div>` : ''}
        ${views.map((view, index) => integrationCard(view, letters[index] ?? []))}
        ${toolsCard(config.integrations)}
        <form method="post" action="/logout"><button type="submit">Sign out</button></form>`,
    );
  });

  app.post('/status/dead-letters/retry', async (request, reply) => {
    if (!auth.checkOrigin(request, reply)) return reply;
    if (!(await isAdmin(request))) return loginPage(reply, 401);
    const form = RetryForm.parse(request.body);
    const integration = integrationNamed(form.integration);
    const outcome = integration
      ? await retryDeadLetter(deadLetters, queues.get(integration.key), integration.key, form.id)
      : undefined;
    if (outcome?.kind !== 'retried')
      return reply.redirect(
        `/?notice=${encodeURIComponent(outcome?.message ?? 'That dead letter is gone or cannot be retried.')}`,
        303,
      );
    const { letter } = outcome;
    return reply.redirect(`/?notice=${encodeURIComponent(`Retrying ${letter.object} ${letter.recordId}.`)}`, 303);
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

function integrationCard(
  view: IntegrationView,
  letters: Array<{ id: string; object: string; recordId?: string | undefined; reason: string; at: string }>,
): SafeHtml {
  const { auth } = view;
  const key = `${view.project}/${view.name}`;
  const reauthorize =
    auth.state === 'authorized'
      ? html`<a href="${authenticatePath(view)}">Re-authorise</a>`
      : html`<a class="button" href="${authenticatePath(view)}">${auth.state === 'needs_reauth' ? 'Re-authorise' : 'Authorise'} in Salesforce</a>`;
  return html`<section class="card" data-integration="${key}">
    <h2>${key} <span class="badge ${auth.state}">${STATE_LABEL[auth.state]}</span></h2>
    ${
      auth.state === 'needs_reauth'
        ? html`<div class="notice error">Salesforce rejected the stored refresh token${auth.reason ? html` (${auth.reason})` : ''}. This integration is paused; it resumes from where it stopped once an admin authorises it again.${
            auth.error
              ? html`<p><strong>Why:</strong> ${auth.error.cause}</p><p><strong>What to do:</strong> ${auth.error.fix} <a href="${auth.error.help}">Step by step</a>.</p>`
              : ''
          }</div>`
        : ''
    }
    ${view.target.state === 'paused' ? html`<div class="notice error">Pushes to Communications Mining are paused since ${view.target.since}: ${view.target.reason}. Changes wait in the queue; the bridge checks the source every minute and resumes by itself.</div>` : ''}
    <dl>
      <dt>Org</dt><dd>${auth.org ?? '—'}</dd>
      <dt>User</dt><dd>${auth.user ?? '—'}</dd>
      <dt>Authorised</dt><dd>${auth.authorizedAt ?? '—'}</dd>
      <dt>Last token refresh</dt><dd>${auth.lastRefreshAt ?? '—'}</dd>
      <dt>Backlog</dt><dd>${view.backlog} batch(es) of changes waiting</dd>
      <dt>Dead letters</dt><dd>${view.deadLetters}</dd>
    </dl>
    <p>${reauthorize}</p>
    <table><thead><tr><th>Object</th><th>Mode</th><th>Last event</th><th>Lag</th><th>Last reconcile</th><th>Backfill</th><th>Error</th></tr></thead>
    <tbody>${view.objects.map(
      (o) =>
        html`<tr><td>${o.name}</td><td>${o.mode}</td><td>${o.lastEventAt ?? '—'}</td><td>${o.lagSeconds !== undefined ? `${o.lagSeconds} s` : '—'}</td><td>${o.lastReconcileAt ?? '—'}</td><td>${backfillCell(o.backfill)}</td><td>${o.error ?? ''}</td></tr>`,
    )}</tbody></table>
    ${
      letters.length === 0
        ? ''
        : html`<h3>Dead letters</h3><table><thead><tr><th>When</th><th>Record</th><th>Reason</th><th></th></tr></thead><tbody>${letters.map(
            (letter) =>
              html`<tr><td>${letter.at}</td><td>${letter.object} ${letter.recordId ?? ''}</td><td>${letter.reason}</td><td>${
                letter.recordId
                  ? html`<form method="post" action="/status/dead-letters/retry"><input type="hidden" name="integration" value="${key}"><input type="hidden" name="id" value="${letter.id}"><button type="submit">Retry</button></form>`
                  : ''
              }</td></tr>`,
          )}</tbody></table>`
    }
  </section>`;
}

/** `bulk 4,000/10,000`, `done`, or the error of a failed run. */
function backfillCell(backfill: BackfillView | undefined): string {
  if (!backfill) return '—';
  const progress = `${backfill.mode} ${backfill.enqueued.toLocaleString('en')}${backfill.total !== undefined ? `/${backfill.total.toLocaleString('en')}` : ''}`;
  if (backfill.finishedAt) return `${progress}, done ${backfill.finishedAt}`;
  return backfill.error ? `${progress}, stopped: ${backfill.error}` : `${progress}, running or interrupted`;
}

function toolsCard(integrations: readonly IntegrationConfig[]): SafeHtml {
  const options = integrations.map((i) => html`<option value="${i.key}">${i.key}</option>`);
  return html`<section class="card"><h2>Look up a record</h2>
    <form method="get" action="/status/record"><select name="integration">${options}</select>
      <input name="recordId" placeholder="Salesforce record Id"> <button type="submit">Where is it?</button></form>
    <h2>Preview a mapping</h2>
    <form method="get" action="/status/preview"><select name="integration">${options}</select>
      <input name="object" placeholder="Object, e.g. EmailMessage" style="width:200px"> <input name="recordId" placeholder="Salesforce record Id">
      <button type="submit">Preview the comment</button></form>
  </section>`;
}
