import { createHash, createHmac } from 'node:crypto';
import jsforce from 'jsforce';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DEFAULT_INTEGRATION_USER, startSalesforceOrg, type SimulatedSalesforceOrg } from '../src/org/index.ts';

const APP = {
  clientId: '3MVG9TestClient',
  clientSecret: 'test-secret',
  redirectUris: ['http://localhost:9999/callback'],
};
const REDIRECT = 'http://localhost:9999/callback';

let org: SimulatedSalesforceOrg;

beforeEach(async () => {
  org = await startSalesforceOrg({
    connectedApps: [APP, { ...APP, clientId: '3MVG9Rotating', rotateRefreshTokens: true }],
  });
});
afterEach(async () => {
  await org.close();
});

function oauth2(extra: { useVerifier?: boolean; clientId?: string; clientSecret?: string; redirectUri?: string } = {}) {
  return new jsforce.OAuth2({
    loginUrl: org.url,
    clientId: APP.clientId,
    clientSecret: APP.clientSecret,
    redirectUri: REDIRECT,
    ...extra,
  });
}

/** Opens the authorize URL and submits the login + consent form like a browser would. */
async function consent(
  authorizeUrl: string,
  action: 'allow' | 'deny',
  password = DEFAULT_INTEGRATION_USER.password,
): Promise<URL> {
  const page = await fetch(authorizeUrl, { redirect: 'manual' });
  expect(page.status).toBe(200);
  const html = await page.text();
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    form.set(
      m[1] ?? '',
      (m[2] ?? '').replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c))),
    );
  }
  form.set('username', DEFAULT_INTEGRATION_USER.username);
  form.set('password', password);
  form.set('action', action);
  const res = await fetch(`${org.url}/services/oauth2/authorize`, { method: 'POST', body: form, redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location') ?? '');
}

async function codeFor(o: InstanceType<typeof jsforce.OAuth2>, params: Record<string, string> = {}): Promise<string> {
  const location = await consent(
    o.getAuthorizationUrl({ scope: 'api refresh_token', state: 'xyz', ...params }),
    'allow',
  );
  const code = location.searchParams.get('code');
  expect(code).toBeTruthy();
  return code ?? '';
}

async function postToken(form: Record<string, string>) {
  const res = await fetch(`${org.url}/services/oauth2/token`, { method: 'POST', body: new URLSearchParams(form) });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

describe('authorize page', () => {
  test('Allow redirects to redirect_uri with code and state', async () => {
    const location = await consent(
      oauth2().getAuthorizationUrl({ scope: 'api refresh_token', state: 'st-1' }),
      'allow',
    );
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get('state')).toBe('st-1');
    expect(location.searchParams.get('code')).toMatch(/^aPrx/);
  });

  test('Deny redirects with access_denied and the exact description', async () => {
    const location = await consent(oauth2().getAuthorizationUrl({ state: 'st-2' }), 'deny');
    expect(location.search).toBe('?error=access_denied&error_description=end-user+denied+authorization&state=st-2');
  });

  test('wrong password shows the login page again, no redirect', async () => {
    const page = await fetch(oauth2().getAuthorizationUrl({}), { redirect: 'manual' });
    const html = await page.text();
    const form = new URLSearchParams();
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
      form.set(m[1] ?? '', m[2] ?? '');
    form.set('username', DEFAULT_INTEGRATION_USER.username);
    form.set('password', 'nope');
    form.set('action', 'allow');
    const res = await fetch(`${org.url}/services/oauth2/authorize`, { method: 'POST', body: form, redirect: 'manual' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Please check your username and password');
  });

  test('unknown client_id is shown on an error page, never redirected', async () => {
    const res = await fetch(oauth2({ clientId: 'nope' }).getAuthorizationUrl({}), { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('error=invalid_client_id');
  });

  test('redirect_uri that does not match byte for byte is shown as redirect_uri_mismatch', async () => {
    const res = await fetch(oauth2({ redirectUri: `${REDIRECT}/` }).getAuthorizationUrl({}), { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('error=redirect_uri_mismatch');
  });

  test('a scope outside the known set redirects with invalid_scope', async () => {
    const res = await fetch(oauth2().getAuthorizationUrl({ scope: 'api chatter_api', state: 's' }), {
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('error')).toBe('invalid_scope');
    expect(location.searchParams.get('state')).toBe('s');
  });

  test('auto-approve per request skips the page and approves as the integration user', async () => {
    const res = await fetch(oauth2().getAuthorizationUrl({ sandbox_auto_approve: 'true', state: 'a' }), {
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('code')).toBeTruthy();
    expect(location.searchParams.get('state')).toBe('a');
  });
});

describe('token endpoint with real jsforce', () => {
  test('code exchange returns exactly the documented token fields, no expires_in, valid signature', async () => {
    const o = oauth2();
    const code = await codeFor(o);
    const { status, body } = await postToken({
      grant_type: 'authorization_code',
      code,
      client_id: APP.clientId,
      client_secret: APP.clientSecret,
      redirect_uri: REDIRECT,
    });
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual([
      'access_token',
      'id',
      'instance_url',
      'issued_at',
      'refresh_token',
      'scope',
      'signature',
      'token_type',
    ]);
    expect(body.access_token).toMatch(/^00D[0-9A-Za-z]{12}!AQ/);
    expect(body.token_type).toBe('Bearer');
    expect(body.instance_url).toBe(org.url);
    expect(body.id).toBe(`${org.url}/id/${DEFAULT_INTEGRATION_USER.orgId}/${DEFAULT_INTEGRATION_USER.id}`);
    expect(body.issued_at).toMatch(/^\d{13}$/);
    expect(body.scope).toBe('api refresh_token');
    const expected = createHmac('sha256', APP.clientSecret).update(`${body.id}${body.issued_at}`).digest('base64');
    expect(body.signature).toBe(expected);
  });

  test('jsforce conn.authorize(code) logs in and the token works for REST', async () => {
    const o = oauth2();
    const conn = new jsforce.Connection({ oauth2: o, version: '62.0' });
    const userInfo = await conn.authorize(await codeFor(o));
    expect(userInfo.id).toBe(DEFAULT_INTEGRATION_USER.id);
    expect(userInfo.organizationId).toBe(DEFAULT_INTEGRATION_USER.orgId);
    expect(conn.instanceUrl).toBe(org.url);
    expect(conn.refreshToken).toMatch(/^5Aep861/);
    const limits = await conn.limits();
    expect(limits.DailyApiRequests).toBeDefined();
  });

  test('a code is single-use: the second exchange is invalid_grant expired authorization code', async () => {
    const o = oauth2();
    const code = await codeFor(o);
    await new jsforce.Connection({ oauth2: o }).authorize(code);
    await expect(new jsforce.Connection({ oauth2: o }).authorize(code)).rejects.toMatchObject({
      name: 'invalid_grant',
      message: 'expired authorization code',
    });
  });

  test('an unknown code is invalid_grant authentication failure', async () => {
    const { status, body } = await postToken({
      grant_type: 'authorization_code',
      code: 'aPrxnope',
      client_id: APP.clientId,
      client_secret: APP.clientSecret,
      redirect_uri: REDIRECT,
    });
    expect(status).toBe(400);
    expect(body).toEqual({ error: 'invalid_grant', error_description: 'authentication failure' });
  });

  test('redirect_uri at the token endpoint must equal the authorize one', async () => {
    const code = await codeFor(oauth2());
    const { status, body } = await postToken({
      grant_type: 'authorization_code',
      code,
      client_id: APP.clientId,
      client_secret: APP.clientSecret,
      redirect_uri: 'http://localhost:9999/other',
    });
    expect(status).toBe(400);
    expect(body).toEqual({
      error: 'redirect_uri_mismatch',
      error_description: 'redirect_uri must match configuration',
    });
  });

  test('wrong secret is 401 invalid_client, unknown client 400 invalid_client_id', async () => {
    const code = await codeFor(oauth2());
    const bad = await postToken({
      grant_type: 'authorization_code',
      code,
      client_id: APP.clientId,
      client_secret: 'wrong',
      redirect_uri: REDIRECT,
    });
    expect(bad).toEqual({
      status: 401,
      body: { error: 'invalid_client', error_description: 'invalid client credentials' },
    });
    const unknown = await postToken({
      grant_type: 'authorization_code',
      code,
      client_id: 'who',
      client_secret: 'x',
      redirect_uri: REDIRECT,
    });
    expect(unknown).toEqual({
      status: 400,
      body: { error: 'invalid_client_id', error_description: 'client identifier invalid' },
    });
  });

  test('unknown grant type is unsupported_grant_type', async () => {
    const res = await postToken({ grant_type: 'password', client_id: APP.clientId, client_secret: APP.clientSecret });
    expect(res).toEqual({
      status: 400,
      body: { error: 'unsupported_grant_type', error_description: 'grant type not supported' },
    });
  });

  test('PKCE with jsforce useVerifier: the same OAuth2 instance exchanges the code', async () => {
    const o = oauth2({ useVerifier: true });
    const url = new URL(o.getAuthorizationUrl({}));
    expect(url.searchParams.get('code_challenge_method')).toBeNull(); // jsforce omits it; taken as S256
    const conn = new jsforce.Connection({ oauth2: o });
    await conn.authorize(await codeFor(o));
    expect(conn.accessToken).toBeTruthy();
  });

  test('PKCE with another verifier is invalid_request, without one invalid_grant', async () => {
    const o = oauth2({ useVerifier: true });
    const code = await codeFor(o);
    const form = {
      grant_type: 'authorization_code',
      code,
      client_id: APP.clientId,
      client_secret: APP.clientSecret,
      redirect_uri: REDIRECT,
    };
    const wrong = await postToken({ ...form, code_verifier: 'a'.repeat(64) });
    expect(wrong).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'invalid code verifier' },
    });
    const missing = await postToken(form);
    expect(missing).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'invalid code verifier' },
    });
    // a failed check does not burn the code: the right verifier still works
    const ok = await postToken({ ...form, code_verifier: o.codeVerifier ?? '' });
    expect(ok.status).toBe(200);
    expect(
      createHash('sha256')
        .update(o.codeVerifier ?? '')
        .digest('base64url'),
    ).toBe(url(o).searchParams.get('code_challenge'));
  });
});

function url(o: InstanceType<typeof jsforce.OAuth2>): URL {
  return new URL(o.getAuthorizationUrl({}));
}

describe('refresh, expiry and revoke', () => {
  test('jsforce refreshes automatically after expireAccessTokens() and retries the call', async () => {
    const o = oauth2();
    const conn = new jsforce.Connection({ oauth2: o, version: '62.0' });
    await conn.authorize(await codeFor(o));
    const before = conn.accessToken;
    const refreshed = new Promise<string>((resolve) => conn.on('refresh', (token: string) => resolve(token)));
    expect(org.oauth.expireAccessTokens()).toBe(1);
    await conn.limits();
    expect(await refreshed).not.toBe(before);
    expect(org.oauth.counters().grants).toEqual({ authorization_code: 1, refresh_token: 1 });
  });

  test('refresh response has no refresh_token unless rotation is on', async () => {
    const code = await codeFor(oauth2());
    const first = await postToken({
      grant_type: 'authorization_code',
      code,
      client_id: APP.clientId,
      client_secret: APP.clientSecret,
      redirect_uri: REDIRECT,
    });
    const refreshed = await postToken({
      grant_type: 'refresh_token',
      refresh_token: first.body.refresh_token ?? '',
      client_id: APP.clientId,
      client_secret: APP.clientSecret,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).toBeUndefined();
    expect(refreshed.body.access_token).not.toBe(first.body.access_token);
  });

  test('with rotation the old refresh token dies at once', async () => {
    const o = oauth2({ clientId: '3MVG9Rotating' });
    const code = await codeFor(o);
    const first = await postToken({
      grant_type: 'authorization_code',
      code,
      client_id: '3MVG9Rotating',
      client_secret: APP.clientSecret,
      redirect_uri: REDIRECT,
    });
    const form = { grant_type: 'refresh_token', client_id: '3MVG9Rotating', client_secret: APP.clientSecret };
    const second = await postToken({ ...form, refresh_token: first.body.refresh_token ?? '' });
    expect(second.body.refresh_token).toMatch(/^5Aep861/);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    const reused = await postToken({ ...form, refresh_token: first.body.refresh_token ?? '' });
    expect(reused).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'expired access/refresh token' },
    });
  });

  test('after revokeRefreshTokens() jsforce fails with the exact invalid_grant description', async () => {
    const o = oauth2();
    const conn = new jsforce.Connection({ oauth2: o, version: '62.0' });
    await conn.authorize(await codeFor(o));
    org.oauth.revokeRefreshTokens();
    await expect(conn.limits()).rejects.toThrow('Unable to refresh session due to: expired access/refresh token');
    const raw = await postToken({
      grant_type: 'refresh_token',
      refresh_token: conn.refreshToken ?? '',
      client_id: APP.clientId,
      client_secret: APP.clientSecret,
    });
    expect(raw).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'expired access/refresh token' },
    });
  });

  test('revoking a refresh token revokes its access tokens; unknown token is invalid_token', async () => {
    const o = oauth2();
    const conn = new jsforce.Connection({ oauth2: o, version: '62.0' });
    await conn.authorize(await codeFor(o));
    await o.revokeToken(conn.refreshToken ?? '');
    const rest = await fetch(`${org.url}/services/data/v62.0/limits`, {
      headers: { Authorization: `Bearer ${conn.accessToken ?? ''}` },
    });
    expect(rest.status).toBe(401);
    const again = await fetch(`${org.url}/services/oauth2/revoke?token=${encodeURIComponent(conn.refreshToken ?? '')}`);
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({ error: 'invalid_token', error_description: 'invalid token' });
  });

  test('an access token older than its TTL is refused (no expires_in, learn from 401)', async () => {
    let clock = Date.parse('2024-05-01T00:00:00Z');
    const timed = await startSalesforceOrg({
      connectedApps: [APP],
      autoApprove: true,
      accessTokenTtlMs: 60_000,
      now: () => clock,
    });
    try {
      const o = new jsforce.OAuth2({
        loginUrl: timed.url,
        clientId: APP.clientId,
        clientSecret: APP.clientSecret,
        redirectUri: REDIRECT,
      });
      const res = await fetch(o.getAuthorizationUrl({}), { redirect: 'manual' });
      const code = new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '';
      const conn = new jsforce.Connection({ oauth2: o, version: '62.0' });
      await conn.authorize(code);
      const call = () =>
        fetch(`${timed.url}/services/data/v62.0/limits`, {
          headers: { Authorization: `OAuth ${conn.accessToken ?? ''}` },
        });
      expect((await call()).status).toBe(200);
      clock += 61_000;
      expect((await call()).status).toBe(401);
    } finally {
      await timed.close();
    }
  });
});

describe('identity', () => {
  test('identity URL and userinfo describe the user, with {version}-templated urls', async () => {
    const o = oauth2();
    const conn = new jsforce.Connection({ oauth2: o, version: '62.0' });
    await conn.authorize(await codeFor(o));
    const identity = await conn.identity();
    expect(identity).toMatchObject({
      user_id: DEFAULT_INTEGRATION_USER.id,
      organization_id: DEFAULT_INTEGRATION_USER.orgId,
      username: DEFAULT_INTEGRATION_USER.username,
      display_name: DEFAULT_INTEGRATION_USER.displayName,
      active: true,
      user_type: 'STANDARD',
    });
    expect(identity.urls.rest).toBe(`${org.url}/services/data/v{version}/`);
    const userinfo = await fetch(`${org.url}/services/oauth2/userinfo`, {
      headers: { Authorization: `Bearer ${conn.accessToken ?? ''}` },
    });
    expect(await userinfo.json()).toMatchObject({
      sub: `${org.url}/id/${DEFAULT_INTEGRATION_USER.orgId}/${DEFAULT_INTEGRATION_USER.id}`,
      preferred_username: DEFAULT_INTEGRATION_USER.username,
    });
    const anonymous = await fetch(`${org.url}/services/oauth2/userinfo`, { headers: { Authorization: 'Bearer nope' } });
    expect(anonymous.status).toBe(403);
    expect(await anonymous.text()).toBe('Bad_OAuth_Token');
  });
});
