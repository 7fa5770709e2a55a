/**
 * The CM client: URL building that keeps the tenant path, typed errors, response validation, timeouts,
 * and a token that never reaches a log line
 * (docs/communications-mining.md#base-url-authentication-and-envelope, #syncing-comments, #sources,
 * #pitfall-1-the-base-url-loses-its-tenant-path).
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging.ts';
import type { SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import { createCmClient } from '../../src/sink/client.ts';
import type { Comment } from '../../src/model/comment.ts';
import { cmEndpoint, normaliseBaseUrl } from '../../src/sink/endpoint.ts';
import {
  CmAuthError,
  CmConnectionError,
  CmNotFoundError,
  CmTimeoutError,
  CmUnexpectedResponseError,
  shouldRetry,
} from '../../src/sink/errors.ts';
import { SinkMetricsCounters } from '../../src/sink/metrics.ts';
import { BASE_PATH, PROJECT, SOURCE, TOKEN, startTestCm } from '../helpers/cm.ts';

function comment(id: string): Comment {
  return {
    id,
    timestamp: '2024-03-05T14:22:10Z',
    messages: [{ body: { text: `Body of ${id}` } }],
    user_properties: { 'string:SF Object': 'Case' },
  };
}

/** A fetch that records what it was asked and answers with `answer`. */
function recordingFetch(answer: () => Response) {
  const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    calls.push({ url: typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, init });
    return answer();
  };
  return { calls, fetch };
}

const okSync = () => Response.json({ status: 'ok', new: 1, updated: 0, unchanged: 0 });

describe('URL building keeps the base path', () => {
  it('appends segments to …/reinfer_ like the CLI’s construct_endpoint', async () => {
    const { calls, fetch } = recordingFetch(okSync);
    const client = createCmClient({ baseUrl: 'https://cloud.uipath.com/org/tenant/reinfer_', token: 't', fetch });
    await client.sync('project', 'source', [comment('a')]);
    expect(calls[0]?.url).toBe('https://cloud.uipath.com/org/tenant/reinfer_/api/v1/sources/project/source/sync');
    expect(calls[0]?.init?.method).toBe('POST');
    expect(new Headers(calls[0]?.init?.headers).get('authorization')).toBe('Bearer t');
  });

  it('a trailing slash on the base changes nothing; a bare host works too', () => {
    expect(cmEndpoint(normaliseBaseUrl('https://cloud.uipath.com/org/tenant/reinfer_/'), ['api', 'v1'])).toBe(
      'https://cloud.uipath.com/org/tenant/reinfer_/api/v1',
    );
    expect(cmEndpoint(normaliseBaseUrl('https://acme.reinfer.io'), ['api', 'v1'])).toBe(
      'https://acme.reinfer.io/api/v1',
    );
  });

  it('URL-encodes each segment, and delete ids as repeated id=', async () => {
    const { calls, fetch } = recordingFetch(() => Response.json({ status: 'ok' }));
    const client = createCmClient({ baseUrl: 'https://x.reinfer.io', token: 't', fetch });
    await client.deleteComments('my.project', 'src', ['a+b', 'c&d', 'e#f']);
    expect(calls[0]?.url).toBe(
      'https://x.reinfer.io/api/v1/sources/my.project/src/comments?id=a%2Bb&id=c%26d&id=e%23f',
    );
    expect(cmEndpoint('https://x', ['comments', 'a/b?c'])).toBe('https://x/comments/a%2Fb%3Fc');
  });

  it('refuses dot segments, which URL parsers resolve even when percent-encoded', () => {
    expect(() => cmEndpoint('https://x', ['api', '..'])).toThrow(TypeError);
    expect(() => createCmClient({ baseUrl: 'https://x/?a=1', token: 't' })).toThrow(/query/);
    expect(() => createCmClient({ baseUrl: 'ftp://x', token: 't' })).toThrow(/http/);
  });
});

describe('response validation (envelope, sync counters)', () => {
  it('parses the optional updated_* counters when the server sends them', async () => {
    const { fetch } = recordingFetch(() =>
      Response.json({
        status: 'ok',
        new: 0,
        updated: 2,
        unchanged: 1,
        updated_properties_only: 1,
        updated_text_changed: 1,
        extra: true,
      }),
    );
    const counters = await createCmClient({ baseUrl: 'https://x', token: 't', fetch }).sync('p', 's', [comment('a')]);
    expect(counters).toEqual({ new: 0, updated: 2, unchanged: 1, updated_properties_only: 1, updated_text_changed: 1 });
  });

  it('a 200 that is not the documented body is a retryable CmUnexpectedResponseError', async () => {
    const { fetch } = recordingFetch(() => new Response('<html>proxy</html>', { status: 200 }));
    const error = await createCmClient({ baseUrl: 'https://x', token: 't', fetch })
      .sync('p', 's', [comment('a')])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CmUnexpectedResponseError);
    expect(shouldRetry(error)).toBe(true);
  });

  it('refuses more than 32 ids per delete call', async () => {
    const client = createCmClient({ baseUrl: 'https://x', token: 't', fetch: recordingFetch(okSync).fetch });
    await expect(
      client.deleteComments(
        'p',
        's',
        Array.from({ length: 33 }, (_, i) => `c${i}`),
      ),
    ).rejects.toThrow(RangeError);
  });
});

describe('against the simulated CM', () => {
  let cm: SimulatedCommunicationsMining;
  beforeAll(async () => {
    cm = await startTestCm();
  });
  afterAll(() => cm.close());
  beforeEach(() => cm.control.reset());

  it('syncs through the tenant path; dropping …/reinfer_ is a CmNotFoundError that names the path', async () => {
    expect(cm.url.endsWith(BASE_PATH)).toBe(true);
    const client = createCmClient({ baseUrl: cm.url, token: TOKEN });
    expect(await client.sync(PROJECT, SOURCE, [comment('a')])).toMatchObject({ new: 1, updated: 0, unchanged: 0 });
    expect(cm.control.comments(PROJECT, SOURCE).map((c) => c.comment.id)).toEqual(['a']);

    const withoutPath = createCmClient({ baseUrl: new URL(cm.url).origin, token: TOKEN });
    const error = await withoutPath.sync(PROJECT, SOURCE, [comment('a')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CmNotFoundError);
    expect((error as CmNotFoundError).cmMessage).toMatch(/reinfer_/);
  });

  it('a revoked token is a CmAuthError, not retryable', async () => {
    cm.control.setTokens(['regenerated']);
    const error = await createCmClient({ baseUrl: cm.url, token: TOKEN })
      .getSource(PROJECT, SOURCE)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CmAuthError);
    expect((error as CmAuthError).status).toBe(401);
    expect(shouldRetry(error)).toBe(false);
  });

  it('getSource returns the validated source; a missing one is CmNotFoundError', async () => {
    const client = createCmClient({ baseUrl: cm.url, token: TOKEN });
    expect(await client.getSource(PROJECT, SOURCE)).toMatchObject({
      owner: PROJECT,
      name: SOURCE,
      id: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    await expect(client.getSource(PROJECT, 'missing')).rejects.toBeInstanceOf(CmNotFoundError);
  });

  it('getComment returns what was synced plus response-only fields; missing is CmNotFoundError', async () => {
    const client = createCmClient({ baseUrl: cm.url, token: TOKEN });
    await client.sync(PROJECT, SOURCE, [comment('sf:001+x')]);
    const view = await client.getComment(PROJECT, SOURCE, 'sf:001+x');
    expect(view).toMatchObject({ ...comment('sf:001+x'), uid: expect.any(String) });
    await expect(client.getComment(PROJECT, SOURCE, 'nope')).rejects.toBeInstanceOf(CmNotFoundError);
  });

  it('deletes by repeated id=; missing ids and a 404 both count as done', async () => {
    const client = createCmClient({ baseUrl: cm.url, token: TOKEN });
    await client.sync(PROJECT, SOURCE, [comment('a'), comment('b')]);
    await client.deleteComments(PROJECT, SOURCE, ['a', 'b', 'never-existed']);
    expect(cm.control.comments(PROJECT, SOURCE)).toEqual([]);
    cm.control.failNext({ status: 404, route: 'deleteComments' });
    await expect(client.deleteComments(PROJECT, SOURCE, ['a'])).resolves.toBeUndefined();
  });

  it('no answer within timeoutMs is a retryable CmTimeoutError, counted in metrics', async () => {
    cm.control.latency(2_000);
    const metrics = new SinkMetricsCounters();
    const client = createCmClient({ baseUrl: cm.url, token: TOKEN, timeoutMs: 50, metrics });
    const error = await client.sync(PROJECT, SOURCE, [comment('a')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CmTimeoutError);
    expect(shouldRetry(error)).toBe(true);
    expect(metrics.snapshot().requests.sync).toEqual({ timeout: 1 });
  });

  it('a connection dropped without an answer is a retryable CmConnectionError', async () => {
    cm.control.dropNext(1);
    const error = await createCmClient({ baseUrl: cm.url, token: TOKEN })
      .sync(PROJECT, SOURCE, [comment('a')])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CmConnectionError);
    expect(shouldRetry(error)).toBe(true);
  });

  it('a caller abort is rethrown as the caller’s reason, not dressed up as a CM failure', async () => {
    cm.control.latency(2_000);
    const controller = new AbortController();
    const pending = createCmClient({ baseUrl: cm.url, token: TOKEN }).sync(PROJECT, SOURCE, [comment('a')], {
      signal: controller.signal,
    });
    controller.abort(new Error('shutting down'));
    await expect(pending).rejects.toThrow('shutting down');
  });

  it('the token appears in no log line or error, even at trace level', async () => {
    const secret = 'cm-secret-token-value-123';
    cm.control.setTokens([secret]);
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ level: 'trace', destination, pretty: false });
    const good = createCmClient({ baseUrl: cm.url, token: secret, logger });
    await good.sync(PROJECT, SOURCE, [comment('a')]);
    cm.control.failNext({ status: 503 });
    const failure = await good.sync(PROJECT, SOURCE, [comment('a')]).catch((e: unknown) => e);
    const wrongToken = 'wrong-token-value-456';
    const denied = await createCmClient({ baseUrl: cm.url, token: wrongToken, logger })
      .sync(PROJECT, SOURCE, [comment('a')])
      .catch((e: unknown) => e);

    expect(lines.length).toBeGreaterThanOrEqual(3);
    const everything = [
      ...lines,
      JSON.stringify(failure),
      String(failure),
      String(denied),
      JSON.stringify(denied),
    ].join('\n');
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(wrongToken);
  });
});
