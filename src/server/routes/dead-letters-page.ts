/**
 * The dead-letters page (`GET /status/dead-letters`): every dead letter of an integration, filtered
 * by object and by text in the reason or record id, a page at a time, with links to the record
 * lookup and the preview; retry one, or retry every letter the filter matches. Admin session only;
 * the retries are origin-checked form POSTs (docs/status-page.md).
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { IntegrationConfig } from '../../config/index.ts';
import { retryDeadLetter, retryDeadLetters } from '../../queue/dead-letter-retry.ts';
import type { DeadLetter } from '../../store/dead-letters.ts';
import type { AppDeps } from '../deps.ts';
import { html, type SafeHtml } from '../html.ts';
import { loginPage, sendPage } from '../pages.ts';
import { timeAgo } from '../time-text.ts';
import type { WebAuth } from '../web-auth.ts';

/** Letters per page. */
export const DEAD_LETTERS_PER_PAGE = 50;

const Filter = z.object({
  integration: z.string().max(300).optional(),
  object: z.string().max(100).optional(),
  q: z.string().max(200).optional(),
});
const PageQuery = Filter.extend({
  page: z.coerce.number().int().min(1).max(10_000).catch(1).optional(),
  notice: z.string().max(300).optional(),
});
const RetryForm = z.object({ integration: z.string(), id: z.uuid(), back: z.string().max(1000).optional() });

type FilterValues = z.infer<typeof Filter>;

/** The page's URL for a filter and page number (also where a retry lands back). */
export function deadLettersPath(filter: FilterValues & { page?: number; notice?: string }): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filter)) if (value) params.set(name, String(value));
  return `/status/dead-letters?${params.toString()}`;
}

export const deadLetterPageRoutes: FastifyPluginAsync<AppDeps & { auth: WebAuth }> = async (app, deps) => {
  const { config, deadLetters, queues, auth } = deps;
  const integrationNamed = (key: string | undefined): IntegrationConfig | undefined =>
    config.integrations.find((i) => i.key === key) ?? (key === undefined ? config.integrations[0] : undefined);

  app.get('/status/dead-letters', async (request, reply) => {
    if (!(await auth.isAdmin(request))) return loginPage(reply, 401);
    const query = PageQuery.safeParse(request.query);
    const integration = query.success ? integrationNamed(query.data.integration) : undefined;
    if (!query.success || !integration)
      return sendPage(
        reply,
        400,
        'Dead letters',
        html`<div class="notice error">No such integration.</div><p><a href="/">Back</a></p>`,
      );
    const filter = {
      integration: integration.key,
      object: query.data.object || undefined,
      q: query.data.q || undefined,
    };
    const page = query.data.page ?? 1;
    const { items, total } = await deadLetters.search(
      integration.key,
      { object: filter.object, text: filter.q },
      (page - 1) * DEAD_LETTERS_PER_PAGE,
      DEAD_LETTERS_PER_PAGE,
    );
    const pages = Math.max(1, Math.ceil(total / DEAD_LETTERS_PER_PAGE));
    const here = deadLettersPath({ ...filter, page });
    const now = Date.now();
    return sendPage(
      reply,
      200,
      'Dead letters',
      html`<h1>Dead letters of ${integration.key}</h1>
        ${query.data.notice ? html`<div class="notice ok">${query.data.notice}</div>` : ''}
        <p><a href="/">Back to the status page</a></p>
        ${filterForm(config.integrations, integration, filter)}
        <section class="card">
          <p>${total === 0 ? 'No dead letters match.' : `${total} dead letter(s) match; page ${page} of ${pages}.`}</p>
          ${
            total > 0
              ? html`<form method="post" action="/status/dead-letters/retry-all" class="actions">
                  <input type="hidden" name="integration" value="${integration.key}">
                  ${filter.object ? html`<input type="hidden" name="object" value="${filter.object}">` : ''}
                  ${filter.q ? html`<input type="hidden" name="q" value="${filter.q}">` : ''}
                  <button type="submit">Retry all ${total} matching</button></form>`
              : ''
          }
          ${items.length > 0 ? letterTable(items, integration.key, here, now) : ''}
          ${pager(filter, page, pages)}
        </section>`,
    );
  });

  app.post('/status/dead-letters/retry', async (request, reply) => {
    if (!auth.checkOrigin(request, reply)) return reply;
    if (!(await auth.isAdmin(request))) return loginPage(reply, 401);
    const form = RetryForm.parse(request.body);
    const integration = integrationNamed(form.integration);
    const outcome = integration
      ? await retryDeadLetter(deadLetters, queues.get(integration.key), integration.key, form.id)
      : undefined;
    const notice =
      outcome?.kind === 'retried'
        ? `Retrying ${outcome.letter.object} ${outcome.letter.recordId}.`
        : (outcome?.message ?? 'That dead letter is gone or cannot be retried.');
    return backTo(reply, form.back, notice);
  });

  app.post('/status/dead-letters/retry-all', async (request, reply) => {
    if (!auth.checkOrigin(request, reply)) return reply;
    if (!(await auth.isAdmin(request))) return loginPage(reply, 401);
    const form = Filter.parse(request.body);
    const integration = integrationNamed(form.integration);
    const queue = integration ? queues.get(integration.key) : undefined;
    if (!integration || !queue) return backTo(reply, undefined, 'No such integration.');
    const { items } = await deadLetters.search(
      integration.key,
      { object: form.object || undefined, text: form.q || undefined },
      0,
      Number.MAX_SAFE_INTEGER,
    );
    const { retried, kept } = await retryDeadLetters(deadLetters, queue, integration.key, items);
    const notice = `Retrying ${retried} dead letter(s).${kept > 0 ? ` ${kept} name no record and stay: reconcile their object instead.` : ''}`;
    return reply.redirect(
      deadLettersPath({ integration: integration.key, object: form.object, q: form.q, notice }),
      303,
    );
  });
};

/** Where a retry lands: the dead-letters page it came from, else the status page. */
function backTo(reply: FastifyReply, back: string | undefined, notice: string): FastifyReply {
  const target = back?.startsWith('/status/dead-letters?') ? back : '/?';
  const separator = target.endsWith('?') ? '' : '&';
  return reply.redirect(`${target}${separator}notice=${encodeURIComponent(notice)}`, 303);
}

function filterForm(
  integrations: readonly IntegrationConfig[],
  integration: IntegrationConfig,
  filter: FilterValues,
): SafeHtml {
  return html`<form method="get" action="/status/dead-letters" class="card filters">
    <label>Integration<br><select name="integration">${integrations.map((i) => html`<option value="${i.key}"${i.key === integration.key ? html` selected` : ''}>${i.key}</option>`)}</select></label>
    <label>Object<br><select name="object"><option value="">all objects</option>${integration.objects.map((o) => html`<option value="${o.name}"${o.name === filter.object ? html` selected` : ''}>${o.name}</option>`)}</select></label>
    <label>Reason or record Id contains<br><input name="q" value="${filter.q ?? ''}" class="short"></label>
    <button type="submit">Filter</button>
  </form>`;
}

function letterTable(letters: readonly DeadLetter[], integration: string, here: string, now: number): SafeHtml {
  const q = (params: Record<string, string>) => new URLSearchParams({ integration, ...params }).toString();
  return html`<table><thead><tr><th>When</th><th>Object</th><th>Record</th><th>Stage</th><th>Reason</th><th></th></tr></thead><tbody>${letters.map(
    (letter) =>
      html`<tr data-letter="${letter.id}"><td>${timeAgo(letter.at, now)}</td><td>${letter.object}</td><td>${
        letter.recordId
          ? html`${letter.recordId}<br><a href="/status/record?${q({ recordId: letter.recordId })}">where is it?</a> · <a href="/status/preview?${q({ object: letter.object, recordId: letter.recordId })}">preview</a>`
          : '—'
      }</td><td>${letter.stage}</td><td>${letter.reason}</td><td>${
        letter.recordId
          ? html`<form method="post" action="/status/dead-letters/retry"><input type="hidden" name="integration" value="${integration}"><input type="hidden" name="id" value="${letter.id}"><input type="hidden" name="back" value="${here}"><button type="submit">Retry</button></form>`
          : ''
      }</td></tr>`,
  )}</tbody></table>`;
}

function pager(filter: FilterValues, page: number, pages: number): SafeHtml {
  if (pages <= 1) return html``;
  return html`<nav class="pages">${page > 1 ? html`<a href="${deadLettersPath({ ...filter, page: page - 1 })}">← newer</a>` : ''}<span>page ${page} of ${pages}</span>${page < pages ? html`<a href="${deadLettersPath({ ...filter, page: page + 1 })}">older →</a>` : ''}</nav>`;
}
