/**
 * The simulated CM's HTTP surface, as docs/communications-mining.md describes it: tenant base path
 * (#base-url, #pitfall-1-the-base-url-loses-its-tenant-path), Bearer auth (#authentication,
 * #pitfall-12-one-api-token-per-user), the envelope (#response-envelope) and the sources routes (#sources).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCommunicationsMining, type SimulatedCommunicationsMining } from '../src/cm/index.ts';
import { BASE_PATH, PROJECT, SOURCE, TOKEN, callApi, originOf, startTestCm, sync, validComment } from './cm-helpers.ts';

let cm: SimulatedCommunicationsMining;
beforeAll(async () => {
  cm = await startTestCm();
});
afterAll(() => cm.close());
beforeEach(() => cm.control.reset());

describe('simulated CM base path', () => {
  it('serves the API at <base>/api/... and reports the base in url', async () => {
    expect(cm.url).toBe(`${originOf(cm)}${BASE_PATH}`);

    const joinedRelative = await fetch(new URL('api/v1/sources', `${cm.url}/`), {
      headers: { authorization: `Bearer ${TOKEN}` },
    });

    expect(joinedRelative.status).toBe(200);
  });

  it('answers 404 with the envelope when a client drops the base path', async () => {
    // The mistake docs/communications-mining.md#base-url warns about: resolving an absolute path against the base drops
    // `/org/tenant/reinfer_`.
    const joinedAbsolute = new URL('/api/v1/sources', cm.url);
    const response = await fetch(joinedAbsolute, { headers: { authorization: `Bearer ${TOKEN}` } });

    expect(joinedAbsolute.pathname).toBe('/api/v1/sources');
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      status: 'error',
      message: `404 Not Found: GET /api/v1/sources (this API lives under ${BASE_PATH}/api/…)`,
    });
    expect(cm.control.counters().requests.unmatched).toEqual({ '404': 1 });
  });

  it('normalises a base path given without a leading slash or with a trailing one', async () => {
    const other = await startCommunicationsMining({ tokens: [TOKEN], basePath: 'org/tenant/reinfer_/' });
    try {
      expect(other.url).toBe(`${originOf(other)}/org/tenant/reinfer_`);
      const response = await fetch(`${other.url}/api/v1/sources`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(await response.json()).toEqual({ status: 'ok', sources: [] });
    } finally {
      await other.close();
    }
  });

  it('refuses options it cannot honour, naming the option', async () => {
    await expect(startCommunicationsMining({ tokens: [TOKEN], basePath: '/has space' })).rejects.toThrow(/basePath/);
    await expect(startCommunicationsMining({ tokens: [''] })).rejects.toThrow(/tokens\.0: a token must not be empty/);
  });
});

describe('simulated CM auth', () => {
  const path = `/sources/${PROJECT}/${SOURCE}/sync`;
  const body = { comments: [validComment('x')] };

  it.each<{ name: string; headers: Record<string, string>; message: string }>([
    { name: 'no Authorization header', headers: {}, message: 'Missing "Authorization: Bearer <token>" header' },
    { name: 'an unknown token', headers: { authorization: 'Bearer wrong' }, message: 'Invalid or revoked API token' },
    {
      name: 'another scheme',
      headers: { authorization: `Basic ${TOKEN}` },
      message: 'Missing "Authorization: Bearer <token>" header',
    },
    {
      name: 'the legacy X-Auth-Token header',
      headers: { 'x-auth-token': TOKEN },
      message: 'Missing "Authorization: Bearer <token>" header',
    },
  ])('answers $name with 401 and the envelope, storing nothing', async ({ headers, message }) => {
    const response = await callApi(cm, 'POST', path, body, headers);

    expect(response.status).toBe(401);
    expect(response.body).toEqual({ status: 'error', message });
    expect(cm.control.comments(PROJECT, SOURCE)).toEqual([]);
  });

  it('rejects the old token once it is regenerated', async () => {
    cm.control.setTokens(['regenerated']);

    const old = await callApi(cm, 'POST', path, body);
    const fresh = await callApi(cm, 'POST', path, body, { authorization: 'Bearer regenerated' });

    expect(old.status).toBe(401);
    expect(fresh.status).toBe(200);
  });

  it('guards every API route, reads included', async () => {
    const response = await fetch(`${cm.url}/api/v1/sources`);

    expect(response.status).toBe(401);
    expect(cm.control.counters().requests.listSources).toEqual({ '401': 1 });
  });
});

describe('simulated CM sources', () => {
  it('lists sources, gets one by name and by id:<id>', async () => {
    const list = await callApi(cm, 'GET', '/sources');
    const source = (list.body.sources as Array<Record<string, unknown>>)[0];
    const byName = await callApi(cm, 'GET', `/sources/${PROJECT}/${SOURCE}`);
    const byId = await callApi(cm, 'GET', `/sources/id:${source?.id as string}`);
    const inProject = await callApi(cm, 'GET', `/sources/${PROJECT}`);

    expect(source).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{16}$/),
      owner: PROJECT,
      name: SOURCE,
      title: '',
      description: '',
      language: 'en',
      should_translate: false,
      sensitive_properties: [],
      created_at: expect.any(String),
      updated_at: expect.any(String),
      last_modified: expect.any(String),
      bucket_id: null,
    });
    expect(byName.body).toEqual({ status: 'ok', source });
    expect(byId.body).toEqual({ status: 'ok', source });
    expect(inProject.body).toEqual({ status: 'ok', sources: [source] });
  });

  it('creates with PUT, refuses a second create with 409, updates with POST', async () => {
    const fields = {
      title: 'Salesforce emails',
      description: 'Synced by sf-cm-bridge',
      language: 'en',
      should_translate: false,
      sensitive_properties: [],
    };

    const created = await callApi(cm, 'PUT', `/sources/${PROJECT}/emails`, { source: fields });
    const again = await callApi(cm, 'PUT', `/sources/${PROJECT}/emails`, { source: fields });
    const updated = await callApi(cm, 'POST', `/sources/${PROJECT}/emails`, { source: { title: 'Renamed' } });

    expect(created.status).toBe(200);
    expect(created.body.source).toMatchObject({ owner: PROJECT, name: 'emails', ...fields });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ status: 'error', message: "Source 'acme/emails' already exists" });
    expect(updated.body.source).toMatchObject({ title: 'Renamed', description: 'Synced by sf-cm-bridge' });
    expect((await sync(cm, [validComment('x')], 'emails')).status).toBe(200);
  });

  it.each([
    { name: 'a missing source on GET', method: 'GET', path: `/sources/${PROJECT}/nope`, body: undefined, status: 404 },
    {
      name: 'a missing source on POST',
      method: 'POST',
      path: `/sources/${PROJECT}/nope`,
      body: { source: {} },
      status: 404,
    },
    { name: 'a missing id:<id>', method: 'GET', path: '/sources/id:0000000000000000', body: undefined, status: 404 },
    {
      name: 'a source name with a space',
      method: 'PUT',
      path: `/sources/${PROJECT}/bad%20name`,
      body: { source: {} },
      status: 400,
    },
    {
      name: 'a title over 128 chars',
      method: 'PUT',
      path: `/sources/${PROJECT}/ok`,
      body: { source: { title: 'x'.repeat(129) } },
      status: 400,
    },
    {
      name: 'an unknown language',
      method: 'PUT',
      path: `/sources/${PROJECT}/ok`,
      body: { source: { language: 'fr' } },
      status: 400,
    },
    {
      name: 'a body without the source wrapper',
      method: 'PUT',
      path: `/sources/${PROJECT}/ok`,
      body: { title: 'x' },
      status: 400,
    },
  ])('answers $name with $status and the envelope', async ({ method, path, body, status }) => {
    const response = await callApi(cm, method, path, body);

    expect(response.status).toBe(status);
    expect(response.body).toEqual({ status: 'error', message: expect.any(String) });
  });
});

describe('simulated CM response headers', () => {
  it('sends Server-Timing on API responses', async () => {
    const response = await callApi(cm, 'GET', '/sources');

    expect(response.headers.get('server-timing')).toMatch(/^total;dur=\d+(\.\d+)?$/);
  });
});
