/**
 * Backfill: put the records that existed before the integration was authorised (or those changed
 * since `since`) into the change queue, in `SystemModstamp, Id` order, origin `backfill`.
 *
 * Resumable: after each enqueued slice the keyset position is written to the object's `backfill`
 * hash. A run that finds an unfinished checkpoint for the same `since` continues after it, so a
 * crash (`kill -9`) costs at most one slice, re-enqueued under the same job ids.
 *
 * Bulk API 2.0 is not implemented: every backfill uses REST keyset paging (the sandbox org has no
 * Bulk API to test one against).
 */
import type { RedisClient } from '../store/redis.ts';
import type { ObjectConfig } from '../config/index.ts';
import type { ChangeJob } from '../model/change.ts';
import { integrationKeys } from '../store/keys.ts';
import { SalesforceApiError } from '../salesforce/rest-client.ts';
import type { ApiBudget } from './api-budget.ts';
import { scanByModstamp } from './record-scan.ts';
import type { ReconcileDeps } from './reconcile-object.ts';
import { allOf, soqlDateTime, type KeysetCursor } from './soql.ts';

export interface BackfillCheckpoint {
  /** Lower bound (ms) the backfill was started with; null: every record. */
  since: number | null;
  /** Last row enqueued. */
  cursor?: KeysetCursor;
  /** SystemModstamp of the first row (ms): with `cursor`, how far through the records it is. */
  firstStamp?: number;
  enqueued: number;
  startedAt: number;
  updatedAt: number;
  finishedAt?: number;
}

export interface BackfillProgress {
  object: string;
  enqueued: number;
  /** Share of the time range covered (0–1): records are read in SystemModstamp order. */
  fraction: number | undefined;
  resumed: boolean;
}

export interface BackfillDeps extends ReconcileDeps {
  redis: RedisClient;
  prefix: string;
  /** Defers the backfill while the API budget is tight. */
  budget?: ApiBudget;
  onProgress?: (progress: BackfillProgress) => void;
}

export type BackfillOutcome =
  | { outcome: 'done'; enqueued: number; resumed: boolean }
  | { outcome: 'deferred'; enqueued: number; resumed: boolean; reason: string; retryInMs: number };

export async function readBackfillCheckpoint(
  redis: RedisClient,
  prefix: string,
  integration: string,
  object: string,
): Promise<BackfillCheckpoint | undefined> {
  const hash = await redis.hgetall(integrationKeys(prefix, integration).backfill(object));
  if (hash.startedAt === undefined) return undefined;
  const number = (value: string | undefined) => (value === undefined || value === '' ? undefined : Number(value));
  const cursorStamp = number(hash.cursorStamp);
  const firstStamp = number(hash.firstStamp);
  const finishedAt = number(hash.finishedAt);
  return {
    since: number(hash.since) ?? null,
    ...(cursorStamp !== undefined && hash.cursorId ? { cursor: { stamp: cursorStamp, id: hash.cursorId } } : {}),
    ...(firstStamp !== undefined ? { firstStamp } : {}),
    enqueued: number(hash.enqueued) ?? 0,
    startedAt: number(hash.startedAt) ?? 0,
    updatedAt: number(hash.updatedAt) ?? 0,
    ...(finishedAt !== undefined ? { finishedAt } : {}),
  };
}

export async function runBackfill(
  object: ObjectConfig,
  since: number | null,
  deps: BackfillDeps,
): Promise<BackfillOutcome> {
  const key = integrationKeys(deps.prefix, deps.integration.key).backfill(object.name);
  const now = deps.now ?? Date.now;
  const previous = await readBackfillCheckpoint(deps.redis, deps.prefix, deps.integration.key, object.name);
  const resumed = previous !== undefined && previous.finishedAt === undefined && previous.since === since;
  const checkpoint: BackfillCheckpoint = resumed
    ? previous
    : { since, enqueued: 0, startedAt: now(), updatedAt: now() };
  if (!resumed) {
    await deps.redis.del(key);
    await deps.redis.hset(key, {
      since: since ?? '',
      enqueued: 0,
      startedAt: checkpoint.startedAt,
      updatedAt: checkpoint.updatedAt,
    });
  }
  const report = () =>
    deps.onProgress?.({
      object: object.name,
      enqueued: checkpoint.enqueued,
      fraction: fractionDone(checkpoint, now()),
      resumed,
    });
  report();

  const deferred = (reason: string, retryInMs: number): BackfillOutcome => ({
    outcome: 'deferred',
    enqueued: checkpoint.enqueued,
    resumed,
    reason,
    retryInMs,
  });
  try {
    const admission = await deps.budget?.admit('backfill');
    if (admission && !admission.ok) return deferred(admission.reason, admission.retryInMs);
    const where = allOf([since === null ? undefined : `SystemModstamp >= ${soqlDateTime(since)}`, object.where]);
    const slices = scanByModstamp(deps.rest, {
      object: object.name,
      where,
      after: checkpoint.cursor,
      ...(deps.rowsPerQuery ? { rowsPerQuery: deps.rowsPerQuery } : {}),
      signal: deps.signal,
    });
    for await (const rows of slices) {
      const enqueuedAt = now();
      const stamps = new Map(rows.map((row) => [row.id, row.stamp]));
      const changes: ChangeJob[] = rows.map((row) => ({
        integration: deps.integration.key,
        object: object.name,
        recordId: row.id,
        kind: 'REFRESH',
        origin: 'backfill',
        enqueuedAt,
      }));
      await deps.queue.enqueue(changes, (change) => stamps.get(change.recordId) ?? enqueuedAt);
      const last = rows.at(-1);
      if (!last) continue;
      // Checkpoint after the enqueue: a crash re-enqueues this slice (same job ids), never skips it.
      checkpoint.cursor = { stamp: last.stamp, id: last.id };
      checkpoint.firstStamp ??= rows[0]?.stamp;
      checkpoint.enqueued += rows.length;
      checkpoint.updatedAt = now();
      await deps.redis.hset(key, {
        cursorStamp: last.stamp,
        cursorId: last.id,
        firstStamp: checkpoint.firstStamp ?? last.stamp,
        enqueued: checkpoint.enqueued,
        updatedAt: checkpoint.updatedAt,
      });
      report();
      const next = await deps.budget?.admit('backfill');
      if (next && !next.ok) return deferred(next.reason, next.retryInMs);
    }
  } catch (error) {
    if (error instanceof SalesforceApiError && error.isLimitExceeded && deps.budget) {
      const until = await deps.budget.pauseForLimit();
      return deferred(error.message, Math.max(0, until - now()));
    }
    throw error;
  }
  await deps.redis.hset(key, { finishedAt: now() });
  await deps.budget?.clearPause();
  return { outcome: 'done', enqueued: checkpoint.enqueued, resumed };
}

/** How far through the time range the cursor is (records come in SystemModstamp order). */
export function fractionDone(checkpoint: BackfillCheckpoint, now: number): number | undefined {
  const low = checkpoint.since ?? checkpoint.firstStamp;
  if (low === undefined || !checkpoint.cursor) return checkpoint.cursor ? undefined : 0;
  const span = now - low;
  if (span <= 0) return undefined;
  return Math.min(1, Math.max(0, (checkpoint.cursor.stamp - low) / span));
}
