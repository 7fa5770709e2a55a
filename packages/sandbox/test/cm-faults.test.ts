/**
 * Fault injection on the simulated CM API: the failures a client must survive
 * (docs/communications-mining.md#errors-retries-and-timeouts) (429 with Retry-After, 5xx, slow answers,
 * connections that die without an answer).
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SimulatedCommunicationsMining } from '../src/cm/index.ts';
import { PROJECT, SOURCE, TOKEN, callApi, callControl, startTestCm, sync, validComment } from './cm-helpers.ts';

let cm: SimulatedCommunicationsMining;
beforeAll(async () => {
  cm = await startTestCm();
});
afterAll(() => cm.close());
beforeEach(() => cm.control.reset());

const syncUrl = () => `${cm.url}/api/v1/sources/${PROJECT}/${SOURCE}/sync`;

/** What a raw `node:http` client sees when the server destroys the socket. */
function postWithNodeHttp(url: string, body: string): Promise<{ status: number } | { error: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const req = httpRequest(
      url,
      { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error }));
    req.end(body);
  });
}

describe('simulated CM failNext', () => {
  it('answers 429 with Retry-After and the envelope, stores nothing, then recovers', async () => {
    cm.control.failNext({ status: 429, retryAfterSeconds: 7 });

    const limited = await sync(cm, [validComment('x')]);
    const retried = await sync(cm, [validComment('x')]);

    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.body).toEqual({ status: 'error', message: '429 Too Many Requests' });
    expect(retried.status).toBe(200);
    expect(retried.body.new).toBe(1);
    expect(cm.control.history({ commentId: 'x' })).toHaveLength(1);
    expect(cm.control.counters().requests.sync).toEqual({ '429': 1, '200': 1 });
    await expect.poll(() => cm.control.counters().inFlight).toBe(0);
  });

  it('sends Retry-After: 1 on 429 by default, and none when asked for null (header UNVERIFIED)', async () => {
    cm.control.failNext({ status: 429 });
    cm.control.failNext({ status: 429, retryAfterSeconds: null });

    const first = await callApi(cm, 'GET', '/sources');
    const second = await callApi(cm, 'GET', '/sources');

    expect([first.status, second.status]).toEqual([429, 429]);
    expect(first.headers.get('retry-after')).toBe('1');
    expect(second.headers.has('retry-after')).toBe(false);
  });

  it('answers 503 count times with the envelope, then recovers', async () => {
    cm.control.failNext({ status: 503, count: 2 });

    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(await sync(cm, [validComment('x')]));

    expect(statuses.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(statuses[0]?.body).toEqual({ status: 'error', message: '503 Service Unavailable' });
    expect(statuses[0]?.headers.has('retry-after')).toBe(false);
  });

  it('fails only the route it is aimed at', async () => {
    cm.control.failNext({ status: 500, route: 'sync', message: 'boom' });

    const source = await callApi(cm, 'GET', `/sources/${PROJECT}/${SOURCE}`);
    const synced = await sync(cm, [validComment('x')]);

    expect(source.status).toBe(200);
    expect(synced.status).toBe(500);
    expect(synced.body).toEqual({ status: 'error', message: 'boom' });
  });
});

describe('simulated CM failure windows', () => {
  it('fails every request until cleared (an outage window), then recovers', async () => {
    cm.control.failUntilCleared({ status: 502 });

    const during = [];
    for (let i = 0; i < 3; i++) during.push((await sync(cm, [validComment('x')])).status);
    cm.control.clearFaults();
    const after = await sync(cm, [validComment('x')]);

    expect(during).toEqual([502, 502, 502]);
    expect(after.status).toBe(200);
    expect(cm.control.faults()).toEqual({ oneShot: [], untilCleared: [], latency: [] });
  });

  it('never applies to the control API, which stays reachable during an outage', async () => {
    cm.control.failUntilCleared({ status: 503 });

    const counters = await callControl(cm, 'GET', '/counters');

    expect(counters.status).toBe(200);
  });
});

describe('simulated CM latency', () => {
  it('delays matching requests by the configured time until removed', async () => {
    cm.control.latency(150, { route: 'getSource' });

    const slowStart = performance.now();
    const slow = await callApi(cm, 'GET', `/sources/${PROJECT}/${SOURCE}`);
    const slowMs = performance.now() - slowStart;
    cm.control.latency(0, { route: 'getSource' });

    expect(slow.status).toBe(200);
    expect(slowMs).toBeGreaterThanOrEqual(145);
    expect(cm.control.faults().latency).toEqual([]);
  });

  it('lets close() end a request stuck in injected latency without waiting for it', async () => {
    const own = await startTestCm();
    own.control.latency(60_000);
    const pending = fetch(`${own.url}/api/v1/sources`, { headers: { authorization: `Bearer ${TOKEN}` } }).catch(
      (error: unknown) => error as Error & { cause?: { code?: string } },
    );
    await expect.poll(() => own.control.counters().inFlight).toBe(1);

    const closeStart = performance.now();
    await own.close();

    expect(performance.now() - closeStart).toBeLessThan(5_000);
    // The request was in the server: its connection died (not refused).
    expect(await pending).toMatchObject({ cause: { code: 'UND_ERR_SOCKET' } });
    await expect.poll(() => own.control.counters().inFlight).toBe(0);
  });
});

describe('simulated CM dropped connections', () => {
  it('destroys the socket without a response; fetch sees a socket error and nothing is stored', async () => {
    cm.control.dropNext(1);

    const failure = await fetch(syncUrl(), {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ comments: [validComment('x')] }),
    }).then(
      () => undefined,
      (error: unknown) => error as Error & { cause?: { code?: string } },
    );

    expect(failure).toBeInstanceOf(TypeError);
    expect(failure?.cause?.code).toBe('UND_ERR_SOCKET');
    expect(cm.control.comments(PROJECT, SOURCE)).toEqual([]);
    expect(cm.control.counters().requests.sync).toEqual({ dropped: 1 });
    expect((await sync(cm, [validComment('x')])).status).toBe(200);
  });

  it('is seen by a node:http client as a connection reset', async () => {
    cm.control.dropNext(1);

    const outcome = await postWithNodeHttp(syncUrl(), JSON.stringify({ comments: [validComment('x')] }));

    expect(outcome).toEqual({ error: expect.objectContaining({ code: 'ECONNRESET' }) });
  });

  it('after-handling: stores the batch, loses the answer, and the retry comes back unchanged', async () => {
    cm.control.dropNext(1, { phase: 'after-handling', route: 'sync' });

    const lost = await postWithNodeHttp(syncUrl(), JSON.stringify({ comments: [validComment('x')] }));
    const retry = await sync(cm, [validComment('x')]);

    expect(lost).toEqual({ error: expect.objectContaining({ code: 'ECONNRESET' }) });
    expect(retry.body).toMatchObject({ status: 'ok', new: 0, unchanged: 1 });
    expect(cm.control.history({ commentId: 'x' }).map((e) => (e.kind === 'upsert' ? e.outcome : e.kind))).toEqual([
      'new',
      'unchanged',
    ]);
  });

  it('fires one-shot faults oldest first, each on the next matching request', async () => {
    cm.control.dropNext(1);
    cm.control.failNext({ status: 429 });

    const first = await fetch(`${cm.url}/api/v1/sources`, { headers: { authorization: `Bearer ${TOKEN}` } }).catch(
      () => 'dropped',
    );
    const second = await callApi(cm, 'GET', '/sources');
    const third = await callApi(cm, 'GET', '/sources');

    expect(first).toBe('dropped');
    expect([second.status, third.status]).toEqual([429, 200]);
  });
});

describe('simulated CM in-process fault options', () => {
  it.each([
    { name: 'a non-error status', arm: () => cm.control.failNext({ status: 200 }), message: 'status' },
    { name: 'a zero count', arm: () => cm.control.failNext({ status: 503, count: 0 }), message: 'count' },
    {
      name: 'an unknown route',
      arm: () => cm.control.failNext({ status: 503, route: 'nope' as 'sync' }),
      message: 'route',
    },
    { name: 'negative latency', arm: () => cm.control.latency(-1), message: 'ms' },
    { name: 'a fractional drop count', arm: () => cm.control.dropNext(1.5), message: 'count' },
  ])('refuses $name, naming the field', ({ arm, message }) => {
    expect(arm).toThrow(new RegExp(`Invalid .*${message}`));
    expect(cm.control.faults()).toEqual({ oneShot: [], untilCleared: [], latency: [] });
  });
});
