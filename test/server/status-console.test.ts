/**
 * The status page as an ops console (#17), against a running bridge: per-object flow figures from
 * the workers' time buckets, the live refresh fragment, the buttons (each an origin-checked form
 * POST, disconnect behind a confirmation page) and the dead-letters page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowStats } from '../../src/metrics/flow-stats.ts';
import { readBackfillCheckpoint } from '../../src/reconcile/backfill.ts';
import { ADMIN_TOKEN, PUBLIC_URL } from '../helpers/bridge.ts';
import { startConsoleBridge, type ConsoleBridge } from '../helpers/console.ts';
import { adminBrowser, type Browser } from '../helpers/oauth.ts';
import { eventually } from '../helpers/redis.ts';

const INTEGRATION = 'acme/emails';
const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('status page as an ops console', () => {
  let bridge: ConsoleBridge | undefined;
  let admin: Browser;

  const running = () => bridge as ConsoleBridge;
  beforeAll(async () => {
    bridge = await startConsoleBridge();
    admin = await adminBrowser(bridge.app);
  }, 60_000);
  afterAll(async () => {
    await bridge?.close();
  });

  it('shows what the workers did per object: the chart, last-hour and 24 h counts, last push, commit → comment', async () => {
    await running().syncCases(12, 'flow');
    const flows = new FlowStats(running().harness.redis.redis, running().harness.config.redis.prefix);
    const flow = await eventually(async () => {
      const read = (await flows.read(INTEGRATION, ['Case'])).get('Case');
      return read && read.lastHour.pushed >= 12 ? read : undefined;
    }, 10_000);
    expect(flow.last24h.pushed).toBe(flow.lastHour.pushed);
    expect(flow.perMinute.reduce((sum, n) => sum + n, 0)).toBe(
      Object.values(flow.lastHour).reduce((sum, n) => sum + n, 0),
    );
    // CDC changes carry their commit time: the latency percentiles have samples.
    expect(flow.commitToComment?.samples).toBeGreaterThanOrEqual(12);
    expect(flow.lastPushAt).toBeGreaterThan(Date.now() - 60_000);

    const page = await admin.get('/');
    expect(page.statusCode).toBe(200);
    const card = /<article class="object" data-object="Case">([\s\S]*?)<\/article>/.exec(page.body)?.[1] ?? '';
    expect(card).toContain(`<dt>Last hour</dt><dd><span class="counts">${flow.lastHour.pushed} pushed`);
    expect(card).toMatch(/<svg class="chart"[^>]*aria-label="Case changes per minute: \d+ changes in the last hour/);
    expect(card).toMatch(/<rect [^>]*fill="#2456d3">/);
    expect(card).toMatch(/<dt>Last push<\/dt><dd><time datetime="[^"]+Z" title="[^"]+ UTC">\d+ s ago<\/time>/);
    expect(card).toMatch(/<dt>Commit → comment<\/dt><dd>p50 ≤ [^,]+, p99 ≤ /);
    // Nothing waits once the source holds everything: backlog in changes, lag of the oldest change.
    expect(page.body).toContain('<dd data-field="backlog">0 change(s) waiting for a worker</dd>');
    expect(page.body).toContain('<dd data-field="lag">none: nothing waits</dd>');
  }, 60_000);

  it('GET /status/live renders the live parts for the refresh script, and only for the admin', async () => {
    const live = await admin.get('/status/live');
    expect(live.statusCode).toBe(200);
    expect(live.body).toMatch(/^<div class="live" id="live-0"><h2>acme\/emails <span class="badge authorized">/);
    expect(live.body).not.toContain('<form');
    expect((await running().app.inject({ method: 'GET', url: '/status/live' })).statusCode).toBe(401);
    const script = await running().app.inject({ method: 'GET', url: '/assets/status.js' });
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toContain("fetch('/status/live'");
  });

  it('reconcile and backfill buttons queue the runs; the backfill progress shows on the page', async () => {
    const reconcile = await admin.post('/status/actions/reconcile', { integration: INTEGRATION, object: 'Case' });
    expect(reconcile.statusCode).toBe(303);
    expect(decodeURIComponent(String(reconcile.headers.location))).toBe(
      '/?notice=Reconciliation of acme/emails (Case) queued.',
    );
    const backfill = await admin.post('/status/actions/backfill', { integration: INTEGRATION, object: '', since: '' });
    expect(backfill.statusCode).toBe(303);
    expect(decodeURIComponent(String(backfill.headers.location))).toContain(
      'Backfill of acme/emails (EmailMessage, Case, all records) started',
    );
    const { redis, config } = running().harness;
    await eventually(
      async () => (await readBackfillCheckpoint(redis.redis, config.redis.prefix, INTEGRATION, 'Case'))?.finishedAt,
      20_000,
      100,
    );
    const live = await admin.get('/status/live');
    expect(live.body).toMatch(
      /<dd data-field="backfill">finished <time[^>]*>[^<]+<\/time>: \d+ record\(s\) queued<\/dd>/,
    );

    const unknown = await admin.post('/status/actions/reconcile', { integration: INTEGRATION, object: 'Account' });
    expect(decodeURIComponent(String(unknown.headers.location))).toBe('/?error=acme/emails has no object Account.');
  }, 60_000);

  it('every button refuses a POST from another site and a browser without a session', async () => {
    for (const action of ['reconcile', 'backfill', 'reauthorize', 'disconnect']) {
      const url = `/status/actions/${action}`;
      const evil = await admin.inject({
        method: 'POST',
        url,
        payload: { integration: INTEGRATION, confirm: 'yes' },
        headers: { origin: 'https://evil.example.com' },
      });
      expect(evil.statusCode, action).toBe(403);
      const anonymous = await running().app.inject({
        method: 'POST',
        url,
        payload: { integration: INTEGRATION, confirm: 'yes' },
        headers: { origin: PUBLIC_URL },
      });
      expect(anonymous.statusCode, action).toBe(401);
    }
    const status = await running().app.inject({ method: 'GET', url: `/api/integrations/acme/emails`, headers: bearer });
    expect(status.json()).toMatchObject({ auth: { state: 'authorized' } });
  });

  it('dead-letters page: filter by object and text, page, link to lookup and preview, retry all that match', async () => {
    const { deadLetters } = running().harness.context;
    const cases = await running().syncCases(3, 'letter');
    for (let i = 0; i < 55; i++)
      await deadLetters.add({
        integration: INTEGRATION,
        object: 'EmailMessage',
        recordId: `02s5g00000Ab${String(i).padStart(3, '0')}AAA`,
        reason: i % 5 === 0 ? `body too long (${i})` : `rejected by the target (${i})`,
        stage: 'push',
      });
    for (const id of cases)
      await deadLetters.add({
        integration: INTEGRATION,
        object: 'Case',
        recordId: id,
        reason: 'rejected case',
        stage: 'push',
      });

    const all = await admin.get(`/status/dead-letters?integration=${encodeURIComponent(INTEGRATION)}`);
    expect(all.body).toContain('58 dead letter(s) match; page 1 of 2.');
    expect(all.body.match(/<tr data-letter=/g)).toHaveLength(50);
    const second = await admin.get('/status/dead-letters?integration=acme%2Femails&page=2');
    expect(second.body.match(/<tr data-letter=/g)).toHaveLength(8);

    const filtered = await admin.get('/status/dead-letters?integration=acme%2Femails&object=EmailMessage&q=TOO+LONG');
    expect(filtered.body).toContain('11 dead letter(s) match; page 1 of 1.');
    expect(filtered.body).toContain(
      `<a href="/status/preview?integration=acme%2Femails&amp;object=EmailMessage&amp;recordId=02s5g00000Ab050AAA">preview</a>`,
    );
    expect(filtered.body).toContain(
      `<a href="/status/record?integration=acme%2Femails&amp;recordId=02s5g00000Ab050AAA">where is it?</a>`,
    );

    const retry = await admin.post('/status/dead-letters/retry-all', { integration: INTEGRATION, object: 'Case' });
    expect(retry.statusCode).toBe(303);
    const landing = new URL(String(retry.headers.location), PUBLIC_URL);
    expect(landing.pathname).toBe('/status/dead-letters');
    expect(landing.searchParams.get('notice')).toBe('Retrying 3 dead letter(s).');
    expect(await deadLetters.count(INTEGRATION)).toBe(55);
    const evil = await admin.inject({
      method: 'POST',
      url: '/status/dead-letters/retry-all',
      payload: { integration: INTEGRATION },
      headers: { origin: 'https://evil.example.com' },
    });
    expect(evil.statusCode).toBe(403);
    expect(await deadLetters.count(INTEGRATION)).toBe(55);
  }, 60_000);

  it('preview takes its object from a select of the configured objects', async () => {
    const page = await admin.get('/');
    expect(page.body).toContain(
      '<select name="target" aria-label="Object"><optgroup label="acme/emails"><option value="acme/emails|EmailMessage">EmailMessage</option><option value="acme/emails|Case">Case</option></optgroup></select>',
    );
    const [id] = await running().syncCases(1, 'preview');
    const preview = await admin.get(`/status/preview?target=${encodeURIComponent('acme/emails|Case')}&recordId=${id}`);
    expect(preview.statusCode).toBe(200);
    expect(preview.body).toContain(`<h1>Case ${id} would become</h1>`);
  }, 60_000);

  it('re-authorise goes on to the authenticate URL; disconnect asks first, then revokes', async () => {
    const reauthorize = await admin.post('/status/actions/reauthorize', { integration: INTEGRATION });
    expect(reauthorize.statusCode).toBe(303);
    expect(reauthorize.headers.location).toBe('/integrations/acme/emails/oauth2/authenticate');

    const ask = await admin.post('/status/actions/disconnect', { integration: INTEGRATION });
    expect(ask.statusCode).toBe(200);
    expect(ask.body).toContain('<h1>Disconnect acme/emails?</h1>');
    expect(ask.body).toContain('<input type="hidden" name="confirm" value="yes">');
    expect((await running().harness.context.tokens.store.status(INTEGRATION)).state).toBe('authorized');

    const done = await admin.post('/status/actions/disconnect', { integration: INTEGRATION, confirm: 'yes' });
    expect(done.statusCode).toBe(303);
    expect(decodeURIComponent(String(done.headers.location))).toMatch(/^\/\?notice=acme\/emails disconnected/);
    expect((await running().harness.context.tokens.store.status(INTEGRATION)).state).toBe('unauthorized');
  }, 30_000);
});
