/**
 * The admin's path through each OAuth error an External Client App produces, through the bridge's
 * real app against the sandbox org, and the recovery once the admin has fixed the app in "Setup"
 * (the org's Control API).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type BridgeApp } from '../../src/server/app.ts';
import { NEW_EXTERNAL_CLIENT_APP_POLICIES, type AppPolicies } from '@sf-cm-bridge/sandbox/org';
import { ADMIN_TOKEN, CLIENT_ID, PUBLIC_URL, startBridgeHarness, type BridgeHarness } from '../helpers/bridge.ts';
import { eventually } from '../helpers/redis.ts';
import { adminBrowser, AUTHENTICATE, completeFlow, INTEGRATION, type Browser } from '../helpers/oauth.ts';

const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
const CLOSED: AppPolicies = { ...NEW_EXTERNAL_CLIENT_APP_POLICIES, pkceRequired: false };

let harness: BridgeHarness | undefined;
let app: BridgeApp | undefined;
/** The signed-in admin's browser: only an admin starts an authorisation, and the callback must come back to it. */
let browser: Browser;

async function start(
  options: Parameters<typeof startBridgeHarness>[0] = {},
): Promise<{ harness: BridgeHarness; app: BridgeApp }> {
  harness = await startBridgeHarness(options);
  app = await buildApp(harness.context);
  browser = await adminBrowser(app);
  return { harness, app };
}
afterEach(async () => {
  await app?.close();
  await harness?.close();
  app = undefined;
  harness = undefined;
});

/** Authenticate, then Salesforce's answer to the authorize request (auto-approved as the integration user). */
async function signIn(_bridge: BridgeApp): Promise<Response> {
  const start = await browser.get(AUTHENTICATE);
  expect(start.statusCode).toBe(302);
  return fetch(String(start.headers.location), { redirect: 'manual' });
}

/** The whole browser round trip: the page the bridge shows after Salesforce sends the browser back. */
async function roundTrip(bridge: BridgeApp) {
  const answer = await signIn(bridge);
  expect(answer.status).toBe(302);
  const back = new URL(String(answer.headers.get('location')));
  expect(back.origin + back.pathname).toBe(`${PUBLIC_URL}/external/salesforce/oauth2/callback`);
  return browser.get(back.pathname + back.search);
}

const changeApp = async (h: BridgeHarness, change: { policies?: AppPolicies; rotateRefreshTokens?: boolean }) => {
  const res = await fetch(`${h.org.url}/_sandbox/sf/oauth/apps/${CLIENT_ID}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(change),
  });
  expect(res.status).toBe(200);
};

function expectErrorPage(body: string, code: string, title: string) {
  expect(body).toContain(`<h1>${title}</h1>`);
  expect(body).toContain(`<code>${code}</code>`);
  expect(body).toContain(`<code>${INTEGRATION}</code>`);
  expect(body).toContain('<strong>What to do:</strong>');
  expect(body).toMatch(/href="https:\/\/[^"]+README\.md#[a-z-]+">README → Configure a real org → [A-Z][A-Za-z ]+<\/a>/);
  expect(body).toContain(`href="${AUTHENTICATE}">Try again</a>`);
}

describe('errors on the redirect back from Salesforce', () => {
  it.each([
    ['access_denied', 'end-user denied authorization', 403, 'Access was not granted'],
    [
      'OAUTH_APP_ACCESS_DENIED',
      'user is not admin approved to access this app',
      403,
      'This user is not pre-authorised for the app',
    ],
    ['invalid_request', 'missing required code challenge', 400, 'The app requires PKCE'],
    ['invalid_scope', 'the requested scope is not allowed', 400, 'The app does not offer the scopes the bridge needs'],
    [
      'unsupported_response_type',
      'response type not supported',
      400,
      'Salesforce does not offer the web-server flow here',
    ],
    ['inactive_user', 'user is inactive', 403, 'The Salesforce user is inactive'],
    ['inactive_org', 'org is inactive', 403, 'The Salesforce org is inactive'],
    ['rate_limit_exceeded', 'too many requests', 400, 'Too many sign-in attempts'],
    ['server_error', 'internal error', 400, 'Salesforce reported an error'],
  ])(
    '%s gets a page that names the cause and the fix, and stores nothing',
    async (error, description, status, title) => {
      const { harness: h } = await start();
      const state = new URL(String((await browser.get(AUTHENTICATE)).headers.location)).searchParams.get('state') ?? '';
      const query = new URLSearchParams({ error, error_description: description, state });
      const page = await browser.get(`/external/salesforce/oauth2/callback?${query.toString()}`);
      expect(page.statusCode).toBe(status);
      expectErrorPage(page.body, error, title);
      expect(page.body).toContain(`<em>${description}</em>`);
      expect((await h.context.tokens.store.status(INTEGRATION)).state).toBe('unauthorized');
    },
  );

  it('what Salesforce sent is shown escaped', async () => {
    await start();
    const state = new URL(String((await browser.get(AUTHENTICATE)).headers.location)).searchParams.get('state') ?? '';
    const query = new URLSearchParams({
      error: '<img src=x onerror=alert(1)>',
      error_description: '<script>alert(2)</script>',
      state,
    });
    const page = await browser.get(`/external/salesforce/oauth2/callback?${query.toString()}`);
    expect(page.body).not.toMatch(/<img|<script/);
    expect(page.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page.body).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
  });
});

describe('External Client App with closed policies', () => {
  it('a user who is not pre-authorised gets the policy page; after the admin adds the permission set, authorising succeeds', async () => {
    const { harness: h, app: bridge } = await start({ policies: CLOSED });
    const refused = await roundTrip(bridge);
    expect(refused.statusCode).toBe(403);
    expectErrorPage(refused.body, 'OAUTH_APP_ACCESS_DENIED', 'This user is not pre-authorised for the app');
    expect(refused.body).toContain('user is not admin approved to access this app');
    expect(refused.body).toContain(
      '#external-client-app-policies">README → Configure a real org → External Client App policies</a>',
    );
    expect((await h.context.tokens.store.status(INTEGRATION)).state).toBe('unauthorized');

    await changeApp(h, { policies: { preAuthorisedUsers: ['integration@sandbox.example.com'] } });
    const recovered = await roundTrip(bridge);
    expect(recovered.statusCode).toBe(200);
    expect(recovered.body).toContain('Integration configured successfully');
    expect((await h.context.tokens.store.status(INTEGRATION)).state).toBe('authorized');
  });

  it('a policy closed between consent and callback is explained from the token endpoint', async () => {
    const { harness: h, app: bridge } = await start({
      policies: { ...CLOSED, preAuthorisedUsers: ['integration@sandbox.example.com'] },
    });
    const answer = await signIn(bridge);
    await changeApp(h, { policies: { preAuthorisedUsers: [] } });
    const back = new URL(String(answer.headers.get('location')));
    const refused = await browser.get(back.pathname + back.search);
    expect(refused.statusCode).toBe(403);
    expectErrorPage(refused.body, 'OAUTH_APP_ACCESS_DENIED', 'This user is not pre-authorised for the app');
    expect(refused.body).toContain('when the bridge exchanged the sign-in code');

    await changeApp(h, { policies: { preAuthorisedUsers: ['integration@sandbox.example.com'] } });
    expect((await roundTrip(bridge)).statusCode).toBe(200);
  });

  it('PKCE required while the config has pkce: false gets the PKCE page; turning either side on recovers', async () => {
    const { harness: h, app: bridge } = await start({ policies: { pkceRequired: true }, pkce: false });
    const refused = await roundTrip(bridge);
    expect(refused.statusCode).toBe(400);
    expectErrorPage(refused.body, 'invalid_request', 'The app requires PKCE');
    expect(refused.body).toContain('salesforce.pkce: true');

    await changeApp(h, { policies: { pkceRequired: false } });
    expect((await roundTrip(bridge)).statusCode).toBe(200);
  });

  it('PKCE required and pkce: true authorises at once', async () => {
    const { harness: h, app: bridge } = await start({ policies: { pkceRequired: true }, pkce: true });
    expect((await roundTrip(bridge)).statusCode).toBe(200);
    expect((await h.context.tokens.store.status(INTEGRATION)).state).toBe('authorized');
  });

  it('a new app that has not propagated stops at Salesforce with invalid_client_id; once propagated, authorising succeeds', async () => {
    const { harness: h, app: bridge } = await start({ org: { connectedApps: [] } });
    const created = await fetch(`${h.org.url}/_sandbox/sf/oauth/apps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        clientId: CLIENT_ID,
        clientSecret: 'test-consumer-secret-123',
        redirectUris: [`${PUBLIC_URL}/external/salesforce/oauth2/callback`],
        propagationDelayMs: 400,
      }),
    });
    expect(created.status).toBe(201);
    // Salesforce shows its own error page for an unknown client id: the browser never comes back.
    const stuck = await signIn(bridge);
    expect(stuck.status).toBe(400);
    expect(await stuck.text()).toContain('error=invalid_client_id');

    // Wait at Salesforce, not through the bridge: its sign-in route is rate-limited per address, and
    // polling it under load ran into 429.
    const signInStart = await browser.get(AUTHENTICATE);
    expect(signInStart.statusCode).toBe(302);
    const authorizeUrl = String(signInStart.headers.location);
    await eventually(async () => (await fetch(authorizeUrl, { redirect: 'manual' })).status === 302);
    expect((await roundTrip(bridge)).statusCode).toBe(200);
  });

  it('a wrong consumer secret is explained from the token endpoint', async () => {
    const { harness: h, app: bridge } = await start({
      org: {
        connectedApps: [
          {
            clientId: CLIENT_ID,
            clientSecret: 'the-real-secret',
            redirectUris: [`${PUBLIC_URL}/external/salesforce/oauth2/callback`],
          },
        ],
      },
    });
    const refused = await roundTrip(bridge);
    expect(refused.statusCode).toBe(400);
    expectErrorPage(refused.body, 'invalid_client', 'Salesforce refused the app’s secret');
    expect(refused.body).toContain('invalid client credentials');
    expect((await h.context.tokens.store.status(INTEGRATION)).state).toBe('unauthorized');
  });
});

describe('a refresh refused at run time', () => {
  it('status page and admin API say which policy probably ended it and how to re-authorise; re-authorising clears it', async () => {
    const { harness: h, app: bridge } = await start({
      policies: { refreshTokenPolicy: { kind: 'expire_immediately' } },
    });
    expect((await completeFlow(bridge)).statusCode).toBe(200);
    const stored = await h.context.tokens.store.read(INTEGRATION);
    await expect(h.context.tokens.refresh(INTEGRATION, stored?.accessToken ?? '')).rejects.toMatchObject({
      state: 'needs_reauth',
    });

    const api = (await bridge.inject({ method: 'GET', url: '/api/integrations/acme/emails', headers: bearer })).json();
    expect(api.auth.state).toBe('needs_reauth');
    expect(api.auth.error).toEqual({
      code: 'invalid_grant',
      description: 'expired access/refresh token',
      cause: expect.stringContaining("app's refresh-token policy"),
      fix: expect.stringContaining('Refresh token is valid until revoked'),
      help: expect.stringMatching(/README\.md#external-client-app-policies$/),
    });
    const status = await bridge.inject({ method: 'GET', url: '/', headers: bearer });
    expect(status.body).toContain('<strong>Why:</strong>');
    expect(status.body).toContain('Refresh token is valid until revoked');
    expect(status.body).toContain('<button type="submit">Re-authorise in Salesforce</button>');

    await changeApp(h, { policies: { refreshTokenPolicy: { kind: 'valid_until_revoked' } } });
    expect((await completeFlow(bridge)).statusCode).toBe(200);
    const renewed = await h.context.tokens.store.read(INTEGRATION);
    const session = await h.context.tokens.refresh(INTEGRATION, renewed?.accessToken ?? '');
    expect(session.accessToken).not.toBe(renewed?.accessToken);
    const after = (
      await bridge.inject({ method: 'GET', url: '/api/integrations/acme/emails', headers: bearer })
    ).json();
    expect(after.auth.state).toBe('authorized');
    expect(after.auth.error).toBeUndefined();
  });
});
