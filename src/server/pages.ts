/** Sending the bridge's HTML pages: never cached, and the sign-in form they share. */
import type { FastifyReply } from 'fastify';
import { html, page, type SafeHtml } from './html.ts';

export function sendPage(
  reply: FastifyReply,
  status: number,
  title: string,
  body: SafeHtml,
  options: { script?: string } = {},
): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('Cache-Control', 'no-store')
    .send(page(title, body, options));
}

/** A page with an error notice as its heading. */
export function failurePage(reply: FastifyReply, status: number, title: string, body: SafeHtml): FastifyReply {
  return sendPage(reply, status, title, html`<div class="notice error"><h1>${title}</h1></div>${body}`);
}

/** The sign-in form (`POST /login`, field `token`); `next` is where a successful sign-in continues. */
export function loginPage(
  reply: FastifyReply,
  status: number,
  options: { error?: string | undefined; next?: string | undefined; intro?: SafeHtml } = {},
): FastifyReply {
  return sendPage(
    reply,
    status,
    'Sign in',
    html`<h1>sf-cm-bridge</h1>${options.error ? html`<div class="notice error">${options.error}</div>` : ''}${options.intro ?? ''}
      <form class="card" method="post" action="/login">
        <p><label>Admin token<br><input type="password" name="token" autocomplete="current-password" autofocus></label></p>
        ${options.next ? html`<input type="hidden" name="next" value="${options.next}">` : ''}
        <button type="submit">Sign in</button>
      </form>`,
  );
}
