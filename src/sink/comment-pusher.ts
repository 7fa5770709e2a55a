/**
 * `CommentPusher`: delivers one source's comment upserts and deletions to Communications Mining the way
 * the docs ask (docs/communications-mining.md#batching-and-retries-in-the-official-cli, #pitfalls):
 * de-duplicated by id, in batches bounded by count and bytes, retrying what is transient, and bisecting
 * a batch CM refuses as invalid so the good comments go through and each bad one comes back as
 * `rejected` for the caller to dead-letter.
 *
 *   const pusher = new CommentPusher({ client, project: 'acme', source: 'salesforce-emails' });
 *   const { pushed, rejected } = await pusher.push({ comments, deleteIds });
 *
 * Errors: terminal ones (`CmAuthError`, `CmNotFoundError`) are thrown as they are; transient ones that
 * outlast the retry budget are thrown as `CmRetriesExhaustedError`. Use `shouldRetry(err)` to tell them
 * apart. Re-running a push is safe: `/sync` and delete are idempotent by id
 * (docs/communications-mining.md#upsert-semantics-annotations-and-billing).
 */
import type { Logger } from '../logging.ts';
import {
  chunk,
  DEFAULT_SYNC_BATCH_LIMITS,
  lastVersionPerId,
  planSyncBatches,
  type SyncBatchLimits,
} from './batching.ts';
import { MAX_IDS_PER_DELETE, type CmClient, type SyncCounters } from './client.ts';
import type { Comment } from '../model/comment.ts';
import { shouldSplit, type CmError, type CmOperation } from './errors.ts';
import type { SinkMetrics } from './metrics.ts';
import { DEFAULT_RETRY_POLICY, SYSTEM_RETRY_CLOCK, withRetries, type RetryClock, type RetryPolicy } from './retry.ts';

export interface CommentPusherOptions {
  client: CmClient;
  /** The CM project (the `owner` of the source). */
  project: string;
  source: string;
  /** @defaultValue DEFAULT_SYNC_BATCH_LIMITS: 128 comments, 5 MiB */
  batch?: Partial<SyncBatchLimits>;
  /** @defaultValue DEFAULT_RETRY_POLICY: 4 attempts, 5 s base, 60 s ceiling */
  retry?: Partial<RetryPolicy>;
  /** Tests inject a sleep that records its delay and a fixed `random`. */
  clock?: Partial<RetryClock>;
  metrics?: SinkMetrics;
  logger?: Logger;
}

export interface PushRequest {
  /** Comments to create or overwrite. Several versions of one id: the last one wins. */
  comments?: readonly Comment[];
  /** Ids of comments to delete; missing ones count as deleted. Must not overlap `comments`. */
  deleteIds?: readonly string[];
}

export interface PushOptions {
  /** Aborts between and during requests (shutdown); the abort reason is thrown. */
  signal?: AbortSignal;
}

/** A comment CM refused as invalid, isolated by bisection; the caller dead-letters it. */
export interface RejectedComment {
  id: string;
  /** CM's error message for a request holding only this comment. */
  reason: string;
  /** 400 or 422 (413 when the comment alone is too large). */
  status: number | undefined;
  comment: Comment;
}

export interface PushResult {
  /** Distinct comments CM accepted. */
  pushed: number;
  /** The `/sync` counters, summed over every request. */
  counters: SyncCounters;
  rejected: RejectedComment[];
  /** Distinct ids deleted or already absent. */
  deleted: number;
}

export class CommentPusher {
  readonly #client: CmClient;
  readonly #project: string;
  readonly #source: string;
  readonly #limits: SyncBatchLimits;
  readonly #policy: RetryPolicy;
  readonly #clock: RetryClock;
  readonly #metrics: SinkMetrics | undefined;
  readonly #logger: Logger | undefined;

  constructor(options: CommentPusherOptions) {
    this.#client = options.client;
    this.#project = options.project;
    this.#source = options.source;
    this.#limits = { ...DEFAULT_SYNC_BATCH_LIMITS, ...options.batch };
    this.#policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    if (!Number.isInteger(this.#policy.maxAttempts) || this.#policy.maxAttempts < 1) {
      throw new RangeError(`retry.maxAttempts must be a positive integer, got ${this.#policy.maxAttempts}`);
    }
    this.#clock = { ...SYSTEM_RETRY_CLOCK, ...options.clock };
    this.#metrics = options.metrics;
    this.#logger = options.logger?.child({ project: options.project, source: options.source });
  }

  /** Upserts first, then deletes; batches go one after another, so one push never floods CM. */
  async push(request: PushRequest, options: PushOptions = {}): Promise<PushResult> {
    const { comments, dropped } = lastVersionPerId(request.comments ?? []);
    const deleteIds = [...new Set(request.deleteIds ?? [])];
    assertDisjoint(comments, deleteIds);
    if (dropped > 0) this.#metrics?.onComments?.({ outcome: 'deduplicated', count: dropped });

    const result: PushResult = { pushed: 0, counters: { new: 0, updated: 0, unchanged: 0 }, rejected: [], deleted: 0 };
    for (const batch of planSyncBatches(comments, this.#limits)) {
      await this.#syncOrBisect(batch, result, options.signal);
    }
    for (const ids of chunk(deleteIds, MAX_IDS_PER_DELETE)) {
      options.signal?.throwIfAborted();
      await this.#retrying(
        'deleteComments',
        () => this.#client.deleteComments(this.#project, this.#source, ids, options),
        options.signal,
      );
      result.deleted += ids.length;
      this.#metrics?.onComments?.({ outcome: 'deleted', count: ids.length });
    }
    this.#logger?.debug(
      { pushed: result.pushed, rejected: result.rejected.length, deleted: result.deleted, deduplicated: dropped },
      'push finished',
    );
    return result;
  }

  /**
   * One invalid comment fails the whole batch
   * (docs/communications-mining.md#pitfall-6-one-bad-comment-fails-the-batch), so on 400/422/413 the
   * batch is halved until each refused comment stands alone: ~2·log2(n) extra requests per bad comment.
   */
  async #syncOrBisect(batch: Comment[], result: PushResult, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    try {
      const counters = await this.#retrying(
        'sync',
        () => this.#client.sync(this.#project, this.#source, batch, { signal }),
        signal,
      );
      addCounters(result.counters, counters);
      result.pushed += batch.length;
      this.#metrics?.onComments?.({ outcome: 'pushed', count: batch.length });
    } catch (error) {
      if (!shouldSplit(error)) throw error;
      const [only] = batch;
      if (batch.length === 1 && only !== undefined) {
        result.rejected.push({ id: only.id, reason: error.cmMessage, status: error.status, comment: only });
        this.#metrics?.onComments?.({ outcome: 'rejected', count: 1 });
        this.#logger?.warn(
          { commentId: only.id, status: error.status, reason: error.cmMessage },
          'comment rejected by Communications Mining',
        );
        return;
      }
      this.#metrics?.onSplit?.({ size: batch.length });
      const middle = Math.ceil(batch.length / 2);
      await this.#syncOrBisect(batch.slice(0, middle), result, signal);
      await this.#syncOrBisect(batch.slice(middle), result, signal);
    }
  }

  #retrying<T>(operation: CmOperation, request: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    return withRetries(request, {
      operation,
      policy: this.#policy,
      clock: this.#clock,
      metrics: this.#metrics,
      signal,
      onRetry: (error: CmError, attempt: number, delayMs: number) =>
        this.#logger?.warn(
          { operation, code: error.code, status: error.status, attempt, delayMs },
          'retrying Communications Mining call',
        ),
    });
  }
}

/** Sums `/sync` counters; the optional `updated_*` appear in the total once any response had them. */
function addCounters(total: SyncCounters, add: SyncCounters): void {
  total.new += add.new;
  total.updated += add.updated;
  total.unchanged += add.unchanged;
  if (add.updated_properties_only !== undefined) {
    total.updated_properties_only = (total.updated_properties_only ?? 0) + add.updated_properties_only;
  }
  if (add.updated_text_changed !== undefined) {
    total.updated_text_changed = (total.updated_text_changed ?? 0) + add.updated_text_changed;
  }
}

/**
 * An id both upserted and deleted in one push has no right order: the caller knows which change
 * is newer and must coalesce them (the spec's "a stale version never overwrites a newer one").
 */
function assertDisjoint(comments: readonly Comment[], deleteIds: readonly string[]): void {
  if (deleteIds.length === 0) return;
  const deleting = new Set(deleteIds);
  const both = comments.filter((comment) => deleting.has(comment.id)).map((comment) => comment.id);
  if (both.length > 0) {
    throw new TypeError(
      `ids both upserted and deleted in one push (coalesce them first): ${both.slice(0, 5).join(', ')}`,
    );
  }
}
