/**
 * One watermark reconciliation of one object (docs/salesforce.md#systemmodstamp-watermarks): find every
 * record that changed since `since` without the bridge having heard of it, and put it in the change
 * queue. The worker does the rest (fetch with `where`, convert, push only changed content, delete what
 * is absent).
 *
 * Three scans, all keyset-paged on `SystemModstamp, Id` from `since`:
 * 1. in scope: `changed AND (where)` → REFRESH. "Changed" includes the mapped parents'
 *    SystemModstamp (`Parent.SystemModstamp >= X`), so a child whose `Parent.Priority` changed is
 *    re-sent although the child itself did not change (and the parent needs no CDC or config).
 * 2. left the scope: `changed AND NOT (where)` → REFRESH of the records the source holds; the
 *    worker's fetch (with `where`) finds them absent and deletes their comments.
 * 3. soft-deleted: queryAll `IsDeleted = true AND SystemModstamp >= X` → DELETE of the records the
 *    source holds. Purged records are in neither: the id sweep finds those.
 *
 * The watermark moves to the newest stamp seen, and only after everything is enqueued.
 */
import type { Logger } from 'pino';
import type { IntegrationConfig, ObjectConfig } from '../config/index.ts';
import type { ChangeJob } from '../model/change.ts';
import type { ChangeQueue } from '../queue/change-queue.ts';
import type { RecordVersions } from '../store/record-versions.ts';
import type { SalesforceRestClient } from '../salesforce/rest-client.ts';
import { scanByModstamp, type ScannedRow } from './record-scan.ts';
import type { ReconcileState } from './reconcile-state.ts';
import { allOf, changedSince, relationshipPaths, soqlDateTime } from './soql.ts';

export interface ReconcileDeps {
  integration: IntegrationConfig;
  rest: SalesforceRestClient;
  queue: ChangeQueue;
  versions: RecordVersions;
  state: ReconcileState;
  logger: Logger;
  /** Rows per keyset slice. @defaultValue DEFAULT_ROWS_PER_QUERY */
  rowsPerQuery?: number;
  signal?: AbortSignal;
  now?: () => number;
}

export interface ReconcileResult {
  /** Start of the window (ms); null: the whole object. */
  since: number | null;
  /** Rows read from Salesforce over all scans. */
  scanned: number;
  /** Changes enqueued: in scope, left the scope, deleted. */
  refreshed: number;
  leftScope: number;
  deleted: number;
  /** The watermark after the run (ms). */
  watermark: number | undefined;
}

export async function reconcileObject(
  object: ObjectConfig,
  since: number | null,
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  const relationships = relationshipPaths(object);
  const changed = since === null ? undefined : changedSince(since, relationships);
  const result: ReconcileResult = { since, scanned: 0, refreshed: 0, leftScope: 0, deleted: 0, watermark: undefined };
  let newest = since ?? undefined;
  const seen = (rows: readonly ScannedRow[]) => {
    result.scanned += rows.length;
    for (const row of rows) if (newest === undefined || row.changedAt > newest) newest = row.changedAt;
  };
  const scan = (where: string | undefined, extra: { relationships?: readonly string[]; all?: boolean } = {}) =>
    scanByModstamp(deps.rest, {
      object: object.name,
      where,
      relationships: extra.relationships ?? relationships,
      all: extra.all ?? false,
      ...(deps.rowsPerQuery ? { rowsPerQuery: deps.rowsPerQuery } : {}),
      signal: deps.signal,
    });

  for await (const rows of scan(allOf([changed, object.where]))) {
    seen(rows);
    result.refreshed += await enqueue(object, rows, 'REFRESH', deps);
  }

  if (object.where) {
    for await (const rows of scan(allOf([changed, `NOT (${object.where})`]))) {
      seen(rows);
      result.leftScope += await enqueue(object, await heldBySource(object, rows, deps), 'REFRESH', deps);
    }
  }

  const deletedSince = since === null ? undefined : `SystemModstamp >= ${soqlDateTime(since)}`;
  for await (const rows of scan(allOf(['IsDeleted = true', deletedSince]), { relationships: [], all: true })) {
    seen(rows);
    result.deleted += await enqueue(object, await heldBySource(object, rows, deps), 'DELETE', deps);
  }

  if (newest !== undefined) {
    // After the enqueues: a crash before this line re-reads the window, it never skips it.
    await deps.state.advanceWatermark(object.name, newest);
    result.watermark = newest;
  }
  return result;
}

/** Rows whose record the source holds as a comment: only those have something to delete. */
async function heldBySource(
  object: ObjectConfig,
  rows: readonly ScannedRow[],
  deps: ReconcileDeps,
): Promise<ScannedRow[]> {
  const stored = await deps.versions.read(
    object.name,
    rows.map((row) => row.id),
  );
  return rows.filter((row) => stored.get(row.id)?.state === 'present');
}

/**
 * How recent, on Salesforce's own clock, a stamp may still be shared by a later change (1 s
 * resolution, plus commits that land late in their second).
 */
const HOT_STAMP_MS = 5_000;

async function enqueue(
  object: ObjectConfig,
  rows: readonly ScannedRow[],
  kind: 'REFRESH' | 'DELETE',
  deps: ReconcileDeps,
): Promise<number> {
  if (rows.length === 0) return 0;
  const now = (deps.now ?? Date.now)();
  const discriminators = new Map<string, string>();
  const changes: ChangeJob[] = rows.map((row) => {
    // Same record at the same stamps → same job id: an overlapping window adds no second job. But
    // SystemModstamp has 1 s resolution: while its second may still see another change, the stamp
    // does not identify the version, so the run's own time is added (a fetch too many, never too few).
    // "Recent" is judged on Salesforce's clock (the response's time), never the host's, which may be
    // minutes off; without a response time, every row counts as recent.
    const hot = row.readAt === undefined || row.readAt - row.changedAt < HOT_STAMP_MS;
    const stamps = kind === 'DELETE' ? `d${row.stamp}` : `${row.stamp}.${row.changedAt}`;
    discriminators.set(row.id, hot ? `${stamps}.r${now}` : stamps);
    return {
      integration: deps.integration.key,
      object: object.name,
      recordId: row.id,
      kind,
      origin: 'reconcile',
      ...(kind === 'DELETE' ? { commitTimestamp: row.stamp } : {}),
      enqueuedAt: now,
    };
  });
  await deps.queue.enqueue(changes, (change) => discriminators.get(change.recordId) ?? String(now));
  return changes.length;
}
