import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, type BridgeApp } from '../../src/server/app.ts';
import { ADMIN_TOKEN, PUBLIC_URL, startBridgeHarness, type BridgeHarness } from '../helpers/bridge.ts';
import { completeFlow, INTEGRATION } from '../helpers/oauth.ts';

const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('admin API and status page', () => {
  let harness: BridgeHarness;
  let app: BridgeApp;

  beforeEach(async () => {
    harness = await startBridgeHarness();
    app = await buildApp(harness.context);
  });
  afterEach(async () => {
    await app.close();
    await harness.close();
  });

  it.each([
    ['no header', {}],
    ['a wrong token', { authorization: 'Bearer not-the-admin-token-at-all' }],
    ['a token of another length', { authorization: 'Bearer x' }],
    ['basic auth', { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` }],
  ])('the admin API answers 401 with %s', async (_label, headers) => {
    for (const [method, url] of [
      ['GET', '/api/integrations'],
      ['GET', '/api/integrations/acme/emails'],
      ['DELETE', '/api/integrations/acme/emails/authorization'],
    ] as const) {
      const response = await app.inject({ method, url, headers });
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="sf-cm-bridge"');
    }
  });

  it('lists integrations in the contract shape, before and after authorisation', async () => {
    const before = await app.inject({ method: 'GET', url: '/api/integrations', headers: bearer });
    expect(before.json()).toEqual({
      integrations: [
        {
          project: 'acme',
          name: 'emails',
          auth: { state: 'unauthorized' },
          objects: [{ name: 'EmailMessage', mode: 'cdc', backlog: 0 }],
          backlog: 0,
          deadLetters: 0,
          target: { state: 'ok' },
        },
      ],
    });
    await completeFlow(app);
    const after = await app.inject({ method: 'GET', url: '/api/integrations/acme/emails', headers: bearer });
    expect(after.statusCode).toBe(200);
    const body = after.json();
    expect(body.auth).toMatchObject({
      state: 'authorized',
      org: '00D5g00000SbxQEEAZ',
      user: 'integration@sandbox.example.com',
    });
    expect(JSON.stringify(body)).not.toMatch(/00D5g00000SbxQEEAZ!|refresh|access_token|accessToken/i);
    expect((await app.inject({ method: 'GET', url: '/api/integrations/acme/nope', headers: bearer })).statusCode).toBe(
      404,
    );
  });

  it('the status page asks for the admin token, then sets an HttpOnly SameSite cookie', async () => {
    const anonymous = await app.inject({ method: 'GET', url: '/' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.body).toContain('<form class="card" method="post" action="/login">');
    expect(anonymous.body).not.toContain('acme/emails');

    const fromPage = { origin: PUBLIC_URL };
    const wrong = await app.inject({ method: 'POST', url: '/login', payload: { token: 'nope' }, headers: fromPage });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('That is not the admin token.');

    const login = await app.inject({
      method: 'POST',
      url: '/login',
      payload: { token: ADMIN_TOKEN },
      headers: fromPage,
    });
    expect(login.statusCode).toBe(303);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/^sfcm_admin=[A-Za-z0-9_-]+;/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).not.toContain(ADMIN_TOKEN);

    const cookie = setCookie.split(';')[0] ?? '';
    const page = await app.inject({ method: 'GET', url: '/', headers: { cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('acme/emails <span class="badge unauthorized">not authorised</span>');
    expect(page.body).toContain('href="/integrations/acme/emails/oauth2/authenticate"');
    expect(page.body).toContain('<article class="object" data-object="EmailMessage">');
    expect(page.body).toContain('<script src="/assets/status.js" defer></script>');
    expect(page.body).not.toContain(ADMIN_TOKEN);
  });

  it('the status page shows a needs-re-authorisation integration with its re-authorise link', async () => {
    await completeFlow(app);
    const token = (await harness.context.tokens.session(INTEGRATION)).accessToken;
    harness.org.oauth.revokeRefreshTokens();
    await harness.context.tokens.refresh(INTEGRATION, token).catch(() => undefined);
    const page = await app.inject({ method: 'GET', url: '/', headers: bearer });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<span class="badge needs_reauth">needs re-authorisation</span>');
    expect(page.body).toContain('This integration is paused');
    // The re-authorise button: an origin-checked POST that goes on to the authenticate URL.
    expect(page.body).toContain(
      '<form method="post" action="/status/actions/reauthorize"><input type="hidden" name="integration" value="acme/emails"><button type="submit">Re-authorise in Salesforce</button></form>',
    );
    expect(page.body).toContain('integration@sandbox.example.com');
  });

  it('dead letters are listed and retried: the record is fetched and pushed again', async () => {
    const letter = await harness.context.deadLetters.add({
      integration: INTEGRATION,
      object: 'EmailMessage',
      recordId: '02s5g00000AbCdEAAV',
      reason: 'Communications Mining rejected the comment: bad',
      stage: 'push',
      payload: { id: '02s5g00000AbCdEAAV' },
    });
    const list = await app.inject({
      method: 'GET',
      url: '/api/integrations/acme/emails/dead-letters',
      headers: bearer,
    });
    expect(list.json()).toEqual({
      items: [
        {
          id: letter.id,
          object: 'EmailMessage',
          recordId: '02s5g00000AbCdEAAV',
          reason: letter.reason,
          stage: 'push',
          at: letter.at,
        },
      ],
    });
    const queue = harness.context.queues.get(INTEGRATION);
    expect(await queue?.backlog()).toBe(0);

    const retry = await app.inject({
      method: 'POST',
      url: `/api/integrations/acme/emails/dead-letters/${letter.id}/retry`,
      headers: bearer,
    });
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual({ retried: letter.id, object: 'EmailMessage', recordId: '02s5g00000AbCdEAAV' });
    expect(await queue?.backlog()).toBe(1);
    const [job] = (await queue?.queue.getWaiting()) ?? [];
    expect(job?.data.changes).toEqual([
      expect.objectContaining({
        object: 'EmailMessage',
        recordId: '02s5g00000AbCdEAAV',
        kind: 'REFRESH',
        origin: 'retry',
      }),
    ]);
    expect(await harness.context.deadLetters.count(INTEGRATION)).toBe(0);

    const again = await app.inject({
      method: 'POST',
      url: `/api/integrations/acme/emails/dead-letters/${letter.id}/retry`,
      headers: bearer,
    });
    expect(again.statusCode).toBe(404);
    const malformed = await app.inject({
      method: 'POST',
      url: '/api/integrations/acme/emails/dead-letters/not-a-uuid/retry',
      headers: bearer,
    });
    expect(malformed.statusCode).toBe(400);
  });

  it('a dead letter with an invalid record id keeps no recordId, and its retry answers why it cannot be retried', async () => {
    const letter = await harness.context.deadLetters.add({
      integration: INTEGRATION,
      object: 'EmailMessage',
      recordId: 'not an id!',
      reason: 'malformed change event: invalid record id "not an id!"',
      stage: 'event',
    });
    expect(letter.recordId).toBeUndefined();
    const list = await app.inject({
      method: 'GET',
      url: '/api/integrations/acme/emails/dead-letters',
      headers: bearer,
    });
    expect(list.json().items).toEqual([expect.not.objectContaining({ recordId: expect.anything() })]);

    const retry = await app.inject({
      method: 'POST',
      url: `/api/integrations/acme/emails/dead-letters/${letter.id}/retry`,
      headers: bearer,
    });
    expect(retry.statusCode).toBe(422);
    expect(retry.json()).toEqual({ error: 'not_retryable', message: expect.stringContaining('names no record') });
    // Still listed: nothing was queued, nothing removed.
    expect(await harness.context.deadLetters.count(INTEGRATION)).toBe(1);
    expect(await harness.context.queues.get(INTEGRATION)?.backlog()).toBe(0);
  });

  it('healthz and readyz', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { config: true, redis: true } });
  });
});
