import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bridgeKeys, integrationKeys } from '../../src/store/keys.ts';
import { buildApp, type BridgeApp } from '../../src/server/app.ts';
import { ADMIN_TOKEN, CLIENT_SECRET, PUBLIC_URL, startBridgeHarness, type BridgeHarness } from '../helpers/bridge.ts';
import { eventually } from '../helpers/redis.ts';
import {
  adminBrowser,
  AUTHENTICATE,
  authorizeInSalesforce,
  type Browser,
  completeFlow,
  INTEGRATION,
} from '../helpers/oauth.ts';

describe('OAuth web-server flow', () => {
  let harness: BridgeHarness;
  let app: BridgeApp;
  let admin: Browser;

  beforeEach(async () => {
    harness = await startBridgeHarness();
    app = await buildApp(harness.context);
    admin = await adminBrowser(app);
  });
  afterEach(async () => {
    await app.close();
    await harness.close();
  });

  it('authenticate redirects to Salesforce with the exact redirect URI, scopes, PKCE and a random state', async () => {
    const first = await admin.get(AUTHENTICATE);
    const second = await admin.get(AUTHENTICATE);
    const url = new URL(String(first.headers.location));
    expect(url.origin + url.pathname).toBe(`${harness.org.url}/services/oauth2/authorize`);
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('client_id')).toBe('3MVG9TestBridgeConsumerKey');
    expect(url.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/external/salesforce/oauth2/callback`);
    expect(url.searchParams.get('scope')).toBe('api refresh_token offline_access');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    const state = url.searchParams.get('state') ?? '';
    expect(state).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(new URL(String(second.headers.location)).searchParams.get('state')).not.toBe(state);
  });

  it('callback stores the tokens encrypted and says the integration was configured successfully', async () => {
    const response = await completeFlow(app, admin);
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('Integration configured successfully');
    expect(response.body).toContain('acme/emails</strong> was configured successfully');
    expect(response.body).toContain('integration@sandbox.example.com');
    expect(response.body).toContain('href="/"');

    const keys = integrationKeys(harness.redis.prefix, INTEGRATION);
    const raw = await harness.redis.redis.get(keys.tokens());
    const tokens = await harness.context.tokens.store.read(INTEGRATION);
    expect(tokens?.accessToken).toMatch(/^00D/);
    expect(tokens?.instanceUrl).toBe(harness.org.url);
    expect(raw).toMatch(/^v1\.[0-9a-f]{8}\./);
    expect(raw).not.toContain(tokens?.accessToken);
    expect(raw).not.toContain(tokens?.refreshToken);

    const status = await harness.context.tokens.store.status(INTEGRATION);
    expect(status).toMatchObject({
      state: 'authorized',
      org: '00D5g00000SbxQEEAZ',
      user: 'integration@sandbox.example.com',
    });
    expect(Date.parse(status.authorizedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(harness.org.counters().oauth.grants.authorization_code).toBe(1);
  });

  it('a replayed callback is refused and stores nothing new', async () => {
    const callback = await authorizeInSalesforce(admin);
    expect((await admin.get(callback.pathname + callback.search)).statusCode).toBe(200);
    const before = await harness.redis.redis.get(integrationKeys(harness.redis.prefix, INTEGRATION).tokens());
    const replay = await admin.get(callback.pathname + callback.search);
    expect(replay.statusCode).toBe(400);
    expect(replay.body).toContain('expired or was already used');
    expect(await harness.redis.redis.get(integrationKeys(harness.redis.prefix, INTEGRATION).tokens())).toBe(before);
    expect(harness.org.counters().oauth.grants.authorization_code).toBe(1);
  });

  it('a forged state is refused without calling Salesforce', async () => {
    await admin.get(AUTHENTICATE);
    const forged = await admin.get(
      '/external/salesforce/oauth2/callback?code=abc&state=forged-state-value-0123456789abcdef',
    );
    expect(forged.statusCode).toBe(400);
    expect(forged.body).toContain('expired or was already used');
    const missing = await admin.get('/external/salesforce/oauth2/callback?code=abc');
    expect(missing.statusCode).toBe(400);
    expect(harness.org.counters().oauth.grants.authorization_code ?? 0).toBe(0);
    expect((await harness.context.tokens.store.status(INTEGRATION)).state).toBe('unauthorized');
  });

  it('access_denied shows what to do and stores nothing', async () => {
    const start = await admin.get(AUTHENTICATE);
    const state = new URL(String(start.headers.location)).searchParams.get('state');
    const denied = await admin.get(
      `/external/salesforce/oauth2/callback?error=access_denied&error_description=end-user+denied+authorization&state=${state}`,
    );
    expect(denied.statusCode).toBe(403);
    expect(denied.body).toContain('Access was not granted');
    expect(denied.body).toContain('end-user denied authorization');
    expect(denied.body).toContain(`href="${AUTHENTICATE}"`);
    expect((await harness.context.tokens.store.status(INTEGRATION)).state).toBe('unauthorized');
  });

  it('a token-endpoint error gets a page that says what to do', async () => {
    const callback = await authorizeInSalesforce(admin);
    callback.searchParams.set('code', 'not-a-real-code');
    const response = await admin.get(callback.pathname + callback.search);
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('Salesforce did not accept the sign-in');
    expect(response.body).toContain('invalid_grant');
    expect((await harness.context.tokens.store.status(INTEGRATION)).state).toBe('unauthorized');
  });

  it('an unknown integration is refused at authenticate and at the callback', async () => {
    expect((await admin.get('/integrations/acme/nope/oauth2/authenticate')).statusCode).toBe(404);
    await admin.get(AUTHENTICATE);
    const state = await harness.context.oauthStates.create('other/integration', {
      browserBinding: admin.cookies.get('sfcm_oauth_browser') ?? '',
    });
    const response = await admin.get(`/external/salesforce/oauth2/callback?code=x&state=${state}`);
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('no longer');
  });

  it('re-authorising replaces the tokens', async () => {
    await completeFlow(app);
    const first = await harness.context.tokens.store.read(INTEGRATION);
    await completeFlow(app);
    const second = await harness.context.tokens.store.read(INTEGRATION);
    expect(second?.refreshToken).not.toBe(first?.refreshToken);
    expect(second?.accessToken).not.toBe(first?.accessToken);
  });

  it('no secret reaches the logs during the whole flow', async () => {
    await completeFlow(app);
    const tokens = await harness.context.tokens.store.read(INTEGRATION);
    const output = harness.logLines.join('');
    expect(output).toContain('integration authorised');
    for (const secret of [tokens?.accessToken, tokens?.refreshToken, CLIENT_SECRET, ADMIN_TOKEN]) {
      expect(secret).toBeTruthy();
      expect(output).not.toContain(secret);
    }
  });
});

describe('OAuth state expiry and PKCE', () => {
  let harness: BridgeHarness | undefined;
  let app: BridgeApp | undefined;
  afterEach(async () => {
    await app?.close();
    await harness?.close();
  });

  it('an expired state is refused (state lives ≤ 10 min; shortened here)', async () => {
    harness = await startBridgeHarness({ oauthStateTtlMs: 150 });
    app = await buildApp(harness.context);
    const browser = await adminBrowser(app);
    const callback = await authorizeInSalesforce(browser);
    const stateKey = bridgeKeys(harness.redis.prefix).oauthState(callback.searchParams.get('state') ?? '');
    await eventually(async () => (await harness?.redis.redis.exists(stateKey)) === 0);
    const response = await browser.get(callback.pathname + callback.search);
    expect(response.statusCode).toBe(400);
    expect((await harness.context.tokens.store.status(INTEGRATION)).state).toBe('unauthorized');
  });

  it('pkce: false (old Connected Apps) sends no challenge and still completes', async () => {
    harness = await startBridgeHarness({ pkce: false });
    app = await buildApp(harness.context);
    const browser = await adminBrowser(app);
    const start = await browser.get(AUTHENTICATE);
    const url = new URL(String(start.headers.location));
    expect(url.searchParams.get('code_challenge')).toBeNull();
    const response = await completeFlow(app, browser);
    expect(response.statusCode).toBe(200);
    expect((await harness.context.tokens.store.status(INTEGRATION)).state).toBe('authorized');
  });
});
