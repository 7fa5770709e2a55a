import { afterEach, describe, expect, it } from 'vitest';
import { NotAuthorizedError } from '../../src/salesforce/errors.ts';
import type { TokenEvent } from '../../src/auth/token-service.ts';
import { buildApp, type BridgeApp } from '../../src/server/app.ts';
import { ADMIN_TOKEN, startBridgeHarness, type BridgeHarness } from '../helpers/bridge.ts';
import { completeFlow, INTEGRATION } from '../helpers/oauth.ts';
import { eventually } from '../helpers/redis.ts';

/** A REST call with the token, as any role would make it: 200 or 401. */
async function restStatus(harness: BridgeHarness, accessToken: string): Promise<number> {
  const response = await fetch(`${harness.org.url}/services/data/v62.0/limits`, {
    headers: { Authorization: `Bearer ${accessToken}` },
  });
  return response.status;
}

describe('token service', () => {
  let harness: BridgeHarness;
  let app: BridgeApp;

  async function start(options: Parameters<typeof startBridgeHarness>[0] = {}) {
    harness = await startBridgeHarness(options);
    app = await buildApp(harness.context);
    expect((await completeFlow(app)).statusCode).toBe(200);
  }

  afterEach(async () => {
    await app.close();
    await harness.close();
  });

  it('gives the stored session while it works', async () => {
    await start();
    const session = await harness.context.tokens.session(INTEGRATION);
    expect(session.instanceUrl).toBe(harness.org.url);
    expect(await restStatus(harness, session.accessToken)).toBe(200);
  });

  it('refreshes once across processes when many callers see a 401 at the same time', async () => {
    await start();
    const expired = (await harness.context.tokens.session(INTEGRATION)).accessToken;
    harness.org.oauth.expireAccessTokens();
    expect(await restStatus(harness, expired)).toBe(401);

    // Three "processes" (own Redis connections, own TokenService), five concurrent callers each.
    const services = [harness.context.tokens, harness.secondContext().tokens, harness.secondContext().tokens];
    const sessions = await Promise.all(
      services.flatMap((service) => Array.from({ length: 5 }, () => service.refresh(INTEGRATION, expired))),
    );

    const tokens = new Set(sessions.map((s) => s.accessToken));
    expect(tokens.size).toBe(1);
    const [fresh] = [...tokens];
    expect(fresh).not.toBe(expired);
    expect(await restStatus(harness, fresh ?? '')).toBe(200);
    expect(harness.org.counters().oauth.grants.refresh_token).toBe(1);
    const status = await harness.context.tokens.store.status(INTEGRATION);
    expect(Date.parse(status.lastRefreshAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
  });

  it('a caller holding an already-replaced token gets the current one without a refresh', async () => {
    await start();
    const old = (await harness.context.tokens.session(INTEGRATION)).accessToken;
    harness.org.oauth.expireAccessTokens();
    const first = await harness.context.tokens.refresh(INTEGRATION, old);
    const late = await harness.secondContext().tokens.refresh(INTEGRATION, old);
    expect(late.accessToken).toBe(first.accessToken);
    expect(harness.org.counters().oauth.grants.refresh_token).toBe(1);
  });

  it('stores a rotated refresh token, so the next refresh works too', async () => {
    await start({ rotateRefreshTokens: true });
    const before = await harness.context.tokens.store.read(INTEGRATION);
    harness.org.oauth.expireAccessTokens();
    const first = await harness.context.tokens.refresh(INTEGRATION, before?.accessToken ?? '');
    const afterFirst = await harness.context.tokens.store.read(INTEGRATION);
    expect(afterFirst?.refreshToken).not.toBe(before?.refreshToken);

    harness.org.oauth.expireAccessTokens();
    const second = await harness.context.tokens.refresh(INTEGRATION, first.accessToken);
    expect(await restStatus(harness, second.accessToken)).toBe(200);
    expect(harness.org.counters().oauth.grants.refresh_token).toBe(2);
  });

  it('invalid_grant pauses the integration, tells every process, and re-authorising resumes it', async () => {
    await start();
    const events: TokenEvent[] = [];
    const unsubscribe = await harness.secondContext().tokens.subscribe((event) => events.push(event));
    try {
      const old = (await harness.context.tokens.session(INTEGRATION)).accessToken;
      harness.org.oauth.revokeRefreshTokens();

      await expect(harness.context.tokens.refresh(INTEGRATION, old)).rejects.toMatchObject({ state: 'needs_reauth' });
      const status = await harness.context.tokens.store.status(INTEGRATION);
      expect(status.state).toBe('needs_reauth');
      expect(status.reason).toContain('expired access/refresh token');
      await eventually(() => events.some((e) => e.kind === 'needs_reauth' && e.integration === INTEGRATION));

      // Paused: no retry storm — callers fail fast without touching Salesforce.
      const failuresBefore = harness.org.counters().oauth.failures.invalid_grant ?? 0;
      await expect(harness.context.tokens.session(INTEGRATION)).rejects.toBeInstanceOf(NotAuthorizedError);
      await expect(harness.context.tokens.refresh(INTEGRATION, old)).rejects.toBeInstanceOf(NotAuthorizedError);
      expect(harness.org.counters().oauth.failures.invalid_grant ?? 0).toBe(failuresBefore);

      expect((await completeFlow(app)).statusCode).toBe(200);
      expect((await harness.context.tokens.store.status(INTEGRATION)).state).toBe('authorized');
      await eventually(() => events.some((e) => e.kind === 'authorized'));
      const session = await harness.context.tokens.session(INTEGRATION);
      expect(await restStatus(harness, session.accessToken)).toBe(200);
    } finally {
      await unsubscribe();
    }
  });

  it('disconnect revokes the token at Salesforce and deletes it locally', async () => {
    await start();
    const tokens = await harness.context.tokens.store.read(INTEGRATION);
    const response = await app.inject({
      method: 'DELETE',
      url: '/api/integrations/acme/emails/authorization',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ integration: INTEGRATION, disconnected: true, revokedAtSalesforce: true });
    expect(await harness.context.tokens.store.read(INTEGRATION)).toBeUndefined();
    expect((await harness.context.tokens.store.status(INTEGRATION)).state).toBe('unauthorized');
    expect(await restStatus(harness, tokens?.accessToken ?? '')).toBe(401);
    const client = harness.context.oauthClients.get(INTEGRATION);
    await expect(client?.refresh(tokens?.refreshToken ?? '')).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});
