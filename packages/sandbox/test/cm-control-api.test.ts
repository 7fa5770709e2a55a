/**
 * The HTTP control API under `/_sandbox/cm`: the same operations as `CmControl`, outside the CM
 * base path, without the CM token, answering bad input with 400 and never crashing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SimulatedCommunicationsMining } from '../src/cm/index.ts';
import { PROJECT, SOURCE, callApi, callControl, startTestCm, sync, validComment } from './cm-helpers.ts';

let cm: SimulatedCommunicationsMining;
beforeAll(async () => {
  cm = await startTestCm();
});
afterAll(() => cm.close());
beforeEach(() => cm.control.reset());

describe('simulated CM control API: reading state', () => {
  it('serves comments, one comment, history and counters without a token', async () => {
    await sync(cm, [validComment('a'), validComment('b')]);
    await sync(cm, [validComment('a', { timestamp: '2025-01-01T00:00:00Z' })]);

    const comments = await callControl(cm, 'GET', `/sources/${PROJECT}/${SOURCE}/comments`);
    const one = await callControl(cm, 'GET', `/sources/${PROJECT}/${SOURCE}/comments/a`);
    const history = await callControl(cm, 'GET', `/history?project=${PROJECT}&source=${SOURCE}&id=a`);
    const counters = await callControl(cm, 'GET', '/counters');

    expect((comments.body.comments as Array<{ comment: { id: string } }>).map((c) => c.comment.id)).toEqual(['a', 'b']);
    expect(one.body.comment).toMatchObject({
      comment: { id: 'a', timestamp: '2025-01-01T00:00:00Z' },
      seq: expect.any(Number),
    });
    expect((history.body.history as Array<{ outcome: string }>).map((e) => e.outcome)).toEqual([
      'new',
      'updated_properties_only',
    ]);
    expect(counters.body.counters).toMatchObject({
      requests: { sync: { '200': 2 } },
      comments: { new: 2, updated: 1, updated_properties_only: 1, billable: 2 },
    });
  });

  it('answers 404 with the envelope for a comment the source does not hold', async () => {
    const response = await callControl(cm, 'GET', `/sources/${PROJECT}/${SOURCE}/comments/missing`);

    expect(response.status).toBe(404);
    expect(response.body).toEqual({ status: 'error', message: `No comment "missing" in '${PROJECT}/${SOURCE}'` });
  });
});

describe('simulated CM control API: steering', () => {
  it('arms a fault over HTTP that the CM API then plays, and clears it', async () => {
    const armed = await callControl(cm, 'POST', '/faults', {
      kind: 'failNext',
      status: 429,
      retryAfterSeconds: 3,
      route: 'sync',
    });
    const limited = await sync(cm, [validComment('x')]);
    await callControl(cm, 'POST', '/faults', { kind: 'failUntilCleared', status: 503 });
    const outage = await sync(cm, [validComment('x')]);
    const cleared = await callControl(cm, 'DELETE', '/faults');
    const recovered = await sync(cm, [validComment('x')]);

    expect(armed.body.faults).toMatchObject({ oneShot: [{ route: 'sync', remaining: 1, action: { status: 429 } }] });
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '3']);
    expect(outage.status).toBe(503);
    expect(cleared.body).toEqual({ status: 'ok' });
    expect(recovered.status).toBe(200);
  });

  it('arms latency and drops over HTTP', async () => {
    await callControl(cm, 'POST', '/faults', { kind: 'latency', ms: 120, route: 'listSources' });
    await callControl(cm, 'POST', '/faults', { kind: 'dropNext', count: 1, route: 'getSource' });

    const start = performance.now();
    const slow = await callApi(cm, 'GET', '/sources');
    const elapsed = performance.now() - start;
    const dropped = await fetch(`${cm.url}/api/v1/sources/${PROJECT}/${SOURCE}`).catch(() => 'dropped');

    expect(slow.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(115);
    expect(dropped).toBe('dropped');
  });

  it('creates sources, replaces tokens and resets over HTTP', async () => {
    const created = await callControl(cm, 'POST', '/sources', { project: PROJECT, name: 'cases', title: 'Cases' });
    const tokens = await callControl(cm, 'PUT', '/tokens', { tokens: ['rotated'] });
    const oldToken = await callApi(cm, 'GET', '/sources');
    await callControl(cm, 'POST', '/reset');
    const afterReset = await callApi(cm, 'GET', '/sources');

    expect(created.body.source).toMatchObject({ owner: PROJECT, name: 'cases', title: 'Cases' });
    expect(tokens.body).toEqual({ status: 'ok' });
    expect(oldToken.status).toBe(401);
    expect(afterReset.status).toBe(200);
    expect((afterReset.body.sources as Array<{ name: string }>).map((s) => s.name)).toEqual([SOURCE]);
  });

  it('reset empties comments, history, counters and faults but keeps seq increasing', async () => {
    await sync(cm, [validComment('x')]);
    const seqBefore = cm.control.history()[0]?.seq ?? 0;
    cm.control.failUntilCleared({ status: 503 });

    cm.control.reset();
    await sync(cm, [validComment('x')]);

    expect(cm.control.history()).toHaveLength(1);
    expect(cm.control.history()[0]?.seq).toBeGreaterThan(seqBefore);
    expect(cm.control.counters().comments.new).toBe(1);
    expect(cm.control.counters().requests).toEqual({ sync: { '200': 1 } });
  });
});

describe('simulated CM control API: bad input', () => {
  it.each([
    {
      name: 'an unknown fault kind',
      method: 'POST',
      path: '/faults',
      body: { kind: 'explode' },
      message: 'Invalid fault',
    },
    {
      name: 'a success status as a fault',
      method: 'POST',
      path: '/faults',
      body: { kind: 'failNext', status: 200 },
      message: 'status',
    },
    {
      name: 'a status that is a string',
      method: 'POST',
      path: '/faults',
      body: { kind: 'failNext', status: '503' },
      message: 'status',
    },
    {
      name: 'an unknown fault field',
      method: 'POST',
      path: '/faults',
      body: { kind: 'dropNext', after: true },
      message: 'after',
    },
    {
      name: 'an unknown route',
      method: 'POST',
      path: '/faults',
      body: { kind: 'latency', ms: 5, route: 'nope' },
      message: 'route',
    },
    { name: 'malformed JSON', method: 'POST', path: '/faults', body: '{"kind":', message: 'Malformed JSON body' },
    { name: 'no body', method: 'POST', path: '/faults', body: undefined, message: 'Invalid fault' },
    { name: 'a JSON array', method: 'POST', path: '/faults', body: [], message: 'Invalid fault' },
    { name: 'tokens that are not strings', method: 'PUT', path: '/tokens', body: { tokens: [1] }, message: 'tokens.0' },
    {
      name: 'an empty token',
      method: 'PUT',
      path: '/tokens',
      body: { tokens: [''] },
      message: 'a token must not be empty',
    },
    {
      name: 'an unknown history filter',
      method: 'GET',
      path: '/history?comment=x',
      body: undefined,
      message: 'comment',
    },
    {
      name: 'a source name with a slash',
      method: 'POST',
      path: '/sources',
      body: { project: PROJECT, name: 'a/b' },
      message: 'Invalid source name',
    },
    {
      name: 'an unknown source field',
      method: 'POST',
      path: '/sources',
      body: { project: PROJECT, name: 'ok', colour: 'red' },
      message: 'colour',
    },
  ])('answers $name with 400 naming the problem', async ({ method, path, body, message }) => {
    const response = await callControl(cm, method, path, body);

    expect(response.status).toBe(400);
    expect(response.body).toEqual({ status: 'error', message: expect.stringContaining(message) });
    expect(cm.control.faults()).toEqual({ oneShot: [], untilCleared: [], latency: [] });
  });

  it('answers creating an existing source with 409', async () => {
    const response = await callControl(cm, 'POST', '/sources', { project: PROJECT, name: SOURCE });

    expect(response.status).toBe(409);
    expect(response.body).toEqual({ status: 'error', message: `Source '${PROJECT}/${SOURCE}' already exists` });
  });

  it('answers an unknown control route with the 404 envelope and keeps serving', async () => {
    const missing = await callControl(cm, 'GET', '/nope');
    const counters = await callControl(cm, 'GET', '/counters');

    expect(missing.status).toBe(404);
    expect(missing.body.status).toBe('error');
    expect(counters.status).toBe(200);
    expect(cm.control.counters().requests).toEqual({});
  });
});
