/**
 * CommentPusher against the simulated CM: batching, retries, bisection of invalid batches, deletes
 * (docs/communications-mining.md#upsert-semantics-annotations-and-billing,
 * #errors-retries-and-timeouts, #delete-comments, #batching-and-retries-in-the-official-cli,
 * #pitfall-6-one-bad-comment-fails-the-batch, #pitfall-10-the-batch-maximum-is-not-a-good-batch-size).
 * Backoff waits go through an injected clock that records each delay and returns at once: no test
 * sleeps.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import { syncBodyBytes } from '../../src/sink/batching.ts';
import { createCmClient, type CmClientOptions } from '../../src/sink/client.ts';
import { CommentPusher, type CommentPusherOptions } from '../../src/sink/comment-pusher.ts';
import type { Comment } from '../../src/model/comment.ts';
import {
  CmAuthError,
  CmNotFoundError,
  CmRetriesExhaustedError,
  CmServerError,
  CmTimeoutError,
  shouldRetry,
} from '../../src/sink/errors.ts';
import { SinkMetricsCounters } from '../../src/sink/metrics.ts';
import { PROJECT, SOURCE, TOKEN, startTestCm } from '../helpers/cm.ts';

function comment(id: string, text = `Body of ${id}`): Comment {
  return {
    id,
    timestamp: '2024-03-05T14:22:10Z',
    thread_id: 'case-1',
    messages: [{ from: 'jane@customer.example', to: ['support@acme.example'], body: { text } }],
    user_properties: { 'string:SF Object': 'EmailMessage', 'number:Attachment Count': 0 },
  };
}

const ids = (n: number, prefix = 'c') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);

/** A comment CM refuses: `number:` with a string value (docs/communications-mining.md#user-properties); the TS type cannot express the prefix rule. */
function badPropertyComment(id: string): Comment {
  return { ...comment(id), user_properties: { 'number:Attachment Count': 'three' } };
}
/** A comment CM refuses: an empty `to` entry (docs/communications-mining.md#message-fields: 1–512 chars). */
function emptyRecipientComment(id: string): Comment {
  return { ...comment(id), messages: [{ to: [''], body: { text: 'x' } }] };
}

let cm: SimulatedCommunicationsMining;
beforeAll(async () => {
  cm = await startTestCm();
});
afterAll(() => cm.close());
beforeEach(() => cm.control.reset());

interface Harness {
  pusher: CommentPusher;
  /** Every delay the pusher asked to sleep, in order. */
  delays: number[];
  metrics: SinkMetricsCounters;
}

function harness(opts: { client?: Partial<CmClientOptions>; pusher?: Partial<CommentPusherOptions> } = {}): Harness {
  const delays: number[] = [];
  const metrics = new SinkMetricsCounters();
  const client = createCmClient({ baseUrl: cm.url, token: TOKEN, metrics, ...opts.client });
  const pusher = new CommentPusher({
    client,
    project: PROJECT,
    source: SOURCE,
    metrics,
    ...opts.pusher,
    // Merged, so a test that overrides `random` alone still never sleeps for real.
    clock: {
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.5,
      ...opts.pusher?.clock,
    },
  });
  return { pusher, delays, metrics };
}

const storedIds = () =>
  cm.control
    .comments(PROJECT, SOURCE)
    .map((c) => c.comment.id)
    .sort();
const syncRequests = () => cm.control.counters().requests.sync ?? {};

describe('CommentPusher: the happy path', () => {
  it('pushes through the tenant path …/reinfer_ and returns the summed sync counters', async () => {
    const { pusher } = harness();
    const first = await pusher.push({ comments: ids(3).map((id) => comment(id)) });
    expect(first).toMatchObject({
      pushed: 3,
      rejected: [],
      deleted: 0,
      counters: { new: 3, updated: 0, unchanged: 0 },
    });
    const second = await pusher.push({ comments: [comment('c000'), comment('c001', 'changed')] });
    expect(second.counters).toMatchObject({ new: 0, updated: 1, unchanged: 1, updated_text_changed: 1 });
    expect(cm.control.counters().requests).not.toHaveProperty('unmatched');
    expect(storedIds()).toEqual(ids(3));
  });

  it('splits by count: 1200 comments at the default 500 per batch → 3 sync requests', async () => {
    const { pusher } = harness();
    const result = await pusher.push({ comments: ids(1200).map((id) => comment(id)) });
    expect(result.pushed).toBe(1200);
    expect(syncRequests()).toEqual({ '200': 3 });
    expect(storedIds()).toHaveLength(1200);
  });

  it("a configured count limit (the CLI's 128) is honoured", async () => {
    const { pusher } = harness({ pusher: { batch: { maxComments: 128 } } });
    expect((await pusher.push({ comments: ids(300).map((id) => comment(id)) })).pushed).toBe(300);
    expect(syncRequests()).toEqual({ '200': 3 });
  });

  it('splits by bytes: ~2 KB comments under a 5-comment byte budget → 4 sync requests', async () => {
    const comments = ids(20).map((id) => comment(id, 'y'.repeat(2000)));
    const maxBytes = syncBodyBytes(comments.slice(0, 5));
    const { pusher } = harness({ pusher: { batch: { maxBytes } } });
    expect((await pusher.push({ comments })).pushed).toBe(20);
    expect(syncRequests()).toEqual({ '200': 4 });
  });

  it('duplicate ids in one push → one request, the last version stored', async () => {
    const { pusher, metrics } = harness();
    const result = await pusher.push({
      comments: [comment('a', 'v1'), comment('b'), comment('a', 'v2'), comment('a', 'v3')],
    });
    expect(result.pushed).toBe(2);
    expect(syncRequests()).toEqual({ '200': 1 });
    expect(cm.control.comment(PROJECT, SOURCE, 'a')?.comment.messages[0]?.body.text).toBe('v3');
    expect(cm.control.history({ commentId: 'a' })).toHaveLength(1);
    expect(metrics.snapshot().comments.deduplicated).toBe(2);
  });

  it('refuses an id that is both upserted and deleted: the caller must coalesce', async () => {
    await expect(harness().pusher.push({ comments: [comment('a')], deleteIds: ['a'] })).rejects.toThrow(/coalesce/);
  });
});

describe('CommentPusher: retries', () => {
  it('429 waits exactly the Retry-After CM sent, then succeeds', async () => {
    cm.control.failNext({ status: 429, retryAfterSeconds: 2 });
    const { pusher, delays, metrics } = harness();
    expect((await pusher.push({ comments: [comment('a')] })).pushed).toBe(1);
    expect(delays).toEqual([2000]);
    expect(syncRequests()).toEqual({ '200': 1, '429': 1 });
    expect(metrics.snapshot().retries).toEqual({ BRIDGE_ERR_SINK_RATE_LIMITED: 1 });
  });

  it('a Retry-After longer than we wait in-process surfaces at once, retryable, with the wait', async () => {
    cm.control.failNext({ status: 429, retryAfterSeconds: 600 });
    const { pusher, delays } = harness();
    const error = await pusher.push({ comments: [comment('a')] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CmRetriesExhaustedError);
    expect((error as CmRetriesExhaustedError).retryAfterMs).toBe(600_000);
    expect(shouldRetry(error)).toBe(true);
    expect(delays).toEqual([]);
  });

  it('503 twice then success → 3 requests, exponential backoff with full jitter', async () => {
    cm.control.failNext({ status: 503, count: 2 });
    const { pusher, delays } = harness({ pusher: { retry: { baseDelayMs: 100, maxDelayMs: 10_000 } } });
    expect((await pusher.push({ comments: ids(10).map((id) => comment(id)) })).pushed).toBe(10);
    expect(syncRequests()).toEqual({ '200': 1, '503': 2 });
    // random() = 0.5 → half of 100·2^0, then half of 100·2^1
    expect(delays).toEqual([50, 100]);
    expect(storedIds()).toHaveLength(10);
  });

  it('backoff never exceeds the ceiling', async () => {
    cm.control.failNext({ status: 500, count: 5 });
    const { pusher, delays } = harness({
      pusher: { retry: { maxAttempts: 6, baseDelayMs: 1000, maxDelayMs: 3000 }, clock: { random: () => 0.999 } },
    });
    await pusher.push({ comments: [comment('a')] });
    expect(delays).toEqual([999, 1998, 2997, 2997, 2997]);
  });

  it('409 is retried like the CLI does', async () => {
    cm.control.failNext({ status: 409 });
    const { pusher } = harness();
    expect((await pusher.push({ comments: [comment('a')] })).pushed).toBe(1);
    expect(syncRequests()).toEqual({ '200': 1, '409': 1 });
  });

  it('a dropped connection is retried and the comment stored once', async () => {
    cm.control.dropNext(1);
    const { pusher, metrics } = harness();
    expect((await pusher.push({ comments: [comment('a')] })).pushed).toBe(1);
    expect(syncRequests()).toEqual({ '200': 1, dropped: 1 });
    expect(metrics.snapshot().retries).toEqual({ BRIDGE_ERR_SINK_CONNECTION: 1 });
    expect(storedIds()).toEqual(['a']);
  });

  it('an answer lost after CM stored the batch is replayed safely (sync is idempotent by id)', async () => {
    cm.control.dropNext(1, { phase: 'after-handling' });
    const result = await harness().pusher.push({ comments: [comment('a')] });
    expect(result.counters).toMatchObject({ new: 0, unchanged: 1 });
    expect(storedIds()).toEqual(['a']);
  });

  it('a response slower than timeoutMs is retried (CM latency > a small timeout)', async () => {
    cm.control.latency(1_000);
    const { pusher, metrics } = harness({
      client: { timeoutMs: 100 },
      // The outage ends while the pusher backs off.
      pusher: { clock: { sleep: async () => cm.control.latency(0) } },
    });
    expect((await pusher.push({ comments: [comment('a')] })).pushed).toBe(1);
    expect(metrics.snapshot().requests.sync).toEqual({ timeout: 1, '200': 1 });
    expect(metrics.snapshot().retries).toEqual({ BRIDGE_ERR_SINK_TIMEOUT: 1 });
  });

  it('timeouts on every attempt surface as a retryable error wrapping CmTimeoutError', async () => {
    cm.control.latency(1_000);
    const { pusher } = harness({ client: { timeoutMs: 50 }, pusher: { retry: { maxAttempts: 2 } } });
    const error = await pusher.push({ comments: [comment('a')] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CmRetriesExhaustedError);
    expect((error as CmRetriesExhaustedError).lastError).toBeInstanceOf(CmTimeoutError);
    expect(shouldRetry(error)).toBe(true);
  });

  it('exhausted retries surface a retryable error after exactly maxAttempts requests', async () => {
    cm.control.failUntilCleared({ status: 503 });
    const { pusher, delays } = harness({ pusher: { retry: { maxAttempts: 3 } } });
    const error = await pusher.push({ comments: [comment('a')] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CmRetriesExhaustedError);
    expect((error as CmRetriesExhaustedError).lastError).toBeInstanceOf(CmServerError);
    expect((error as CmRetriesExhaustedError).attempts).toBe(3);
    expect(shouldRetry(error)).toBe(true);
    expect(syncRequests()).toEqual({ '503': 3 });
    expect(delays).toHaveLength(2);
  });

  it('401 is a CmAuthError, thrown at once and never retried', async () => {
    const { pusher, delays } = harness({ client: { token: 'revoked-token' } });
    const error = await pusher.push({ comments: ids(5).map((id) => comment(id)) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CmAuthError);
    expect(shouldRetry(error)).toBe(false);
    expect(syncRequests()).toEqual({ '401': 1 });
    expect(delays).toEqual([]);
  });

  it('a missing source is a CmNotFoundError, not retried and not split', async () => {
    const delays: number[] = [];
    const client = createCmClient({ baseUrl: cm.url, token: TOKEN });
    const pusher = new CommentPusher({
      client,
      project: PROJECT,
      source: 'missing',
      clock: { sleep: async (ms) => void delays.push(ms) },
    });
    await expect(pusher.push({ comments: ids(4).map((id) => comment(id)) })).rejects.toBeInstanceOf(CmNotFoundError);
    expect(syncRequests()).toEqual({ '404': 1 });
    expect(delays).toEqual([]);
  });

  it('an abort during backoff stops the push with the caller’s reason', async () => {
    cm.control.failUntilCleared({ status: 503 });
    const controller = new AbortController();
    const { pusher } = harness({
      pusher: {
        clock: {
          sleep: async (_ms, signal) => {
            controller.abort(new Error('shutting down'));
            signal?.throwIfAborted();
          },
        },
      },
    });
    await expect(pusher.push({ comments: [comment('a')] }, { signal: controller.signal })).rejects.toThrow(
      'shutting down',
    );
    expect(syncRequests()).toEqual({ '503': 1 });
  });
});

describe('CommentPusher: invalid comments are isolated by bisection', () => {
  it('one invalid comment among 10 → 9 stored, 1 rejected with CM’s message', async () => {
    const comments = ids(10).map((id) => comment(id));
    comments[6] = badPropertyComment('c006');
    const { pusher, metrics } = harness();
    const result = await pusher.push({ comments });

    expect(result.pushed).toBe(9);
    expect(result.counters.new).toBe(9);
    expect(storedIds()).toEqual(ids(10).filter((id) => id !== 'c006'));
    expect(result.rejected).toHaveLength(1);
    const [rejected] = result.rejected;
    expect(rejected).toMatchObject({ id: 'c006', status: 422, comment: comments[6] });
    expect(rejected?.reason).toMatch(/user_properties\["number:Attachment Count"\]: must be a finite number/);
    // 10 → 5+5 → (3+2) → (2+1) → (1+1): 1 + 2 + 2 + 2 + 2 requests, far fewer than one per comment
    expect(syncRequests()).toEqual({ '200': 4, '422': 5 });
    expect(metrics.snapshot().comments).toMatchObject({ pushed: 9, rejected: 1 });
    expect(metrics.snapshot().splits).toBe(4);
  });

  it('several invalid comments (wrong property type, empty `to` entry) are each rejected; the rest stored', async () => {
    const comments = ids(20).map((id) => comment(id));
    comments[0] = emptyRecipientComment('c000');
    comments[9] = badPropertyComment('c009');
    comments[19] = emptyRecipientComment('c019');
    const result = await harness().pusher.push({ comments });

    expect(result.pushed).toBe(17);
    expect(result.rejected.map((r) => r.id).sort()).toEqual(['c000', 'c009', 'c019']);
    expect(result.rejected.find((r) => r.id === 'c000')?.reason).toMatch(/messages\[0\]\.to\[0\]: must not be empty/);
    expect(storedIds()).toHaveLength(17);
    expect(storedIds()).not.toContain('c009');
  });

  it('a retryable failure during bisection is still retried', async () => {
    const comments = [comment('a'), badPropertyComment('bad')];
    cm.control.failNext({ status: 422, message: 'forced' });
    cm.control.failNext({ status: 503 });
    const result = await harness().pusher.push({ comments });
    expect(result.pushed).toBe(1);
    expect(result.rejected.map((r) => r.id)).toEqual(['bad']);
  });
});

describe('CommentPusher: deletes', () => {
  it('deleting 70 ids takes 3 requests of ≤ 32 ids', async () => {
    const all = ids(70);
    const { pusher, metrics } = harness();
    await pusher.push({ comments: all.map((id) => comment(id)) });
    const result = await pusher.push({ deleteIds: all });

    expect(result.deleted).toBe(70);
    expect(cm.control.counters().requests.deleteComments).toEqual({ '200': 3 });
    expect(storedIds()).toEqual([]);
    expect(cm.control.counters().comments.deleted).toBe(70);
    expect(metrics.snapshot().comments.deleted).toBe(70);
  });

  it('deleting ids that do not exist succeeds, and a 404 on delete counts as done', async () => {
    const { pusher } = harness();
    expect((await pusher.push({ deleteIds: ['never', 'existed', 'never'] })).deleted).toBe(2);
    cm.control.failNext({ status: 404, route: 'deleteComments' });
    expect((await pusher.push({ deleteIds: ['gone'] })).deleted).toBe(1);
    expect(cm.control.counters().requests.deleteComments).toEqual({ '200': 1, '404': 1 });
  });

  it('a 503 on delete is retried', async () => {
    cm.control.failNext({ status: 503, route: 'deleteComments' });
    const { pusher, delays } = harness();
    expect((await pusher.push({ deleteIds: ['x'] })).deleted).toBe(1);
    expect(delays).toHaveLength(1);
    expect(cm.control.counters().requests.deleteComments).toEqual({ '200': 1, '503': 1 });
  });

  it('upserts and deletes in one push: both done, counted separately', async () => {
    const { pusher } = harness();
    await pusher.push({ comments: [comment('old')] });
    const result = await pusher.push({ comments: [comment('new')], deleteIds: ['old'] });
    expect(result).toMatchObject({ pushed: 1, deleted: 1 });
    expect(storedIds()).toEqual(['new']);
  });
});
