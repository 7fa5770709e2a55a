/**
 * One batch of change jobs, made true in Communications Mining:
 *
 *   coalesce by record → fetch in bulk (SOQL `Id IN (…)` + the object's `where`) → transform →
 *   per-record lock + version compare-and-set → batched push / delete → record versions.
 *
 * Invariants:
 * - The source converges to the latest state: a fetch always reads the record as it is now, so
 *   however many changes were coalesced, the newest wins.
 * - No stale overwrite: pushes of one record are serialised (lock) and gated on the record's version
 *   (`SystemModstamp`, or a delete's commit time) against the last pushed one.
 * - Unchanged content is not pushed again (content hash): reconciliation never bills twice.
 * - A record that cannot be converted, or a comment CM rejects, is dead-lettered with its reason;
 *   the rest of the batch goes through.
 */
import type { Logger } from 'pino';
import type { IntegrationConfig, ObjectConfig } from '../config/index.ts';
import { contentHash, parseSalesforceDateTime, toComment } from '../pipeline/index.ts';
import type { ChangeJob } from '../queue/change-job.ts';
import type { DeadLetterStore } from '../queue/dead-letters.ts';
import { verdictForDelete, verdictForUpsert, type RecordVersion, type RecordVersions } from '../queue/record-versions.ts';
import type { DescribeCache } from '../salesforce/describe-cache.ts';
import { SalesforceApiError, soqlString, type SalesforceRestClient } from '../salesforce/rest-client.ts';
import { childRefreshes } from './relationships.ts';
import type { Comment } from '../sink/comment.ts';
import type { CommentPusher } from '../sink/comment-pusher.ts';
import type { MetricsRecorder } from '../metrics/recorder.ts';
import type { RecordTrail } from '../queue/record-trail.ts';

/** Ids per SOQL `IN (…)`: ~25 URL-encoded bytes each keeps the URI far below 16 KB (reference §5.2). */
export const IDS_PER_QUERY = 200;
/** SOQL queries of one batch in flight at once. */
const QUERIES_IN_FLIGHT = 4;

export interface ChangeBatchDeps {
  integration: IntegrationConfig;
  rest: SalesforceRestClient;
  describes: DescribeCache;
  pusher: CommentPusher;
  versions: RecordVersions;
  deadLetters: DeadLetterStore;
  logger: Logger;
  /** Record push-lock lifetime (renewed while pushing): how long a crashed worker's records stay locked. */
  lockTtlMs: number;
  metrics?: MetricsRecorder;
  /** Where each record's last outcome is noted (per-record lookup). */
  trail?: RecordTrail;
  /** Test seam: runs after the version check, right before the push (to provoke races). */
  beforePush?: (object: string, recordIds: readonly string[]) => Promise<void>;
  now?: () => number;
  /** Cuts pushes short when the worker closes (the batch then goes back to the queue). */
  signal?: AbortSignal;
}

export interface BatchResult {
  /** Jobs whose record was locked by another worker: retry them shortly. */
  busy: ChangeJob[];
  /** Records pushed at a version equal to the stored one with other content: fetch again soon. */
  verify: ChangeJob[];
  /** Children whose comments read fields of records changed in this batch (`Parent.X`): refresh them. */
  related: ChangeJob[];
  /** Counts for logs and metrics. */
  stats: { fetched: number; pushed: number; deleted: number; unchanged: number; stale: number; deadLettered: number };
  /** What happened to each record, for the per-record lookup ("where is record X?"). */
  trail: Array<{ object: string; plan: RecordPlan; outcome: RecordOutcome }>;
}

export type RecordOutcome = 'pushed' | 'deleted' | 'unchanged' | 'stale' | 'dead_lettered';
type Stat = 'pushed' | 'deleted' | 'unchanged' | 'stale' | 'deadLettered';

/** Count a record's outcome in the stats and the trail. */
function countOutcome(result: BatchResult, object: ObjectConfig, plan: RecordPlan, stat: Stat): void {
  result.stats[stat]++;
  result.trail.push({ object: object.name, plan, outcome: stat === 'deadLettered' ? 'dead_lettered' : stat });
}

interface RecordPlan {
  object: ObjectConfig;
  recordId: string;
  jobs: ChangeJob[];
  /** Known from the jobs alone: every job was a DELETE. */
  deletedAt?: number;
}

export async function processChangeBatch(jobs: readonly ChangeJob[], deps: ChangeBatchDeps): Promise<BatchResult> {
  const result: BatchResult = { busy: [], verify: [], related: [], stats: { fetched: 0, pushed: 0, deleted: 0, unchanged: 0, stale: 0, deadLettered: 0 }, trail: [] };
  for (const [object, plans] of coalesce(jobs, deps)) {
    await processObject(object, plans, deps, result);
    // A changed record may be the parent of other objects' records: their comments change too.
    const changedParents = plans
      .filter((plan) => plan.deletedAt === undefined && plan.jobs.some((job) => job.origin !== 'relationship' && job.kind !== 'CREATE'))
      .map((plan) => plan.recordId);
    result.related.push(...(await childRefreshes(deps.integration, object.name, changedParents, deps.rest, deps.describes, (deps.now ?? Date.now)())));
  }
  await deps.trail?.write(result.trail.map(({ object, plan, outcome }) => ({ object, recordId: plan.recordId, outcome, change: plan.jobs[plan.jobs.length - 1] })));
  if (deps.metrics) {
    const integration = deps.integration.key;
    const { pushed, deleted, unchanged, stale, deadLettered } = result.stats;
    for (const [name, count] of Object.entries({ pushed, deleted, unchanged, stale, dead_lettered: deadLettered })) {
      deps.metrics.inc('changesProcessed', { integration, result: name }, count);
    }
    const busy = new Set(result.busy);
    const now = (deps.now ?? Date.now)();
    deps.metrics.observeLatencies(
      integration,
      jobs.filter((job) => !busy.has(job)).map((job) => Math.max(0, now - job.enqueuedAt) / 1000),
    );
  }
  return result;
}

/** Group by object, then by record: only the newest state of a record matters. */
function coalesce(jobs: readonly ChangeJob[], deps: ChangeBatchDeps): Map<ObjectConfig, RecordPlan[]> {
  const byObject = new Map<ObjectConfig, Map<string, RecordPlan>>();
  for (const job of jobs) {
    const object = deps.integration.objects.find((o) => o.name === job.object);
    if (!object) {
      deps.logger.warn({ object: job.object, recordId: job.recordId }, 'change for an object no longer in the config: skipped');
      continue;
    }
    let records = byObject.get(object);
    if (!records) byObject.set(object, (records = new Map()));
    const plan = records.get(job.recordId) ?? { object, recordId: job.recordId, jobs: [] };
    plan.jobs.push(job);
    records.set(job.recordId, plan);
  }
  const now = (deps.now ?? Date.now)();
  const out = new Map<ObjectConfig, RecordPlan[]>();
  for (const [object, records] of byObject) {
    out.set(
      object,
      [...records.values()].map((plan) =>
        // Only deletes: nothing to fetch; the delete's commit time is its version.
        plan.jobs.every((job) => job.kind === 'DELETE')
          ? { ...plan, deletedAt: Math.max(...plan.jobs.map((job) => job.commitTimestamp ?? now)) }
          : plan,
      ),
    );
  }
  return out;
}

interface Upsert {
  plan: RecordPlan;
  comment: Comment;
  version: number;
  hash: string;
}
interface Removal {
  plan: RecordPlan;
  version: number;
}

async function processObject(object: ObjectConfig, plans: RecordPlan[], deps: ChangeBatchDeps, result: BatchResult): Promise<void> {
  const removals: Removal[] = plans.filter((p) => p.deletedAt !== undefined).map((plan) => ({ plan, version: plan.deletedAt ?? 0 }));
  const toFetch = plans.filter((p) => p.deletedAt === undefined);
  const upserts: Upsert[] = [];

  if (toFetch.length > 0) {
    const describes = await deps.describes.ensure(object.name, object.fields);
    const chunks: RecordPlan[][] = [];
    for (let start = 0; start < toFetch.length; start += IDS_PER_QUERY) chunks.push(toFetch.slice(start, start + IDS_PER_QUERY));
    // A few queries at a time: latency hides behind each other without flooding the org.
    const fetched = await mapConcurrently(chunks, QUERIES_IN_FLIGHT, (chunk) => fetchRecords(object, chunk.map((p) => p.recordId), deps));
    for (const [index, chunk] of chunks.entries()) {
      const { records, serverTime } = fetched[index] ?? { records: [], serverTime: undefined };
      result.stats.fetched += records.length;
      const byId = new Map(records.map((record) => [String(record.Id), record]));
      for (const plan of chunk) {
        const record = byId.get(plan.recordId);
        if (!record) {
          // Deleted, or no longer matching `where`: out of the source. Absent as of the server's clock.
          const latestCommit = Math.max(0, ...plan.jobs.map((job) => job.commitTimestamp ?? 0));
          removals.push({ plan, version: Math.max(serverTime ?? (deps.now ?? Date.now)(), latestCommit) });
          continue;
        }
        const rendered = toComment(record, object, describes);
        if (!rendered.ok) {
          await deadLetter(deps, object, plan.recordId, 'transform', rendered.reason, record);
          countOutcome(result, object, plan, 'deadLettered');
          continue;
        }
        if (rendered.warnings.length > 0) deps.logger.info({ object: object.name, recordId: plan.recordId, warnings: rendered.warnings }, 'comment adjusted to fit');
        const version = parseSalesforceDateTime(String(record.SystemModstamp ?? '')) ?? 0;
        upserts.push({ plan, comment: rendered.comment, version, hash: contentHash(rendered.comment) });
      }
    }
  }
  await pushUnderLocks(object, upserts, removals, deps, result);
}

async function fetchRecords(object: ObjectConfig, ids: string[], deps: ChangeBatchDeps) {
  const where = `Id IN (${ids.map(soqlString).join(', ')})${object.where ? ` AND (${object.where})` : ''}`;
  try {
    return await deps.rest.query(`SELECT ${object.fields.join(', ')} FROM ${object.name} WHERE ${where}`);
  } catch (error) {
    if (error instanceof SalesforceApiError && (error.errorCode === 'INVALID_FIELD' || error.errorCode === 'INVALID_TYPE')) {
      // The mapping does not fit this org: no retry will help. Keep every record, with the reason.
      for (const id of ids) await deadLetter(deps, object, id, 'fetch', `${error.message}${error.hint ? ` (${error.hint})` : ''}`);
      return { records: [], serverTime: undefined, deadLettered: true };
    }
    throw error;
  }
}

async function pushUnderLocks(object: ObjectConfig, upserts: Upsert[], removals: Removal[], deps: ChangeBatchDeps, result: BatchResult): Promise<void> {
  const ids = [...upserts.map((u) => u.plan.recordId), ...removals.map((r) => r.plan.recordId)];
  if (ids.length === 0) return;
  const { busy } = await deps.versions.withLocks(object.name, ids, deps.lockTtlMs, async (locked, stored) => {
    const lockedSet = new Set(locked);
    const now = (deps.now ?? Date.now)();
    const comments: Comment[] = [];
    const pushedUpserts: Upsert[] = [];
    const deleteIds: string[] = [];
    const applied = new Map<string, RecordVersion>();

    for (const upsert of upserts) {
      if (!lockedSet.has(upsert.plan.recordId)) continue;
      const previous = stored.get(upsert.plan.recordId);
      const verdict = verdictForUpsert(previous, upsert.version, upsert.hash);
      if (verdict === 'stale') countOutcome(result, object, upsert.plan, 'stale');
      else if (verdict === 'unchanged') {
        countOutcome(result, object, upsert.plan, 'unchanged');
        if (previous && upsert.version > previous.version) applied.set(upsert.plan.recordId, { ...previous, version: upsert.version });
      } else {
        if (previous && previous.version === upsert.version) result.verify.push(verificationJob(upsert.plan, now));
        comments.push(upsert.comment);
        pushedUpserts.push(upsert);
      }
    }
    for (const removal of removals) {
      if (!lockedSet.has(removal.plan.recordId)) continue;
      const previous = stored.get(removal.plan.recordId);
      const verdict = verdictForDelete(previous, removal.version);
      if (verdict === 'stale') countOutcome(result, object, removal.plan, 'stale');
      else if (verdict === 'unchanged') countOutcome(result, object, removal.plan, 'unchanged');
      else {
        deleteIds.push(commentIdOf(removal.plan, previous));
        applied.set(removal.plan.recordId, { version: removal.version, state: 'deleted', hash: '', at: now, commentId: commentIdOf(removal.plan, previous) });
      }
    }
    if (comments.length === 0 && deleteIds.length === 0) return { result: undefined, write: applied };

    await deps.beforePush?.(object.name, [...pushedUpserts.map((u) => u.plan.recordId), ...deleteIds]);
    const pushed = await deps.pusher.push({ comments, deleteIds }, deps.signal ? { signal: deps.signal } : {});
    const rejectedIds = new Set(pushed.rejected.map((r) => r.id));
    for (const rejected of pushed.rejected) {
      const upsert = pushedUpserts.find((u) => u.comment.id === rejected.id);
      await deadLetter(deps, object, upsert?.plan.recordId, 'push', `Communications Mining rejected the comment: ${rejected.reason}`, rejected.comment);
      if (upsert) countOutcome(result, object, upsert.plan, 'deadLettered');
      else result.stats.deadLettered++;
    }
    for (const upsert of pushedUpserts) {
      if (rejectedIds.has(upsert.comment.id)) continue;
      applied.set(upsert.plan.recordId, { version: upsert.version, state: 'present', hash: upsert.hash, at: now, commentId: upsert.comment.id });
      countOutcome(result, object, upsert.plan, 'pushed');
    }
    for (const removal of removals) if (applied.get(removal.plan.recordId)?.state === 'deleted') countOutcome(result, object, removal.plan, 'deleted');
    // Recorded as the locks are released: the next holder of a record sees this push's version.
    return { result: undefined, write: applied };
  });
  const busyIds = new Set(busy);
  for (const plan of [...upserts.map((u) => u.plan), ...removals.map((r) => r.plan)]) {
    if (busyIds.has(plan.recordId)) result.busy.push(...plan.jobs);
  }
}

/** The comment id a deleted record was pushed under (the mapping's `id` may be another field). */
function commentIdOf(plan: RecordPlan, previous: RecordVersion | undefined): string {
  return previous?.commentId || plan.recordId;
}

function verificationJob(plan: RecordPlan, now: number): ChangeJob {
  const first = plan.jobs[0];
  return {
    integration: first?.integration ?? '',
    object: plan.object.name,
    recordId: plan.recordId,
    kind: 'REFRESH',
    origin: 'retry',
    enqueuedAt: now,
  };
}

async function deadLetter(
  deps: ChangeBatchDeps,
  object: ObjectConfig,
  recordId: string | undefined,
  stage: 'transform' | 'push' | 'fetch',
  reason: string,
  payload?: unknown,
): Promise<void> {
  await deps.deadLetters.add({
    integration: deps.integration.key,
    object: object.name,
    ...(recordId ? { recordId } : {}),
    reason,
    stage,
    ...(payload === undefined ? {} : { payload }),
  });
  deps.logger.warn({ object: object.name, recordId, stage, reason }, 'dead-lettered');
}

/** `fn` over `items` with at most `limit` running at once; results in input order. */
async function mapConcurrently<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  });
  await Promise.all(lanes);
  return results;
}
