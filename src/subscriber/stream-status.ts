/**
 * What the subscriber records for the status page and the reconciler, per object:
 * - `objectState(object)` hash: `lastEventAt` (ISO, when the last event was safely enqueued),
 *   `lastCommitAt` (ISO commit time of that event: how far the stored replay id is from leaving the
 *   72 h retention), `error`/`errorAt` (why the object does not stream), `reconnects`.
 * - `reconcileRequests()` hash: object → JSON `{ since, reason, at }`; the reconciler takes them.
 */
import type { RedisClient } from '../store/redis.ts';
import { ReconcileRequestSchema, type ReconcileRequest } from '../model/reconcile-request.ts';
import { integrationKeys } from '../store/keys.ts';

export class StreamStatus {
  readonly #keys: ReturnType<typeof integrationKeys>;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    readonly integration: string,
  ) {
    this.#keys = integrationKeys(prefix, integration);
  }

  /** Events of `object` up to one committed at `lastCommitAt` are in the queue. */
  async eventsEnqueued(updates: ReadonlyMap<string, { lastEventAt: number; lastCommitAt: number }>): Promise<void> {
    if (updates.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [object, { lastEventAt, lastCommitAt }] of updates) {
      pipeline.hset(
        this.#keys.objectState(object),
        'lastEventAt',
        new Date(lastEventAt).toISOString(),
        'lastCommitAt',
        new Date(lastCommitAt).toISOString(),
      );
    }
    await pipeline.exec();
  }

  /** Commit time (epoch ms) of the last event of `object` that was enqueued, if any. */
  async lastCommitAt(object: string): Promise<number | undefined> {
    const value = await this.redis.hget(this.#keys.objectState(object), 'lastCommitAt');
    const ms = value === null ? Number.NaN : Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }

  async setError(object: string, message: string): Promise<void> {
    await this.redis.hset(this.#keys.objectState(object), 'error', message, 'errorAt', new Date().toISOString());
  }

  async clearError(object: string): Promise<void> {
    await this.redis.hdel(this.#keys.objectState(object), 'error', 'errorAt');
  }

  async countReconnect(object: string): Promise<void> {
    await this.redis.hincrby(this.#keys.objectState(object), 'reconnects', 1);
  }

  async objectState(object: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.#keys.objectState(object));
  }

  /**
   * Ask for a SOQL reconciliation of `object` from `since` (epoch ms; null = from the watermark, or everything without one). A pending
   * request is widened, never narrowed: the earliest `since` wins, and null beats any time.
   */
  async requestReconcile(object: string, since: number | null, reason: string): Promise<ReconcileRequest> {
    const key = this.#keys.reconcileRequests();
    const pending = await this.pendingReconcile(object);
    let sinceMs = since;
    if (pending) {
      const pendingMs = pending.since === null ? null : Date.parse(pending.since);
      sinceMs = pendingMs === null || sinceMs === null ? null : Math.min(pendingMs, sinceMs);
    }
    const request: ReconcileRequest = {
      since: sinceMs === null ? null : new Date(sinceMs).toISOString(),
      reason: mergeReasons(pending?.reason, reason),
      at: new Date().toISOString(),
    };
    await this.redis.hset(key, object, JSON.stringify(request));
    return request;
  }

  async pendingReconcile(object: string): Promise<ReconcileRequest | undefined> {
    const raw = await this.redis.hget(this.#keys.reconcileRequests(), object);
    if (raw === null) return undefined;
    try {
      return ReconcileRequestSchema.parse(JSON.parse(raw));
    } catch {
      return undefined;
    }
  }
}

/** Keep every distinct reason of a widened request, within a bound (requests repeat during outages). */
function mergeReasons(pending: string | undefined, reason: string): string {
  if (pending === undefined || pending.includes(reason)) return pending ?? reason;
  return `${pending}; ${reason}`.slice(0, 1_000);
}
