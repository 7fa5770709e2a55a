/**
 * What reconciliation keeps in Redis per object:
 * - `watermark(object)` hash `{ systemModstamp, at }`: every change stamped before it (minus the
 *   lookback) is in the change queue. Written only after the enqueue: a crash re-reads, never skips.
 * - `objectState(object)` hash: `lastReconcileAt`, `lastSweepAt`, `reconcileError` (status page).
 * - `reconcileRequests()` hash: object → `{ since, reason, at }` from the subscriber and the admin API.
 */
import type { RedisClient } from '../store/redis.ts';
import { integrationKeys } from '../store/keys.ts';
import { ReconcileRequestSchema, type ReconcileRequest } from '../model/reconcile-request.ts';

export type { ReconcileRequest };

/** A pending request as read, with its raw text (to remove exactly this one once served). */
export interface PendingRequest {
  request: ReconcileRequest;
  raw: string;
}

export class ReconcileState {
  readonly #keys: ReturnType<typeof integrationKeys>;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    readonly integration: string,
  ) {
    this.#keys = integrationKeys(prefix, integration);
  }

  /** The object's watermark (ms), if a run ever completed. */
  async watermark(object: string): Promise<number | undefined> {
    const value = await this.redis.hget(this.#keys.watermark(object), 'systemModstamp');
    const ms = value === null ? Number.NaN : Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }

  /**
   * Move the watermark forward to `ms`, never back. Two overlapping runs may race here; the loser
   * can at worst move it back to what it covered itself, which only makes the next run re-read more.
   */
  async advanceWatermark(object: string, ms: number): Promise<void> {
    const current = await this.watermark(object);
    if (current !== undefined && current >= ms) return;
    await this.redis.hset(this.#keys.watermark(object), {
      systemModstamp: new Date(ms).toISOString(),
      at: new Date().toISOString(),
    });
  }

  async recordRun(object: string, field: 'lastReconcileAt' | 'lastSweepAt', at = Date.now()): Promise<void> {
    await this.redis
      .multi()
      .hset(this.#keys.objectState(object), field, new Date(at).toISOString())
      .hdel(this.#keys.objectState(object), 'reconcileError', 'reconcileErrorAt')
      .exec();
  }

  async recordError(object: string, message: string): Promise<void> {
    await this.redis.hset(this.#keys.objectState(object), {
      reconcileError: message.slice(0, 1_000),
      reconcileErrorAt: new Date().toISOString(),
    });
  }

  async lastRunAt(object: string, field: 'lastReconcileAt' | 'lastSweepAt'): Promise<number | undefined> {
    const value = await this.redis.hget(this.#keys.objectState(object), field);
    const ms = value === null ? Number.NaN : Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }

  /** Pending requests by object (unreadable entries are dropped: a request is only a hint to run). */
  async pendingRequests(): Promise<Map<string, PendingRequest>> {
    const all = await this.redis.hgetall(this.#keys.reconcileRequests());
    const out = new Map<string, PendingRequest>();
    for (const [object, raw] of Object.entries(all)) {
      const parsed = safeParse(raw);
      if (parsed) out.set(object, { request: parsed, raw });
      else await this.redis.hdel(this.#keys.reconcileRequests(), object);
    }
    return out;
  }

  async pendingRequest(object: string): Promise<PendingRequest | undefined> {
    const raw = await this.redis.hget(this.#keys.reconcileRequests(), object);
    if (raw === null) return undefined;
    const parsed = safeParse(raw);
    return parsed ? { request: parsed, raw } : undefined;
  }

  /**
   * Remove a request once a run that started after reading it has enqueued everything. A request
   * written (or widened) meanwhile has other text and stays for the next run.
   */
  async completeRequest(object: string, served: PendingRequest): Promise<void> {
    const current = await this.redis.hget(this.#keys.reconcileRequests(), object);
    // Between this read and the delete, a writer has microseconds to widen the request; the
    // subscriber's own write is read-modify-write too, and a lost widening is caught by the next
    // scheduled run from the watermark.
    if (current === served.raw) await this.redis.hdel(this.#keys.reconcileRequests(), object);
  }
}

function safeParse(raw: string): ReconcileRequest | undefined {
  try {
    return ReconcileRequestSchema.parse(JSON.parse(raw));
  } catch {
    return undefined;
  }
}
