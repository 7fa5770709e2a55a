/**
 * The status page (`GET /`), for the admin token holder only: a login form sets an HttpOnly,
 * SameSite=Strict session cookie so the token is typed once and never lands in a URL or history.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { isAdminBearer, isAdminSession, safeEqual, SESSION_COOKIE, sessionValue } from '../admin-auth.ts';
import type { AppDeps } from '../deps.ts';
import { html, page, type SafeHtml } from '../html.ts';
import { authenticatePath, integrationViews, type IntegrationView } from '../integration-status.ts';

const LoginForm = z.object({ token: z.string().max(1000) });

const STATE_LABEL = { authorized: 'authorised', needs_reauth: 'needs re-authorisation', unauthorized: 'not authorised' } as const;

export const statusRoutes: FastifyPluginAsync<AppDeps> = async (app, deps) => {
  const { adminToken, publicUrl } = deps.config.server;
  const secureCookie = publicUrl.startsWith('https://');

  app.get('/', async (request, reply) => {
    if (!isAdminSession(request, adminToken) && !isAdminBearer(request, adminToken)) return loginPage(reply, 401);
    const views = await integrationViews(deps);
    return reply
      .type('text/html; charset=utf-8')
      .header('Cache-Control', 'no-store')
      .send(page('Status', html`<h1>sf-cm-bridge status</h1>${views.map(integrationCard)}
        <form method="post" action="/logout"><button type="submit">Sign out</button></form>`));
  });

  app.post('/login', async (request, reply) => {
    const form = LoginForm.safeParse(request.body);
    if (!form.success || !safeEqual(form.data.token, adminToken)) return loginPage(reply, 401, 'That is not the admin token.');
    reply.setCookie(SESSION_COOKIE, sessionValue(adminToken), {
      httpOnly: true,
      sameSite: 'strict',
      secure: secureCookie,
      path: '/',
      maxAge: 12 * 60 * 60,
    });
    return reply.redirect('/', 303);
  });

  app.post('/logout', async (_request, reply) => {
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.redirect('/', 303);
  });
};

function loginPage(reply: FastifyReply, status: number, error?: string): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('Cache-Control', 'no-store')
    .send(
      page('Sign in', html`<h1>sf-cm-bridge</h1>${error ? html`<div class="notice error">${error}</div>` : ''}
        <form class="card" method="post" action="/login">
          <p><label>Admin token<br><input type="password" name="token" autocomplete="current-password" autofocus></label></p>
          <button type="submit">Sign in</button>
        </form>`),
    );
}

function integrationCard(view: IntegrationView): SafeHtml {
  const { auth } = view;
  const reauthorize =
    auth.state === 'authorized'
      ? html`<a href="${authenticatePath(view)}">Re-authorise</a>`
      : html`<a class="button" href="${authenticatePath(view)}">${auth.state === 'needs_reauth' ? 'Re-authorise' : 'Authorise'} in Salesforce</a>`;
  return html`<section class="card" data-integration="${view.project}/${view.name}">
    <h2>${view.project}/${view.name} <span class="badge ${auth.state}">${STATE_LABEL[auth.state]}</span></h2>
    ${auth.state === 'needs_reauth' ? html`<div class="notice error">Salesforce rejected the stored refresh token${auth.reason ? html` (${auth.reason})` : ''}. This integration is paused; it resumes from where it stopped once an admin authorises it again.</div>` : ''}
    <dl>
      <dt>Org</dt><dd>${auth.org ?? '—'}</dd>
      <dt>User</dt><dd>${auth.user ?? '—'}</dd>
      <dt>Authorised</dt><dd>${auth.authorizedAt ?? '—'}</dd>
      <dt>Last token refresh</dt><dd>${auth.lastRefreshAt ?? '—'}</dd>
      <dt>Backlog</dt><dd>${view.backlog} change(s) waiting</dd>
      <dt>Dead letters</dt><dd>${view.deadLetters}</dd>
    </dl>
    <p>${reauthorize}</p>
    <table><thead><tr><th>Object</th><th>Mode</th><th>Last event</th><th>Last reconcile</th><th>Error</th></tr></thead>
    <tbody>${view.objects.map(
      (o) => html`<tr><td>${o.name}</td><td>${o.mode}</td><td>${o.lastEventAt ?? '—'}</td><td>${o.lastReconcileAt ?? '—'}</td><td>${o.error ?? ''}</td></tr>`,
    )}</tbody></table>
  </section>`;
}
