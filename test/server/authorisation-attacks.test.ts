/**
 * The attacks of the security review, as tests: only an admin starts an authorisation, the state is
 * bound to the browser that started it, an integration stays bound to its org, a re-authorisation
 * revokes the grant it replaces, and a flood of authenticate requests writes nothing and is limited.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { integrationKeys } from '../../src/store/keys.ts';
import { SalesforceOAuthClient } from '../../src/salesforce/oauth-client.ts';
import { MAX_PENDING_STATES } from '../../src/auth/oauth-state.ts';
import { DEFAULT_ORG_ID, SECOND_ORG_ID, SECOND_ORG_USER } from '@sf-cm-bridge/sandbox/org';
import { buildApp, type BridgeApp } from '../../src/server/app.ts';
import { WEB_RATE_LIMIT } from '../../src/server/rate-limits.ts';
import {
  ADMIN_TOKEN,
  CLIENT_ID,
  CLIENT_SECRET,
  PUBLIC_URL,
  startBridgeHarness,
  type BridgeHarness,
} from '../helpers/bridge.ts';
import { eventually } from '../helpers/redis.ts';
import {
  adminBrowser,
  AUTHENTICATE,
  authorizeInSalesforce,
  Browser,
  CALLBACK_PATH,
  completeFlow,
  INTEGRATION,
  salesforceApproves,
} from '../helpers/oauth.ts';

/** Every key under the test prefix. */
async function keysOf(harness: BridgeHarness): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await harness.redis.redis.scan(cursor, 'MATCH', `${harness.redis.prefix}*`, 'COUNT', 500);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out.sort();
}

describe('authorisation attacks', () => {
  let harness: BridgeHarness;
  let app: BridgeApp;

  beforeEach(async () => {
    harness = await startBridgeHarness();
    app = await buildApp(harness.context);
    // BullMQ writes its queue's meta key as the context starts: not the visitor's doing.
    await eventually(async () => (await keysOf(harness)).some((key) => key.endsWith(':meta')));
  });
  afterEach(async () => {
    await app.close();
    await harness.close();
  });

  const oauthClient = () =>
    new SalesforceOAuthClient({
      loginUrl: harness.org.url,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: `${PUBLIC_URL}${CALLBACK_PATH}`,
    });

  describe('an anonymous visitor', () => {
    it('gets the sign-in form, not Salesforce, and nothing is written to Redis', async () => {
      const before = await keysOf(harness);
      const visitor = new Browser(app);
      const response = await visitor.get(AUTHENTICATE);
      expect(response.statusCode).toBe(401);
      expect(response.headers.location).toBeUndefined();
      expect(response.body).toContain('<form class="card" method="post" action="/login">');
      expect(response.body).toContain(`<input type="hidden" name="next" value="${AUTHENTICATE}">`);
      expect(response.headers['set-cookie']).toBeUndefined();
      expect(await keysOf(harness)).toEqual(before);
    });

    it('who signs in continues to the authorisation', async () => {
      const visitor = new Browser(app);
      const login = await visitor.post('/login', { token: ADMIN_TOKEN, next: AUTHENTICATE });
      expect(login.statusCode).toBe(303);
      expect(login.headers.location).toBe(AUTHENTICATE);
      const start = await visitor.get(AUTHENTICATE);
      expect(start.statusCode).toBe(302);
      expect(String(start.headers.location)).toMatch(new RegExp(`^${harness.org.url}/services/oauth2/authorize\\?`));
    });

    it('a sign-in never continues to another site', async () => {
      const visitor = new Browser(app);
      const login = await visitor.post('/login', { token: ADMIN_TOKEN, next: 'https://evil.example.com/' });
      expect(login.headers.location).toBe('/');
      const sneaky = await visitor.post('/login', {
        token: ADMIN_TOKEN,
        next: '//evil.example.com/integrations/a/b/oauth2/authenticate',
      });
      expect(sneaky.headers.location).toBe('/');
    });

    it('a wrong or forged one-time link gets the sign-in form', async () => {
      const before = await keysOf(harness);
      const response = await new Browser(app).get(`${AUTHENTICATE}?link=forged-link-value-0123456789abcdefghijk`);
      expect(response.statusCode).toBe(401);
      expect(response.body).toContain('expired or was already used');
      expect(await keysOf(harness)).toEqual(before);
    });
  });

  it('a one-time link from the admin API authorises once, for 10 minutes, without a session', async () => {
    const anonymous = await app.inject({ method: 'POST', url: '/api/integrations/acme/emails/authorization-link' });
    expect(anonymous.statusCode).toBe(401);
    const made = await app.inject({
      method: 'POST',
      url: '/api/integrations/acme/emails/authorization-link',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(made.statusCode).toBe(200);
    const { url, expiresAt } = made.json<{ url: string; expiresAt: string }>();
    expect(url.startsWith(`${PUBLIC_URL}${AUTHENTICATE}?link=`)).toBe(true);
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(9.9 * 60_000);
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(10 * 60_000);
    expect(JSON.stringify(await keysOf(harness))).not.toContain(new URL(url).searchParams.get('link'));

    const browser = new Browser(app);
    const path = url.slice(PUBLIC_URL.length);
    const start = await browser.get(path);
    expect(start.statusCode).toBe(302);
    const callback = await salesforceApproves(String(start.headers.location));
    expect((await browser.get(callback.pathname + callback.search)).statusCode).toBe(200);
    expect((await harness.context.tokens.store.status(INTEGRATION)).state).toBe('authorized');

    const reused = await new Browser(app).get(path);
    expect(reused.statusCode).toBe(401);
    expect(reused.body).toContain('expired or was already used');
  });

  describe('a callback from another browser', () => {
    it('without the binding cookie is refused before any code exchange', async () => {
      const admin = await adminBrowser(app);
      const callback = await authorizeInSalesforce(admin);
      const elsewhere = await new Browser(app).get(callback.pathname + callback.search);
      expect(elsewhere.statusCode).toBe(400);
      expect(elsewhere.body).toContain('started in another browser');
      expect(harness.org.counters().oauth.grants.authorization_code ?? 0).toBe(0);
      expect((await harness.context.tokens.store.status(INTEGRATION)).state).toBe('unauthorized');
      // The state was not spent: the admin's own browser still finishes.
      expect((await admin.get(callback.pathname + callback.search)).statusCode).toBe(200);
    });

    it("with another flow's binding cookie (login CSRF) is refused and exchanges nothing", async () => {
      const attacker = await adminBrowser(app);
      const victim = await adminBrowser(app);
      const attackersCallback = await authorizeInSalesforce(attacker);
      await victim.get(AUTHENTICATE);
      expect(victim.cookies.get('sfcm_oauth_browser')).not.toBe(attacker.cookies.get('sfcm_oauth_browser'));
      const response = await victim.get(attackersCallback.pathname + attackersCallback.search);
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain('started in another browser');
      expect(harness.org.counters().oauth.grants.authorization_code ?? 0).toBe(0);
    });

    it('the binding cookie is HttpOnly and SameSite=Lax (it must survive the redirect back from Salesforce)', async () => {
      const admin = await adminBrowser(app);
      const start = await admin.get(AUTHENTICATE);
      const cookie = [start.headers['set-cookie']].flat().find((c) => String(c).startsWith('sfcm_oauth_browser='));
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Lax/);
      expect(cookie).toMatch(/Path=\//);
    });
  });

  describe('an admin who signs in to a second org', () => {
    it('is refused: the page names both orgs, the new grant is revoked, the stored tokens stay', async () => {
      expect((await completeFlow(app)).statusCode).toBe(200);
      const stored = await harness.context.tokens.store.read(INTEGRATION);
      const liveBefore = harness.org.counters().oauth.liveRefreshTokens;

      const admin = await adminBrowser(app);
      const response = await completeFlow(app, admin, SECOND_ORG_USER.username);
      expect(response.statusCode).toBe(409);
      expect(response.body).toContain(DEFAULT_ORG_ID);
      expect(response.body).toContain(SECOND_ORG_ID);
      expect(response.body).toContain('the new grant was revoked at Salesforce');
      expect(harness.org.counters().oauth.liveRefreshTokens).toBe(liveBefore);
      expect(harness.org.counters().oauth.revocations).toBe(1);
      expect(await harness.context.tokens.store.read(INTEGRATION)).toEqual(stored);
      expect(await harness.context.tokens.store.status(INTEGRATION)).toMatchObject({
        state: 'authorized',
        org: DEFAULT_ORG_ID,
      });
    });

    it('moves only when the admin confirms on that page; the move resets positions and keeps the old comments', async () => {
      expect((await completeFlow(app)).statusCode).toBe(200);
      const oldRefresh = (await harness.context.tokens.store.read(INTEGRATION))?.refreshToken ?? '';
      const keys = integrationKeys(harness.redis.prefix, INTEGRATION);
      await harness.redis.redis.hset(keys.replay(), '/data/EmailMessageChangeEvent', '42');
      await harness.redis.redis.hset(
        keys.versions('EmailMessage'),
        '02s5g00000AbCdEAAV',
        '1|p|hash|at|02s5g00000AbCdEAAV',
      );
      await harness.redis.redis.hset(keys.watermark('EmailMessage'), {
        systemModstamp: '2024-01-01T00:00:00.000Z',
        id: '02s5g00000AbCdEAAV',
      });
      await harness.redis.redis.hset(keys.trail('EmailMessage'), '02s5g00000AbCdEAAV', '{}');

      const admin = await adminBrowser(app);
      const refused = await completeFlow(app, admin, SECOND_ORG_USER.username);
      const action = /<form method="post" action="([^"]+)">/.exec(refused.body)?.[1] ?? '';
      const confirm = /name="confirm" value="([^"]+)"/.exec(refused.body)?.[1] ?? '';
      expect(action).toBe('/integrations/acme/emails/oauth2/switch-org');

      // Another site cannot post the confirmation.
      const forged = await admin.inject({
        method: 'POST',
        url: action,
        payload: { confirm },
        headers: { origin: 'https://evil.example.com' },
      });
      expect(forged.statusCode).toBe(403);
      // Another browser cannot use it (and that attempt spends it).
      expect((await (await adminBrowser(app)).post(action, { confirm })).statusCode).toBe(400);
      expect((await admin.post(action, { confirm })).statusCode).toBe(400);
      // Positions are untouched until the move happens.
      expect(await harness.redis.redis.hget(keys.replay(), '/data/EmailMessageChangeEvent')).toBe('42');

      const again = await completeFlow(app, admin, SECOND_ORG_USER.username);
      const fresh = /name="confirm" value="([^"]+)"/.exec(again.body)?.[1] ?? '';
      const confirmed = await admin.post(action, { confirm: fresh });
      expect(confirmed.statusCode).toBe(303);
      const callback = await salesforceApproves(String(confirmed.headers.location), SECOND_ORG_USER.username);
      const moved = await admin.get(callback.pathname + callback.search);
      expect(moved.statusCode).toBe(200);
      expect(moved.body).toContain('Integration configured successfully');
      expect(moved.body).toContain(`moved from org <code>${DEFAULT_ORG_ID}</code>`);
      expect(await harness.context.tokens.store.status(INTEGRATION)).toMatchObject({
        state: 'authorized',
        org: SECOND_ORG_ID,
      });
      for (const key of [
        keys.replay(),
        keys.versions('EmailMessage'),
        keys.watermark('EmailMessage'),
        keys.trail('EmailMessage'),
      ]) {
        expect(await harness.redis.redis.exists(key)).toBe(0);
      }
      await expect(oauthClient().refresh(oldRefresh)).rejects.toMatchObject({ error: 'invalid_grant' });
      expect(await harness.redis.redis.get(keys.boundOrg())).toBe(SECOND_ORG_ID);
    });

    it('after a disconnect, the next authorisation may bind another org (the disconnect was the decision)', async () => {
      expect((await completeFlow(app)).statusCode).toBe(200);
      await harness.context.tokens.disconnect(INTEGRATION);
      const response = await completeFlow(app, undefined, SECOND_ORG_USER.username);
      expect(response.statusCode).toBe(200);
      expect(await harness.context.tokens.store.status(INTEGRATION)).toMatchObject({ org: SECOND_ORG_ID });
    });
  });

  it('a same-org re-authorisation revokes the refresh token it replaces', async () => {
    expect((await completeFlow(app)).statusCode).toBe(200);
    const first = await harness.context.tokens.store.read(INTEGRATION);
    expect((await completeFlow(app)).statusCode).toBe(200);
    const second = await harness.context.tokens.store.read(INTEGRATION);
    expect(second?.refreshToken).not.toBe(first?.refreshToken);
    await expect(oauthClient().refresh(first?.refreshToken ?? '')).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oauthClient().refresh(second?.refreshToken ?? '')).access_token).toBeTruthy();
    expect(harness.org.counters().oauth.liveRefreshTokens).toBe(1);
  });

  describe('a flood of authenticate requests', () => {
    it('from an anonymous client writes nothing and is cut off by the rate limit', async () => {
      const before = await keysOf(harness);
      const statuses: number[] = [];
      for (let i = 0; i < WEB_RATE_LIMIT.max + 10; i++)
        statuses.push((await app.inject({ method: 'GET', url: AUTHENTICATE })).statusCode);
      expect(statuses.slice(0, WEB_RATE_LIMIT.max).every((s) => s === 401)).toBe(true);
      expect(statuses.slice(WEB_RATE_LIMIT.max).every((s) => s === 429)).toBe(true);
      expect(await keysOf(harness)).toEqual(before);
    });

    it('from a signed-in admin stops at the cap of pending states per integration', async () => {
      const admin = await adminBrowser(app);
      const statuses: number[] = [];
      for (let i = 0; i < MAX_PENDING_STATES + 3; i++) statuses.push((await admin.get(AUTHENTICATE)).statusCode);
      expect(statuses.filter((s) => s === 302)).toHaveLength(MAX_PENDING_STATES);
      expect(statuses.slice(MAX_PENDING_STATES).every((s) => s === 429)).toBe(true);
      const pending = await harness.redis.redis.zcard(
        integrationKeys(harness.redis.prefix, INTEGRATION).pendingStates(),
      );
      expect(pending).toBe(MAX_PENDING_STATES);
      // A replica that shares Redis sees the same cap.
      const replica = await buildApp(harness.secondContext());
      try {
        expect((await (await adminBrowser(replica)).get(AUTHENTICATE)).statusCode).toBe(429);
      } finally {
        await replica.close();
      }
    });
  });
});
