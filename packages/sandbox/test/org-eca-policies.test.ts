import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { NEW_EXTERNAL_CLIENT_APP_POLICIES } from '../src/org/app-policies.ts';
import {
  DEFAULT_INTEGRATION_USER,
  startSalesforceOrg,
  type ConnectedAppConfig,
  type SimulatedSalesforceOrg,
} from '../src/org/index.ts';

const REDIRECT = 'http://localhost:9999/callback';
const ECA: ConnectedAppConfig = {
  clientId: '3MVG9ExternalClientApp',
  clientSecret: 'eca-secret',
  redirectUris: [REDIRECT],
  policies: { ...NEW_EXTERNAL_CLIENT_APP_POLICIES, pkceRequired: false },
};
const USER = DEFAULT_INTEGRATION_USER.username;

let org: SimulatedSalesforceOrg | undefined;
let clock = Date.parse('2026-03-01T00:00:00Z');

async function start(app: ConnectedAppConfig = ECA, clocked = false): Promise<SimulatedSalesforceOrg> {
  org = await startSalesforceOrg({ connectedApps: [app], autoApprove: true, ...(clocked ? { now: () => clock } : {}) });
  return org;
}
afterEach(async () => {
  await org?.close();
  org = undefined;
});

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The authorize redirect (auto-approved as the integration user): where the browser is sent back. */
async function authorize(
  o: SimulatedSalesforceOrg,
  extra: Record<string, string> = {},
  clientId = ECA.clientId,
): Promise<Response> {
  const url = new URL('/services/oauth2/authorize', o.url);
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope: 'api refresh_token',
    state: 'st',
    ...extra,
  })) {
    url.searchParams.set(k, v);
  }
  return fetch(url, { redirect: 'manual' });
}

async function callback(o: SimulatedSalesforceOrg, extra: Record<string, string> = {}): Promise<URLSearchParams> {
  const res = await authorize(o, extra);
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location') ?? '').searchParams;
}

async function postToken(o: SimulatedSalesforceOrg, form: Record<string, string>) {
  const res = await fetch(`${o.url}/services/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams({ client_id: ECA.clientId, client_secret: ECA.clientSecret, ...form }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

async function exchange(o: SimulatedSalesforceOrg, code: string, extra: Record<string, string> = {}) {
  return postToken(o, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, ...extra });
}

async function control(o: SimulatedSalesforceOrg, method: string, path: string, body: unknown) {
  const res = await fetch(`${o.url}/_sandbox/sf${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const preAuthorise = (o: SimulatedSalesforceOrg, users = [USER]) =>
  control(o, 'PATCH', `/oauth/apps/${ECA.clientId}`, { policies: { preAuthorisedUsers: users } });

describe('External Client App: admin-approved users only (docs/salesforce-oauth.md)', () => {
  test('a user who is not pre-authorised is sent back with OAUTH_APP_ACCESS_DENIED; once added, the next authorisation succeeds', async () => {
    const o = await start();
    const refused = await callback(o);
    expect(refused.get('error')).toBe('OAUTH_APP_ACCESS_DENIED');
    expect(refused.get('error_description')).toBe('user is not admin approved to access this app');
    expect(refused.get('state')).toBe('st');
    expect(refused.get('code')).toBeNull();
    expect(o.counters().oauth.failures.OAUTH_APP_ACCESS_DENIED).toBe(1);

    expect((await preAuthorise(o)).status).toBe(200);
    const code = (await callback(o)).get('code') ?? '';
    expect(code).toMatch(/^aPrx/);
    const token = await exchange(o, code);
    expect(token.status).toBe(200);
    expect(token.body.refresh_token).toBeTruthy();
  });

  test('closing the policy between consent and exchange refuses the code at the token endpoint', async () => {
    const o = await start();
    await preAuthorise(o);
    const code = (await callback(o)).get('code') ?? '';
    await preAuthorise(o, []);
    expect(await exchange(o, code)).toEqual({
      status: 400,
      body: { error: 'OAUTH_APP_ACCESS_DENIED', error_description: 'user is not admin approved to access this app' },
    });
  });

  test('an app open to all users admits anyone who allows access', async () => {
    const o = await start({ ...ECA, policies: { permittedUsers: 'all_users' } });
    expect((await callback(o)).get('code')).toMatch(/^aPrx/);
  });
});

describe('External Client App: PKCE required', () => {
  test('an authorize request without a challenge is sent back with invalid_request; with one, the flow completes', async () => {
    const o = await start({ ...ECA, policies: { pkceRequired: true } });
    const refused = await callback(o);
    expect(refused.get('error')).toBe('invalid_request');
    expect(refused.get('error_description')).toBe('missing required code challenge');
    expect(refused.get('state')).toBe('st');

    const pair = pkce();
    const code =
      (await callback(o, { code_challenge: pair.challenge, code_challenge_method: 'S256' })).get('code') ?? '';
    expect((await exchange(o, code, { code_verifier: pair.verifier })).status).toBe(200);
  });

  test('turning the requirement off lets a request without a challenge through', async () => {
    const o = await start({ ...ECA, policies: { pkceRequired: true } });
    await control(o, 'PATCH', `/oauth/apps/${ECA.clientId}`, { policies: { pkceRequired: false } });
    expect((await callback(o)).get('code')).toMatch(/^aPrx/);
  });
});

describe('External Client App: a new app propagates', () => {
  test('its client id is unknown at authorize and token endpoints until the delay has passed', async () => {
    const o = await start({ ...ECA, policies: { permittedUsers: 'all_users' } });
    const created = await control(o, 'POST', '/oauth/apps', {
      clientId: '3MVG9BrandNew',
      clientSecret: 'new-secret',
      redirectUris: [REDIRECT],
      policies: { permittedUsers: 'all_users' },
      propagationDelayMs: 400,
    });
    expect(created).toEqual({ status: 201, body: { clientId: '3MVG9BrandNew', propagationDelayMs: 400 } });

    const page = await authorize(o, {}, '3MVG9BrandNew');
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('error=invalid_client_id');
    const token = await postToken(o, {
      grant_type: 'refresh_token',
      refresh_token: 'x',
      client_id: '3MVG9BrandNew',
      client_secret: 'new-secret',
    });
    expect(token).toEqual({
      status: 400,
      body: { error: 'invalid_client_id', error_description: 'client identifier invalid' },
    });

    // Propagation is over when the authorize page redirects; poll with a deadline, no blind sleep.
    await vi.waitFor(async () => expect((await authorize(o, {}, '3MVG9BrandNew')).status).toBe(302), {
      timeout: 5000,
      interval: 20,
    });
    const location = new URL((await authorize(o, {}, '3MVG9BrandNew')).headers.get('location') ?? '');
    expect(location.searchParams.get('code')).toMatch(/^aPrx/);
  });
});

describe('External Client App: refresh-token policy and rotation', () => {
  async function authorised(o: SimulatedSalesforceOrg): Promise<string> {
    const token = await exchange(o, (await callback(o)).get('code') ?? '');
    expect(token.status).toBe(200);
    return token.body.refresh_token ?? '';
  }
  const refresh = (o: SimulatedSalesforceOrg, refreshToken: string) =>
    postToken(o, { grant_type: 'refresh_token', refresh_token: refreshToken });
  const EXPIRED = { status: 400, body: { error: 'invalid_grant', error_description: 'expired access/refresh token' } };

  test('expire after N: the token works until N after it was issued', async () => {
    const o = await start(
      { ...ECA, policies: { permittedUsers: 'all_users', refreshTokenPolicy: { kind: 'expire_after', ms: 60_000 } } },
      true,
    );
    const rt = await authorised(o);
    clock += 59_000;
    expect((await refresh(o, rt)).status).toBe(200);
    clock += 1_000;
    expect(await refresh(o, rt)).toEqual(EXPIRED);
  });

  test('expire if unused for N: each use slides the window', async () => {
    const o = await start(
      {
        ...ECA,
        policies: { permittedUsers: 'all_users', refreshTokenPolicy: { kind: 'expire_if_unused', ms: 60_000 } },
      },
      true,
    );
    const rt = await authorised(o);
    clock += 50_000;
    expect((await refresh(o, rt)).status).toBe(200);
    clock += 50_000;
    expect((await refresh(o, rt)).status).toBe(200);
    clock += 60_000;
    expect(await refresh(o, rt)).toEqual(EXPIRED);
  });

  test('expire immediately refuses every refresh; valid until revoked lets a new authorisation refresh again', async () => {
    const o = await start({
      ...ECA,
      policies: { permittedUsers: 'all_users', refreshTokenPolicy: { kind: 'expire_immediately' } },
    });
    expect(await refresh(o, await authorised(o))).toEqual(EXPIRED);
    await control(o, 'PATCH', `/oauth/apps/${ECA.clientId}`, {
      policies: { refreshTokenPolicy: { kind: 'valid_until_revoked' } },
    });
    expect((await refresh(o, await authorised(o))).status).toBe(200);
  });

  test('rotation turned on in Setup: each refresh returns a new token and voids the old one', async () => {
    const o = await start({ ...ECA, policies: { permittedUsers: 'all_users' } });
    const rt = await authorised(o);
    expect((await refresh(o, rt)).body.refresh_token).toBeUndefined();
    expect(
      (await control(o, 'PATCH', `/oauth/apps/${ECA.clientId}`, { rotateRefreshTokens: true })).body
        .rotateRefreshTokens,
    ).toBe(true);
    const rotated = await refresh(o, rt);
    expect(rotated.body.refresh_token).toMatch(/^5Aep861/);
    expect(await refresh(o, rt)).toEqual(EXPIRED);
    expect((await refresh(o, rotated.body.refresh_token ?? '')).status).toBe(200);
  });
});

describe('Control API for apps', () => {
  test('a bad policy body is a 400 that says what is wrong, an unknown client id a 404', async () => {
    const o = await start();
    const bad = await control(o, 'PATCH', `/oauth/apps/${ECA.clientId}`, {
      policies: { refreshTokenPolicy: { kind: 'expire_after' } },
    });
    expect(bad.status).toBe(400);
    expect(String(bad.body.message)).toContain('ms');
    expect((await control(o, 'PATCH', '/oauth/apps/3MVG9Nope', { policies: {} })).status).toBe(404);
    expect((await control(o, 'POST', '/oauth/apps', { clientId: 'x' })).status).toBe(400);
    // The refused change left the app as it was: still closed.
    expect((await callback(o)).get('error')).toBe('OAUTH_APP_ACCESS_DENIED');
  });
});
