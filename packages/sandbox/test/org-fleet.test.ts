/**
 * Several orgs side by side: each its own host, org id, user, Connected App, records and tokens, and
 * nothing of one org is accepted by another.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetOrgIdentity, startSalesforceOrgFleet, type SimulatedSalesforceOrgFleet } from '../src/org/index.ts';

const REDIRECT = 'http://localhost:9999/callback';

let fleet: SimulatedSalesforceOrgFleet;

beforeAll(async () => {
  fleet = await startSalesforceOrgFleet({ count: 3, redirectUris: [REDIRECT], autoApprove: true });
});
afterAll(async () => {
  await fleet.close();
});

const member = (index: number) => {
  const entry = fleet.orgs[index];
  if (!entry) throw new Error(`no org ${index}`);
  return entry;
};

interface TokenResponse {
  access_token: string;
  refresh_token: string;
  instance_url: string;
  id: string;
}

/** The web-server flow with PKCE at `loginUrl`, as `clientId` (auto-approved). */
async function authorise(loginUrl: string, clientId: string, clientSecret: string): Promise<Response> {
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL('/services/oauth2/authorize', loginUrl);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope: 'api refresh_token',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
  }).toString();
  const approved = await fetch(authorize, { redirect: 'manual' });
  const code = new URL(approved.headers.get('location') ?? REDIRECT).searchParams.get('code') ?? 'no-code';
  return fetch(new URL('/services/oauth2/token', loginUrl), {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    }),
  });
}

describe('a fleet of orgs', () => {
  it('gives every org its own host, org id, user, Connected App and record ids', () => {
    const urls = fleet.orgs.map(({ org }) => org.url);
    const orgIds = fleet.orgs.map(({ identity }) => identity.orgId);
    const clientIds = fleet.orgs.map(({ identity }) => identity.connectedApp.clientId);
    const usernames = fleet.orgs.map(({ identity }) => identity.user.username);
    for (const values of [urls, orgIds, clientIds, usernames]) expect(new Set(values).size).toBe(3);
    expect(orgIds.every((id) => /^00D[0-9A-Za-z]{15}$/.test(id))).toBe(true);
    expect(fleet.orgs.map(({ org }) => org.store.orgId)).toEqual(orgIds);
    // The identity is a function of the index: a test can configure an integration before the org starts.
    expect(fleetOrgIdentity(1, [REDIRECT])).toEqual(member(1).identity);

    const first = fleet.orgs.map(({ org }) => String(org.store.create('Case', { Subject: 'first' }).Id));
    expect(new Set(first).size).toBe(3);
  });

  it("logging in at an org returns that org's instance_url and identity URL", async () => {
    const { identity, org } = member(1);
    const { clientId, clientSecret } = identity.connectedApp;
    const response = await authorise(org.url, clientId, clientSecret);
    expect(response.status).toBe(200);
    const token = (await response.json()) as TokenResponse;
    expect(token.instance_url).toBe(org.url);
    expect(token.id).toBe(`${org.url}/id/${identity.orgId}/${identity.user.id}`);

    const who = await fetch(token.id, { headers: { authorization: `Bearer ${token.access_token}` } });
    expect(await who.json()).toMatchObject({ organization_id: identity.orgId, username: identity.user.username });
  });

  it("refuses another org's Connected App and tokens", async () => {
    const a = member(0);
    const b = member(2);
    const foreignApp = await fetch(
      `${b.org.url}/services/oauth2/authorize?response_type=code&client_id=${a.identity.connectedApp.clientId}&redirect_uri=${encodeURIComponent(REDIRECT)}`,
      { redirect: 'manual' },
    );
    expect(foreignApp.status).toBe(400);
    expect(await foreignApp.text()).toContain('error=invalid_client_id');

    const token = (await (
      await authorise(a.org.url, a.identity.connectedApp.clientId, a.identity.connectedApp.clientSecret)
    ).json()) as TokenResponse;
    const headers = { authorization: `Bearer ${token.access_token}` };
    expect((await fetch(`${a.org.url}/services/data/v62.0/limits`, { headers })).status).toBe(200);
    const elsewhere = await fetch(`${b.org.url}/services/data/v62.0/limits`, { headers });
    expect(elsewhere.status).toBe(401);
    expect(await elsewhere.json()).toEqual([
      { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
    ]);

    const handshake = await fetch(`${b.org.url}/cometd/62.0`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify([
        { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] },
      ]),
    });
    expect(((await handshake.json()) as Array<{ successful: boolean }>)[0]?.successful).toBe(false);
  });

  it("an org's changes are its own: another org's change events do not carry them", () => {
    const a = member(0);
    const b = member(1);
    const before = b.org.events.lastReplayId();
    const record = a.org.store.create('Case', { Subject: 'only in org 0' });
    expect(
      a.org.events.retained().some((e) => e.message.payload.ChangeEventHeader.recordIds.includes(String(record.Id))),
    ).toBe(true);
    expect(b.org.events.lastReplayId()).toBe(before);
  });
});
