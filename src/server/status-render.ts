/**
 * The status page's integration cards. Each card has a live part, rendered again by
 * `GET /status/live` and swapped in by assets/status.js, and the action forms, which are never
 * swapped (a half-filled form survives the refresh).
 */
import type { IntegrationConfig } from '../config/index.ts';
import type { ConsoleObjectView, ConsoleView } from './console-view.ts';
import { flowChart } from './flow-chart.ts';
import { html, type SafeHtml } from './html.ts';
import { authenticatePath, type BackfillView } from './integration-status.ts';
import { durationText, timeAgo } from './time-text.ts';
import type { OutcomeCounts } from '../metrics/flow-stats.ts';

const STATE_LABEL = {
  authorized: 'authorised',
  needs_reauth: 'needs re-authorisation',
  unauthorized: 'not authorised',
} as const;

/** The id of an integration's live part (stable across renders: the refresh swaps by it). */
export function liveId(index: number): string {
  return `live-${index}`;
}

export function integrationCard(view: ConsoleView, index: number, integration: IntegrationConfig, now: number) {
  return html`<section class="card" data-integration="${view.key}">
    <div class="live" id="${liveId(index)}">${livePart(view, now)}</div>
    ${actions(view, integration)}
  </section>`;
}

export function livePart(view: ConsoleView, now: number): SafeHtml {
  const { auth } = view;
  const usage = view.apiUsage;
  return html`<h2>${view.key} <span class="badge ${auth.state}">${STATE_LABEL[auth.state]}</span></h2>${
    auth.state === 'needs_reauth'
      ? html`<div class="notice error">Salesforce rejected the stored refresh token${auth.reason ? html` (${auth.reason})` : ''}. This integration is paused; it resumes from where it stopped once an admin authorises it again.${
          auth.error
            ? html`<p><strong>Why:</strong> ${auth.error.cause}</p><p><strong>What to do:</strong> ${auth.error.fix} <a href="${auth.error.help}">Step by step</a>.</p>`
            : ''
        }</div>`
      : ''
  }
    ${view.target.state === 'paused' ? html`<div class="notice error">Pushes to Communications Mining are paused since ${timeAgo(view.target.since, now)}: ${view.target.reason}. Changes wait in the queue; the bridge checks the source every minute and resumes by itself.</div>` : ''}
    <dl>
      <dt>Org</dt><dd>${auth.org ?? '—'}</dd>
      <dt>User</dt><dd>${auth.user ?? '—'}</dd>
      <dt>Authorised</dt><dd>${timeAgo(auth.authorizedAt, now)}</dd>
      <dt>Last token refresh</dt><dd>${timeAgo(auth.lastRefreshAt, now)}</dd>
      <dt>Backlog</dt><dd data-field="backlog">${view.changesWaiting} change(s) waiting for a worker</dd>
      <dt>Lag</dt><dd data-field="lag">${view.oldestUnprocessedAt === undefined ? 'none: nothing waits' : html`oldest unprocessed change ${timeAgo(view.oldestUnprocessedAt, now)}`}</dd>
      <dt>Dead letters</dt><dd><a href="/status/dead-letters?integration=${encodeURIComponent(view.key)}">${view.deadLetters}</a></dd>
      <dt>Salesforce API</dt><dd>${usage ? html`${Math.round((usage.used / usage.max) * 100)} % of the daily allocation (${usage.used} of ${usage.max}), read ${timeAgo(usage.at, now)}` : '—'}</dd>
    </dl>
    <div class="objects">${view.objects.map((object) => objectPart(object, now))}</div>`;
}

function objectPart(object: ConsoleObjectView, now: number): SafeHtml {
  const { flow } = object;
  const latency = flow.commitToComment;
  const backfill = object.backfill;
  return html`<article class="object" data-object="${object.name}">
    <h3>${object.name} <span class="muted">${object.mode}</span></h3>
    ${flowChart(flow.perMinute, `${object.name} changes per minute`)}
    <dl>
      <dt>Last hour</dt><dd>${counts(flow.lastHour)}</dd>
      <dt>Last 24 h</dt><dd>${counts(flow.last24h)}</dd>
      <dt>Last push</dt><dd>${timeAgo(flow.lastPushAt, now)}</dd>
      <dt>Commit → comment</dt><dd>${latency ? `p50 ≤ ${bound(latency.p50)}, p99 ≤ ${bound(latency.p99)} (${latency.samples} changes, last hour)` : '—'}</dd>
      <dt>Last event</dt><dd>${timeAgo(object.lastEventAt, now)}</dd>
      <dt>Replay headroom</dt><dd>${object.retentionHeadroomSeconds === undefined ? '—' : object.retentionHeadroomSeconds <= 0 ? html`<strong>expired</strong>: reconciliation catches up` : durationText(object.retentionHeadroomSeconds)}</dd>
      <dt>Last reconcile</dt><dd>${timeAgo(object.lastReconcileAt, now)}</dd>
      ${backfill ? html`<dt>Backfill</dt><dd data-field="backfill">${backfillText(backfill, now)}</dd>` : ''}
      ${object.error ? html`<dt>Error</dt><dd>${object.error}</dd>` : ''}
    </dl>
  </article>`;
}

/** Running (with its share done when the count is known), finished, or stopped with its error. */
function backfillText(backfill: BackfillView, now: number): SafeHtml {
  const { enqueued, total } = backfill;
  if (backfill.finishedAt) return html`finished ${timeAgo(backfill.finishedAt, now)}: ${enqueued} record(s) queued`;
  if (backfill.error) return html`stopped after ${enqueued} record(s): ${backfill.error}`;
  const percent = total ? Math.min(100, Math.round((enqueued / total) * 100)) : undefined;
  return html`running since ${timeAgo(backfill.startedAt, now)} (${backfill.mode}): ${enqueued}${total !== undefined ? ` of ${total}` : ''} record(s) queued${
    percent !== undefined ? html` <progress max="100" value="${percent}">${percent} %</progress> ${percent} %` : ''
  }`;
}

function counts(c: OutcomeCounts): SafeHtml {
  return html`<span class="counts">${c.pushed} pushed · ${c.deleted} deleted · ${c.unchanged} unchanged · ${c.rejected} rejected · ${c.dead_lettered} dead-lettered</span>`;
}

function bound(seconds: number): string {
  return Number.isFinite(seconds) ? durationText(seconds) : '> 1 d';
}

function actions(view: ConsoleView, integration: IntegrationConfig): SafeHtml {
  const key = view.key;
  const hidden = html`<input type="hidden" name="integration" value="${key}">`;
  const objectSelect = html`<select name="object"><option value="">all objects</option>${integration.objects.map((o) => html`<option value="${o.name}">${o.name}</option>`)}</select>`;
  const authorised = view.auth.state === 'authorized';
  return html`<div class="actions">
    ${
      authorised
        ? html`<form method="post" action="/status/actions/reconcile">${hidden}<label>Reconcile ${objectSelect}</label> <button type="submit">Reconcile now</button></form>
    <form method="post" action="/status/actions/backfill">${hidden}<label>Backfill ${objectSelect}</label> <label>changed since <input type="date" name="since" class="short"></label> <button type="submit">Start backfill</button></form>`
        : ''
    }
    <form method="post" action="/status/actions/reauthorize">${hidden}<button type="submit">${view.auth.state === 'unauthorized' ? 'Authorise in Salesforce' : 'Re-authorise in Salesforce'}</button></form>
    ${view.auth.state === 'unauthorized' ? '' : html`<form method="post" action="/status/actions/disconnect">${hidden}<button type="submit" class="danger">Disconnect…</button></form>`}
  </div>
  <p class="muted">Or open <a href="${authenticatePath(view)}">the authenticate URL</a> directly.</p>`;
}
