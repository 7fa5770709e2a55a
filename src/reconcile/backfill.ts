/**
 * Backfill: put the records that existed before the integration was authorised (or those changed
 * since `since`) into the change queue as REFRESH changes, origin `backfill`; the workers fetch and
 * push them. A bulk backfill carries the records themselves where it can, and the workers then push
 * without a fetch (docs/salesforce.md#bulk-rows-as-records). Either way the backfill stays a bounded
 * number of changes ahead of the workers.
 *
 * Two ways, chosen once per run by a SOQL `COUNT()` (docs/salesforce.md#bulk-api-20-query-jobs):
 * - up to `backfill.bulkAbove` records: REST keyset slices in `SystemModstamp, Id` order; the
 *   checkpoint is the last row enqueued;
 * - above it: one Bulk API 2.0 query job (bulk-backfill.ts); the checkpoint is the job id, the
 *   locator of the page being read and the rows of it already queued. `queryAll` when `since` is set:
 *   a record deleted in that window may have been pushed before, and its REFRESH makes the worker
 *   delete the comment; an initial load (no `since`) uses `query`, as nothing deleted was ever pushed.
 *
 * Resumable either way: the position is written to the object's `backfill` hash after each enqueue,
 * and a run that finds an unfinished checkpoint for the same `since` continues from it in the same
 * mode, so a crash (`kill -9`) re-enqueues at most one chunk, under the same job ids.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { RedisClient } from '../store/redis.ts';
import type { ObjectConfig } from '../config/index.ts';
import type { ChangeJob } from '../model/change.ts';
import { integrationKeys } from '../store/keys.ts';
import { SalesforceApiError } from '../salesforce/rest-client.ts';
import { BulkQueryClient, type PollOptions } from '../salesforce/bulk/bulk-query-client.ts';
import type { ApiBudget } from './api-budget.ts';
import { runBulkBackfill, type BulkPosition, type BulkRecordReader, type BulkRow } from './bulk-backfill.ts';
import { bulkRecordPlan, bulkRowReader } from '../salesforce/bulk/bulk-record.ts';
import { DescribeCache } from '../salesforce/describe-cache.ts';
import { scanByModstamp } from './record-scan.ts';
import type { ReconcileDeps } from './reconcile-object.ts';
import { allOf, soqlDateTime, type KeysetCursor } from './soql.ts';

export type BackfillMode = 'rest' | 'bulk';

export interface BackfillCheckpoint {
  /** Lower bound (ms) the backfill was started with; null: every record. */
  since: number | null;
  /** How this run reads the records; unset until the count decided (older checkpoints with a cursor are REST). */
  mode?: BackfillMode;
  /** Records counted when the run started (`COUNT()`). */
  total?: number;
  /** Bulk mode: the job and the position in its results. */
  bulk?: BulkPosition;
  /** The last run's error (a failed bulk job…), until a run goes on. */
  lastError?: string;
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
  /** Share done (0–1): of the time range (REST, SystemModstamp order) or of the count (bulk). */
  fraction: number | undefined;
  resumed: boolean;
  mode?: BackfillMode;
}

export interface BackfillDeps extends ReconcileDeps {
  redis: RedisClient;
  prefix: string;
  /** Defers the backfill while the API budget is tight. */
  budget?: ApiBudget;
  onProgress?: (progress: BackfillProgress) => void;
  /** Bulk job polling (1 s doubling to 30 s by default). */
  bulkPoll?: PollOptions;
  /** Rows per bulk result page. @defaultValue DEFAULT_BULK_PAGE_RECORDS */
  bulkPageRecords?: number;
  /** Describes for the records a bulk backfill carries (a new cache when absent). */
  describes?: DescribeCache;
  /** Changes kept waiting ahead of the workers at most. @defaultValue BACKFILL_AHEAD_CHANGES */
  aheadChanges?: number;
}

/** Changes the backfill keeps queued ahead of the workers at most (docs/salesforce.md#bulk-rows-as-records). */
export const BACKFILL_AHEAD_CHANGES = 50_000;
/** …and the Redis memory those may take with the records they carry (characters, roughly bytes). */
const BACKFILL_AHEAD_CHARS = 64 * 1024 * 1024;
/** A record longer than this travels as an id only (the worker fetches it): a job stays small. */
const MAX_CARRIED_RECORD_CHARS = 8_000;
const AHEAD_POLL_MS = 100;

export type BackfillOutcome =
  | { outcome: 'done'; enqueued: number; resumed: boolean; mode: BackfillMode }
  | {
      outcome: 'deferred';
      enqueued: number;
      resumed: boolean;
      mode: BackfillMode;
      reason: string;
      retryInMs: number;
    };

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
  const total = number(hash.total);
  return {
    since: number(hash.since) ?? null,
    ...(hash.mode === 'bulk' || hash.mode === 'rest' ? { mode: hash.mode } : hash.cursorId ? { mode: 'rest' } : {}),
    ...(total !== undefined ? { total } : {}),
    ...(hash.mode === 'bulk'
      ? {
          bulk: {
            ...(hash.bulkJobId ? { jobId: hash.bulkJobId } : {}),
            ...(hash.bulkLocator ? { locator: hash.bulkLocator } : {}),
            pageRows: number(hash.bulkPageRows) ?? 0,
            ...(hash.bulkPagesDone === '1' ? { pagesDone: true } : {}),
          },
        }
      : {}),
    ...(hash.lastError ? { lastError: hash.lastError } : {}),
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
  if (!resumed) await startCheckpoint(deps.redis, key, checkpoint);
  const where = allOf([since === null ? undefined : `SystemModstamp >= ${soqlDateTime(since)}`, object.where]);
  const report = () =>
    deps.onProgress?.({
      object: object.name,
      enqueued: checkpoint.enqueued,
      fraction: fractionDone(checkpoint, now()),
      resumed,
      mode: checkpoint.mode,
    });
  const deferred = (reason: string, retryInMs: number): BackfillOutcome => ({
    outcome: 'deferred',
    enqueued: checkpoint.enqueued,
    resumed,
    mode: checkpoint.mode ?? 'rest',
    reason,
    retryInMs,
  });
  const ahead = new AheadOfWorkers(deps);
  /** REFRESH changes for `rows`, queued under ids derived from each record's SystemModstamp. */
  const enqueueRows = async (rows: readonly BulkRow[]) => {
    await ahead.waitForRoom();
    const enqueuedAt = now();
    const stamps = new Map(rows.map((row) => [row.id, row.stamp]));
    const changes: ChangeJob[] = rows.map((row) => ({
      integration: deps.integration.key,
      object: object.name,
      recordId: row.id,
      kind: 'REFRESH',
      origin: 'backfill',
      enqueuedAt,
      ...(row.record ? { record: row.record } : {}),
    }));
    await deps.queue.enqueue(changes, (change) => stamps.get(change.recordId) ?? enqueuedAt);
    ahead.queued(rows);
  };

  try {
    const admission = await deps.budget?.admit('backfill');
    if (admission && !admission.ok) return deferred(admission.reason, admission.retryInMs);
    if (checkpoint.lastError !== undefined) await deps.redis.hdel(key, 'lastError');
    if (checkpoint.mode === undefined) {
      // One COUNT() decides the mode for the whole run; a resumed run keeps its mode.
      const total = (await deps.rest.query(countSoql(object.name, where), { all: since !== null })).totalSize;
      const bulk = total > deps.integration.backfill.bulkAbove && BulkQueryClient.supports(deps.rest.apiVersion);
      checkpoint.mode = bulk ? 'bulk' : 'rest';
      checkpoint.total = total;
      if (bulk) checkpoint.bulk = { pageRows: 0 };
      await deps.redis.hset(key, { mode: checkpoint.mode, total });
    }
    report();

    if (checkpoint.mode === 'bulk') {
      const operation = since === null ? 'query' : 'queryAll';
      const carried = await carriedRecords(object, operation, deps);
      const outcome = await runBulkBackfill({
        client: new BulkQueryClient(deps.rest),
        soql: `SELECT ${carried.columns.join(', ')} FROM ${object.name}${where ? ` WHERE ${where}` : ''}`,
        records: carried.reader,
        operation,
        position: checkpoint.bulk ?? { pageRows: 0 },
        pageRecords: deps.bulkPageRecords,
        poll: deps.bulkPoll,
        enqueue: enqueueRows,
        save: async (position, queued) => {
          checkpoint.bulk = position;
          checkpoint.enqueued += queued;
          checkpoint.updatedAt = now();
          await saveBulkPosition(deps.redis, key, checkpoint);
          if (queued > 0) report();
        },
        admit: async () => deps.budget?.admit('backfill'),
        signal: deps.signal,
        logger: deps.logger,
      });
      if (outcome.outcome === 'deferred') return deferred(outcome.reason, outcome.retryInMs);
    } else {
      const slices = scanByModstamp(deps.rest, {
        object: object.name,
        where,
        after: checkpoint.cursor,
        ...(deps.rowsPerQuery ? { rowsPerQuery: deps.rowsPerQuery } : {}),
        signal: deps.signal,
      });
      for await (const rows of slices) {
        await enqueueRows(rows);
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
    }
  } catch (error) {
    if (error instanceof SalesforceApiError && error.isLimitExceeded && deps.budget) {
      const until = await deps.budget.pauseForLimit();
      return deferred(error.message, Math.max(0, until - now()));
    }
    // Kept with the checkpoint, for the next run and the status; the position stays as it was.
    await deps.redis
      .hset(key, { lastError: (error instanceof Error ? error.message : String(error)).slice(0, 1_000) })
      .catch(() => undefined);
    throw error;
  }
  await deps.redis.hset(key, { finishedAt: now() });
  await deps.budget?.clearPause();
  return { outcome: 'done', enqueued: checkpoint.enqueued, resumed, mode: checkpoint.mode ?? 'rest' };
}

/**
 * What a bulk backfill selects: the mapped fields too when every one of them can be carried as a
 * record (docs/salesforce.md#bulk-rows-as-records), else `Id, SystemModstamp` and the workers fetch.
 * `queryAll` rows of deleted records are queued as ids only: the worker's fetch finds them absent.
 */
async function carriedRecords(
  object: ObjectConfig,
  operation: 'query' | 'queryAll',
  deps: BackfillDeps,
): Promise<{ columns: string[]; reader?: BulkRecordReader }> {
  const idsOnly = { columns: ['Id', 'SystemModstamp'] };
  const describes = await (deps.describes ?? new DescribeCache(deps.rest)).ensure(object.name, object.fields);
  const plan = bulkRecordPlan(
    object.name,
    [...object.fields, ...(operation === 'queryAll' ? ['IsDeleted'] : [])],
    describes,
  );
  if (!plan.ok) {
    deps.logger.info(
      { object: object.name, reason: plan.reason },
      'bulk backfill queues ids only; the workers fetch the records',
    );
    return idsOnly;
  }
  return {
    columns: plan.columns,
    reader: (header) => {
      // A job created by an earlier run (or another version) may select less: then ids only.
      const selected = new Set(header.map((name) => name.toLowerCase()));
      if (!plan.columns.every((column) => selected.has(column.toLowerCase()))) return undefined;
      const read = bulkRowReader(object.name, header, describes);
      if (!read) return undefined;
      return (row) => {
        let chars = 0;
        for (const value of row) chars += value.length;
        if (chars > MAX_CARRIED_RECORD_CHARS) return undefined;
        const record = read(row);
        return record.IsDeleted === true ? undefined : record;
      };
    },
  };
}

/**
 * Keeps the backfill at most a bounded amount ahead of the workers, so that a load of millions of
 * records never lands in Redis at once: before each enqueue it waits while the changes waiting exceed
 * `BACKFILL_AHEAD_CHANGES`, or fewer when the carried records are large (their average size, against
 * `BACKFILL_AHEAD_CHARS`).
 */
class AheadOfWorkers {
  #rows = 0;
  #chars = 0;
  #noted = 0;

  constructor(private readonly deps: BackfillDeps) {}

  queued(rows: readonly BulkRow[]): void {
    // A sample is enough for the average, and spares serialising every record twice.
    for (let index = 0; index < rows.length; index += 50) {
      const record = rows[index]?.record;
      this.#rows++;
      this.#chars += 200 + (record ? JSON.stringify(record).length : 0);
    }
  }

  async waitForRoom(): Promise<void> {
    const average = this.#rows === 0 ? 200 : this.#chars / this.#rows;
    const bySize = Math.max(1_000, Math.floor(BACKFILL_AHEAD_CHARS / average));
    const limit = Math.min(this.deps.aheadChanges ?? BACKFILL_AHEAD_CHANGES, bySize);
    for (;;) {
      const waiting = await this.deps.queue.changesWaiting();
      if (waiting < limit) return;
      const now = (this.deps.now ?? Date.now)();
      if (now - this.#noted > 30_000) {
        this.#noted = now;
        this.deps.logger.info({ waiting, limit }, 'backfill waits for the workers to catch up');
      }
      await delay(AHEAD_POLL_MS, undefined, this.deps.signal ? { signal: this.deps.signal } : {});
    }
  }
}

/** `SELECT COUNT() FROM X [WHERE …]`: how many records the backfill will read. */
function countSoql(objectName: string, where: string | undefined): string {
  return `SELECT COUNT() FROM ${objectName}${where ? ` WHERE ${where}` : ''}`;
}

/** A new run: the old checkpoint goes, the new one starts. */
async function startCheckpoint(redis: RedisClient, key: string, checkpoint: BackfillCheckpoint): Promise<void> {
  await redis
    .multi()
    .del(key)
    .hset(key, {
      since: checkpoint.since ?? '',
      enqueued: checkpoint.enqueued,
      startedAt: checkpoint.startedAt,
      updatedAt: checkpoint.updatedAt,
    })
    .exec();
}

/** The bulk position and the count, in one write (after the enqueue it follows). */
async function saveBulkPosition(redis: RedisClient, key: string, checkpoint: BackfillCheckpoint): Promise<void> {
  const position = checkpoint.bulk ?? { pageRows: 0 };
  const absent = [
    ...(position.jobId ? [] : ['bulkJobId']),
    ...(position.locator ? [] : ['bulkLocator']),
    ...(position.pagesDone ? [] : ['bulkPagesDone']),
  ];
  const write = redis.multi().hset(key, {
    ...(position.jobId ? { bulkJobId: position.jobId } : {}),
    ...(position.locator ? { bulkLocator: position.locator } : {}),
    ...(position.pagesDone ? { bulkPagesDone: '1' } : {}),
    bulkPageRows: position.pageRows,
    enqueued: checkpoint.enqueued,
    updatedAt: checkpoint.updatedAt,
  });
  if (absent.length > 0) write.hdel(key, ...absent);
  await write.exec();
}

/** How far through it is: by count in bulk mode, by the time range in REST mode (SystemModstamp order). */
function fractionDone(checkpoint: BackfillCheckpoint, now: number): number | undefined {
  if (checkpoint.mode === 'bulk')
    return checkpoint.total ? Math.min(1, checkpoint.enqueued / checkpoint.total) : checkpoint.bulk?.pagesDone ? 1 : 0;
  const low = checkpoint.since ?? checkpoint.firstStamp;
  if (low === undefined || !checkpoint.cursor) return checkpoint.cursor ? undefined : 0;
  const span = now - low;
  if (span <= 0) return undefined;
  return Math.min(1, Math.max(0, (checkpoint.cursor.stamp - low) / span));
}
