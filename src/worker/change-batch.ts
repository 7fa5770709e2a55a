/**
 * One batch of change jobs, made true in Communications Mining:
 *
 *   coalesce by record → lock the records → fetch them in bulk (SOQL `Id IN (…)` + the object's
 *   `where`) → transform → decide against the register → batched push / delete → write the
 *   register and release the locks.
 *
 * Invariants (docs/record-register.md):
 * - The source converges to the latest state: every change, whatever its kind, is answered by a
 *   fetch of the record as it is now, made while holding the record's push lock. Fetches of one
 *   record are therefore serialised, and the last one applied is the newest one made; no timestamp
 *   from another clock is needed to order them (a delete and an undelete within one second, a host
 *   clock minutes off: nothing changes).
 * - No stale overwrite: a present record's `SystemModstamp` never moves backwards in the register
 *   (Salesforce's clock against itself). A push whose lock expired meanwhile is re-checked.
 * - Unchanged content is not pushed again (content hash): reconciliation never bills twice.
 * - A record that cannot be converted, or a comment CM rejects, is dead-lettered with its reason;
 *   the rest of the batch goes through.
 */
import type { Logger } from 'pino';
import type { IntegrationConfig, ObjectConfig } from '../config/index.ts';
import { contentHash, parseSalesforceDateTime, toComment } from '../pipeline/index.ts';
import type { ChangeJob } from '../model/change.ts';
import type { DeadLetterStore } from '../store/dead-letters.ts';
import type { RecordVersion, RecordVersions } from '../store/record-versions.ts';
import type { DescribeCache } from '../salesforce/describe-cache.ts';
import type { DescribeLookup } from '../salesforce/describe.ts';
import {
  SalesforceApiError,
  soqlString,
  type QueryRecord,
  type SalesforceRestClient,
} from '../salesforce/rest-client.ts';
import { childRefreshes } from './relationships.ts';
import { decide, nextRegisterEntry, snapshotVerdict, type Observation, type Verdict } from './verdict.ts';
import type { Comment } from '../model/comment.ts';
import type { CommentPusher } from '../sink/comment-pusher.ts';
import type { MetricsRecorder } from '../metrics/recorder.ts';
import type { FlowEntry, FlowStats } from '../metrics/flow-stats.ts';
import type { RecordTrail } from '../store/record-trail.ts';

/** Ids per SOQL `IN (…)`: ~25 URL-encoded bytes each keeps the URI far below 16 KB (docs/salesforce.md#systemmodstamp-watermarks). */
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
  /** Per-minute outcome counts for the status page (one pipeline per batch). */
  flow?: FlowStats;
  /** Where each record's last outcome is noted (per-record lookup). */
  trail?: RecordTrail;
  /** The host clock: only for "pushed at" and latencies, never to order versions. */
  now?: () => number;
  /** Cuts pushes short when the worker closes (the batch then goes back to the queue). */
  signal?: AbortSignal;
}

export interface BatchResult {
  /** Jobs whose record was locked by another worker: retry them shortly. */
  busy: ChangeJob[];
  /** Records whose push lock expired before the register write: fetch and push them again (forced). */
  verify: ChangeJob[];
  /** Children whose comments read fields of records changed in this batch (`Parent.X`): refresh them. */
  related: ChangeJob[];
  /** Counts for logs and metrics. */
  stats: { fetched: number; pushed: number; deleted: number; unchanged: number; stale: number; deadLettered: number };
  /** What happened to each record, for the per-record lookup ("where is record X?"). */
  trail: Array<{ object: string; plan: RecordPlan; outcome: RecordOutcome; rejected?: true }>;
}

export type RecordOutcome = 'pushed' | 'deleted' | 'unchanged' | 'stale' | 'dead_lettered';
type Stat = 'pushed' | 'deleted' | 'unchanged' | 'stale' | 'deadLettered';

/** Count a record's outcome in the stats and the trail. */
function countOutcome(result: BatchResult, object: ObjectConfig, plan: RecordPlan, stat: Stat, rejected?: true): void {
  result.stats[stat]++;
  result.trail.push({
    object: object.name,
    plan,
    outcome: stat === 'deadLettered' ? 'dead_lettered' : stat,
    ...(rejected ? { rejected } : {}),
  });
}

interface RecordPlan {
  object: ObjectConfig;
  recordId: string;
  jobs: ChangeJob[];
}

export async function processChangeBatch(jobs: readonly ChangeJob[], deps: ChangeBatchDeps): Promise<BatchResult> {
  const result: BatchResult = {
    busy: [],
    verify: [],
    related: [],
    stats: { fetched: 0, pushed: 0, deleted: 0, unchanged: 0, stale: 0, deadLettered: 0 },
    trail: [],
  };
  for (const [object, plans] of coalesce(jobs, deps)) {
    await processObject(object, plans, deps, result);
    // A changed record may be the parent of other objects' records: their comments change too.
    const changedParents = plans
      .filter((plan) =>
        plan.jobs.some((job) => job.origin !== 'relationship' && job.kind !== 'CREATE' && job.kind !== 'DELETE'),
      )
      .map((plan) => plan.recordId);
    result.related.push(
      ...(await childRefreshes(
        deps.integration,
        object.name,
        changedParents,
        deps.rest,
        deps.describes,
        (deps.now ?? Date.now)(),
      )),
    );
  }
  await deps.trail?.write(
    result.trail.map(({ object, plan, outcome }) => ({
      object,
      recordId: plan.recordId,
      outcome,
      change: plan.jobs[plan.jobs.length - 1],
    })),
  );
  await deps.flow?.record(deps.integration.key, result.trail.map(flowEntry), (deps.now ?? Date.now)());
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

/** A record's outcome as the status page counts it: a comment CM rejected is told apart from other dead letters. */
function flowEntry({ object, plan, outcome, rejected }: BatchResult['trail'][number]): FlowEntry {
  const commitTimestamps = plan.jobs.flatMap((job) => (job.commitTimestamp === undefined ? [] : [job.commitTimestamp]));
  return { object, outcome: rejected ? 'rejected' : outcome, commitTimestamps };
}

/** Group by object, then by record: only the newest state of a record matters. */
function coalesce(jobs: readonly ChangeJob[], deps: ChangeBatchDeps): Map<ObjectConfig, RecordPlan[]> {
  const byObject = new Map<ObjectConfig, Map<string, RecordPlan>>();
  for (const job of jobs) {
    const object = deps.integration.objects.find((o) => o.name === job.object);
    if (!object) {
      deps.logger.warn(
        { object: job.object, recordId: job.recordId },
        'change for an object no longer in the config: skipped',
      );
      continue;
    }
    let records = byObject.get(object);
    if (!records) byObject.set(object, (records = new Map<string, RecordPlan>()));
    const plan = records.get(job.recordId) ?? { object, recordId: job.recordId, jobs: [] };
    plan.jobs.push(job);
    records.set(job.recordId, plan);
  }
  const out = new Map<ObjectConfig, RecordPlan[]>();
  for (const [object, records] of byObject) out.set(object, [...records.values()]);
  return out;
}

/** What one fetch (or a carried record) showed of a record, ready for the verdict; a carried record comes with its verdict. */
type Found = { plan: RecordPlan; seen: Observation; comment?: Comment; verdict?: Verdict };

async function processObject(
  object: ObjectConfig,
  plans: RecordPlan[],
  deps: ChangeBatchDeps,
  result: BatchResult,
): Promise<void> {
  const byId = new Map(plans.map((plan) => [plan.recordId, plan]));
  // The lock is taken before the fetch: the fetch and the push of a record are one step that no
  // other worker interleaves with, so the newest fetch is the one the register ends with.
  const { busy, lost } = await deps.versions.withLocks(
    object.name,
    [...byId.keys()],
    deps.lockTtlMs,
    async (locked, stored) => {
      const plans = locked.map((id) => byId.get(id) as RecordPlan);
      // Records a backfill carried need no fetch, unless the register says the snapshot cannot decide.
      const carried = await convertCarried(object, plans, stored, deps, result);
      const fetched = await fetchAndConvert(object, carried.fetch, deps, result);
      return {
        result: undefined,
        write: await pushVerdicts(object, [...carried.found, ...fetched], stored, deps, result),
      };
    },
  );
  for (const id of busy) result.busy.push(...(byId.get(id)?.jobs ?? []));
  for (const id of lost) {
    const plan = byId.get(id);
    if (plan) result.verify.push(recheckJob(plan, (deps.now ?? Date.now)()));
  }
  if (lost.length > 0)
    deps.logger.warn({ object: object.name, records: lost.length }, 'push locks expired mid-push: records re-checked');
}

/**
 * Convert the records a backfill carried (every change of the record carries one; the newest by
 * SystemModstamp is used) and judge them against the register; the rest, and the snapshots the
 * register cannot order, are left to the fetch.
 */
async function convertCarried(
  object: ObjectConfig,
  plans: RecordPlan[],
  stored: ReadonlyMap<string, RecordVersion>,
  deps: ChangeBatchDeps,
  result: BatchResult,
): Promise<{ found: Found[]; fetch: RecordPlan[] }> {
  const found: Found[] = [];
  const fetch: RecordPlan[] = [];
  const describes = plans.some((plan) => plan.jobs[0]?.record)
    ? await deps.describes.ensure(object.name, object.fields)
    : undefined;
  for (const plan of plans) {
    const carried = describes && carriedRecord(plan);
    if (!carried) {
      fetch.push(plan);
      continue;
    }
    const converted = await convertRecord(object, plan, carried.record, describes, deps, result, carried.stamp);
    if (!converted) continue;
    const verdict = snapshotVerdict(stored.get(plan.recordId), converted.seen);
    if (verdict === 'fetch') fetch.push(plan);
    else found.push({ ...converted, verdict });
  }
  return { found, fetch };
}

/** The newest record carried by every change of the plan (and its stamp), or undefined when one change carries none. */
function carriedRecord(plan: RecordPlan): { record: QueryRecord; stamp: number } | undefined {
  let newest: { record: QueryRecord; stamp: number } | undefined;
  for (const job of plan.jobs) {
    if (!job.record) return undefined;
    const stamp = modstampOf(job.record);
    if (!newest || stamp > newest.stamp) newest = { record: job.record, stamp };
  }
  return newest;
}

function modstampOf(record: QueryRecord): number {
  return (typeof record.SystemModstamp === 'string' ? parseSalesforceDateTime(record.SystemModstamp) : undefined) ?? 0;
}

/** A present record as a comment with its observation; dead-lettered (undefined) when it cannot be converted. */
async function convertRecord(
  object: ObjectConfig,
  plan: RecordPlan,
  record: QueryRecord,
  describes: DescribeLookup,
  deps: ChangeBatchDeps,
  result: BatchResult,
  modstamp = modstampOf(record),
): Promise<Found | undefined> {
  const rendered = toComment(record, object, describes);
  if (!rendered.ok) {
    await deadLetter(deps, object, plan.recordId, 'transform', rendered.reason, record);
    countOutcome(result, object, plan, 'deadLettered');
    return undefined;
  }
  if (rendered.warnings.length > 0)
    deps.logger.info(
      { object: object.name, recordId: plan.recordId, warnings: rendered.warnings },
      'comment adjusted to fit',
    );
  return {
    plan,
    comment: rendered.comment,
    seen: { state: 'present', modstamp, hash: contentHash(rendered.comment) },
  };
}

/** Fetch the locked records in bulk and convert the present ones; dead-letter what cannot be converted. */
async function fetchAndConvert(
  object: ObjectConfig,
  plans: RecordPlan[],
  deps: ChangeBatchDeps,
  result: BatchResult,
): Promise<Found[]> {
  if (plans.length === 0) return [];
  const describes = await deps.describes.ensure(object.name, object.fields);
  const chunks: RecordPlan[][] = [];
  for (let start = 0; start < plans.length; start += IDS_PER_QUERY)
    chunks.push(plans.slice(start, start + IDS_PER_QUERY));
  // A few queries at a time: latency hides behind each other without flooding the org.
  const fetched = await mapConcurrently(chunks, QUERIES_IN_FLIGHT, (chunk) =>
    fetchRecords(
      object,
      chunk.map((p) => p.recordId),
      deps,
    ),
  );
  const found: Found[] = [];
  for (const [index, chunk] of chunks.entries()) {
    const fetch = fetched[index];
    if (!fetch || fetch.deadLettered) {
      for (const plan of chunk) countOutcome(result, object, plan, 'deadLettered');
      continue;
    }
    result.stats.fetched += fetch.records.length;
    const byId = new Map(fetch.records.map((record) => [String(record.Id), record]));
    for (const plan of chunk) {
      const record = byId.get(plan.recordId);
      // Absent: deleted, purged or outside `where`; the comment goes.
      if (!record) {
        found.push({ plan, seen: { state: 'absent' } });
        continue;
      }
      const converted = await convertRecord(object, plan, record, describes, deps, result);
      if (converted) found.push(converted);
    }
  }
  return found;
}

async function fetchRecords(
  object: ObjectConfig,
  ids: string[],
  deps: ChangeBatchDeps,
): Promise<{ records: QueryRecord[]; deadLettered?: true }> {
  const where = `Id IN (${ids.map(soqlString).join(', ')})${object.where ? ` AND (${object.where})` : ''}`;
  try {
    return await deps.rest.query(`SELECT ${object.fields.join(', ')} FROM ${object.name} WHERE ${where}`);
  } catch (error) {
    if (
      error instanceof SalesforceApiError &&
      (error.errorCode === 'INVALID_FIELD' || error.errorCode === 'INVALID_TYPE')
    ) {
      // The mapping does not fit this org: no retry will help. Keep every record, with the reason.
      for (const id of ids)
        await deadLetter(deps, object, id, 'fetch', `${error.message}${error.hint ? ` (${error.hint})` : ''}`);
      return { records: [], deadLettered: true };
    }
    throw error;
  }
}

/** Decide each record against the register, push and delete in one request, and return the register entries to write. */
async function pushVerdicts(
  object: ObjectConfig,
  found: readonly Found[],
  stored: ReadonlyMap<string, RecordVersion>,
  deps: ChangeBatchDeps,
  result: BatchResult,
): Promise<Map<string, RecordVersion>> {
  const at = (deps.now ?? Date.now)();
  const write = new Map<string, RecordVersion>();
  const upserts: Array<Found & { comment: Comment }> = [];
  const removals: Array<{ found: Found; commentId: string }> = [];
  for (const item of found) {
    const previous = stored.get(item.plan.recordId);
    const verdict =
      item.verdict ?? decide(previous, item.seen, { force: item.plan.jobs.some((job) => job.force === true) });
    if (verdict === 'push' && item.comment) upserts.push({ ...item, comment: item.comment });
    else if (verdict === 'delete') removals.push({ found: item, commentId: commentIdOf(item.plan, previous) });
    else {
      countOutcome(result, object, item.plan, verdict === 'stale' ? 'stale' : 'unchanged');
      const entry = nextRegisterEntry(previous, item.seen, verdict, { commentId: previous?.commentId ?? '', at });
      if (entry) write.set(item.plan.recordId, entry);
    }
  }
  if (upserts.length === 0 && removals.length === 0) return write;

  const pushed = await deps.pusher.push(
    { comments: upserts.map((u) => u.comment), deleteIds: removals.map((r) => r.commentId) },
    deps.signal ? { signal: deps.signal } : {},
  );
  const rejectedIds = new Set(pushed.rejected.map((r) => r.id));
  for (const rejected of pushed.rejected) {
    const upsert = upserts.find((u) => u.comment.id === rejected.id);
    await deadLetter(
      deps,
      object,
      upsert?.plan.recordId,
      'push',
      `Communications Mining rejected the comment: ${rejected.reason}`,
      rejected.comment,
    );
    if (upsert) countOutcome(result, object, upsert.plan, 'deadLettered', true);
    else result.stats.deadLettered++;
  }
  for (const upsert of upserts) {
    if (rejectedIds.has(upsert.comment.id)) continue;
    const previous = stored.get(upsert.plan.recordId);
    const entry = nextRegisterEntry(previous, upsert.seen, 'push', { commentId: upsert.comment.id, at });
    if (entry) write.set(upsert.plan.recordId, entry);
    countOutcome(result, object, upsert.plan, 'pushed');
  }
  for (const { found: removal, commentId } of removals) {
    const entry = nextRegisterEntry(stored.get(removal.plan.recordId), removal.seen, 'delete', { commentId, at });
    if (entry) write.set(removal.plan.recordId, entry);
    countOutcome(result, object, removal.plan, 'deleted');
  }
  // Written as the locks are released: the next holder of a record sees this push.
  return write;
}

/** The comment id a deleted record was pushed under (the mapping's `id` may be another field). */
function commentIdOf(plan: RecordPlan, previous: RecordVersion | undefined): string {
  return previous?.commentId || plan.recordId;
}

/** Fetch the record again and push it even if unchanged: a push made under an expired lock may have landed last. */
function recheckJob(plan: RecordPlan, now: number): ChangeJob {
  const first = plan.jobs[0];
  return {
    integration: first?.integration ?? '',
    object: plan.object.name,
    recordId: plan.recordId,
    kind: 'REFRESH',
    origin: 'retry',
    force: true,
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
  const results = new Array<R>(items.length);
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
