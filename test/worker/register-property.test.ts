/**
 * Property: whatever happens to a record in Salesforce, and however its changes reach the workers,
 * once changes stop the source holds exactly the record's final state (docs/record-register.md).
 *
 * The batch logic and the record register run for real (`processChangeBatch`, `RecordVersions` and
 * its Lua scripts on the test Redis); Salesforce and Communications Mining are small models here,
 * so that fast-check can generate and shrink thousands of histories:
 * - the org: records created, updated (in and out of the comment), deleted, undeleted, moved out of
 *   and back into the object's `where`, with any spacing on Salesforce's clock, several changes
 *   inside one second included; `SystemModstamp` has one-second resolution, commit times have ms;
 * - delivery: each change event may be dropped, duplicated, and is taken in any order;
 * - two workers (their own Redis connections, as two processes) whose fetches and pushes interleave;
 * - reconciliation, mid-way and at the end, when events were dropped;
 * - bulk backfills that carry the records as they were when read (snapshots), taken at any point and
 *   delivered in any order with the rest;
 * - the bridge host's clock off by up to ±10 minutes.
 *
 * PROPERTY_RUNS=<n> runs more histories (default 300); TEST_SEED=<n> explores other ones (the seed is fixed
 * by default, so a failure replays exactly).
 */
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText, type IntegrationConfig, type ObjectConfig } from '../../src/config/index.ts';
import { contentHash, toComment } from '../../src/pipeline/index.ts';
import type { ChangeJob } from '../../src/model/change.ts';
import { DeadLetterStore } from '../../src/store/dead-letters.ts';
import { RecordVersions } from '../../src/store/record-versions.ts';
import { DescribeCache } from '../../src/salesforce/describe-cache.ts';
import type { QueryRecord, SalesforceRestClient } from '../../src/salesforce/rest-client.ts';
import type { Comment } from '../../src/model/comment.ts';
import type { CommentPusher, PushRequest, PushResult } from '../../src/sink/comment-pusher.ts';
import { processChangeBatch, type ChangeBatchDeps } from '../../src/worker/change-batch.ts';
import { configYaml } from '../helpers/config-text.ts';
import { TEST_SEED } from '../helpers/random.ts';
import { testRedis, type TestRedis } from '../helpers/redis.ts';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
const INTEGRATION_OBJECTS = `      Case:
        where: "Status != 'Closed'"
        comment:
          subject: Subject
          body: Description`;

const CASE_DESCRIBE = {
  name: 'Case',
  label: 'Case',
  fields: [
    { name: 'Id', label: 'Case ID', type: 'id' },
    { name: 'Subject', label: 'Subject', type: 'string' },
    { name: 'Description', label: 'Description', type: 'textarea' },
    {
      name: 'Status',
      label: 'Status',
      type: 'picklist',
      picklistValues: [
        { value: 'New', label: 'New', active: true },
        { value: 'Closed', label: 'Closed', active: true },
      ],
    },
    { name: 'Priority', label: 'Priority', type: 'string' },
    { name: 'CreatedDate', label: 'Created Date', type: 'datetime' },
    { name: 'SystemModstamp', label: 'System Modstamp', type: 'datetime' },
  ],
};

// ---- the org model ------------------------------------------------------------------------------

type Op = 'update' | 'rewrite-same' | 'touch' | 'delete' | 'undelete' | 'scope-out' | 'scope-in';

interface ModelRecord {
  id: string;
  deleted: boolean;
  status: 'New' | 'Closed';
  description: string;
  priority: number;
  created: number;
  modstamp: number;
  /** Increases with every change of the comment's content: what "newer" means for a push. */
  contentVersion: number;
}

class OrgModel {
  readonly records: ModelRecord[] = [];
  /** Salesforce's clock (ms). */
  clock: number;
  /** Calls the workers made, for the closing figures. */
  queries = 0;

  constructor(start: number) {
    this.clock = start;
  }

  create(index: number): ModelRecord {
    const record: ModelRecord = {
      id: `500000000000${String(index).padStart(3, '0')}AAA`,
      deleted: false,
      status: 'New',
      description: 'v0',
      priority: 0,
      created: second(this.clock),
      modstamp: second(this.clock),
      contentVersion: 0,
    };
    this.records.push(record);
    return record;
  }

  /** Apply `op` after `gapMs`; the change event's kind, or undefined when the op changes nothing. */
  apply(record: ModelRecord, op: Op, gapMs: number): ChangeJob['kind'] | undefined {
    this.clock += gapMs;
    let kind: ChangeJob['kind'];
    switch (op) {
      case 'update':
        if (record.deleted) return undefined;
        record.contentVersion++;
        record.description = `v${record.contentVersion}`;
        kind = 'UPDATE';
        break;
      case 'rewrite-same':
        // A save that changes a comment field to the value it already had: a new stamp, same content.
        if (record.deleted) return undefined;
        kind = 'UPDATE';
        break;
      case 'touch':
        if (record.deleted) return undefined;
        record.priority++;
        kind = 'UPDATE';
        break;
      case 'delete':
        if (record.deleted) return undefined;
        record.deleted = true;
        kind = 'DELETE';
        break;
      case 'undelete':
        if (!record.deleted) return undefined;
        record.deleted = false;
        kind = 'UNDELETE';
        break;
      case 'scope-out':
      case 'scope-in':
        if (record.deleted) return undefined;
        record.status = op === 'scope-out' ? 'Closed' : 'New';
        kind = 'UPDATE';
        break;
    }
    // Deletes and undeletes move SystemModstamp too; it keeps whole seconds only.
    record.modstamp = second(this.clock);
    return kind;
  }

  inSource(record: ModelRecord): boolean {
    return !record.deleted && record.status !== 'Closed';
  }

  row(record: ModelRecord): QueryRecord {
    return {
      attributes: { type: 'Case' },
      Id: record.id,
      Subject: 'Subject',
      Description: record.description,
      Status: record.status,
      Priority: String(record.priority),
      CreatedDate: iso(record.created),
      SystemModstamp: iso(record.modstamp),
    };
  }

  /** `SELECT … FROM Case WHERE Id IN (…) AND (Status != 'Closed')`, as the worker sends it. */
  query(soql: string): QueryRecord[] {
    this.queries++;
    const inList = /Id IN \(([^)]*)\)/.exec(soql)?.[1] ?? '';
    const ids = new Set([...inList.matchAll(/'([A-Za-z0-9]{15,18})'/g)].map((m) => m[1]));
    if (!soql.includes("AND (Status != 'Closed')")) throw new Error(`the model expects the object's where: ${soql}`);
    return this.records.filter((r) => ids.has(r.id) && this.inSource(r)).map((r) => this.row(r));
  }
}

const second = (ms: number) => Math.floor(ms / 1000) * 1000;
const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');

// ---- the Communications Mining model ------------------------------------------------------------

class CmModel {
  readonly comments = new Map<string, Comment>();
  /** Per comment id, the description versions pushed, in order. */
  readonly upserts = new Map<string, number[]>();
  redundant: string[] = [];
  requests = 0;

  push(request: PushRequest): PushResult {
    this.requests++;
    for (const comment of request.comments ?? []) {
      const held = this.comments.get(comment.id);
      if (held && contentHash(held) === contentHash(comment)) this.redundant.push(comment.id);
      this.comments.set(comment.id, comment);
      const version = Number(comment.messages[0]?.body.text.slice(1));
      this.upserts.set(comment.id, [...(this.upserts.get(comment.id) ?? []), version]);
    }
    for (const id of request.deleteIds ?? []) this.comments.delete(id);
    return {
      pushed: request.comments?.length ?? 0,
      counters: { new: 0, updated: 0, unchanged: 0 },
      rejected: [],
      deleted: request.deleteIds?.length ?? 0,
    };
  }
}

// ---- one history --------------------------------------------------------------------------------

type Step =
  | { kind: 'op'; record: number; op: Op; gapMs: number; drop: boolean; duplicate: boolean }
  | { kind: 'work'; workers: 'first' | 'second' | 'both'; picks: number[] }
  | { kind: 'reconcile' }
  /** A bulk backfill reads every record in scope now and queues each with the record carried. */
  | { kind: 'snapshot' };

interface History {
  records: number;
  steps: Step[];
  /** Event-loop turns each model call waits: how the two workers' steps interleave. */
  turns: number[];
  hostSkewMs: number;
  startMs: number;
}

const opArb = fc.constantFrom<Op>(
  'update',
  'update',
  'rewrite-same',
  'touch',
  'delete',
  'undelete',
  'scope-out',
  'scope-in',
);
/** Gaps on Salesforce's clock: often none or a few ms (same second), sometimes across seconds. */
const gapArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 400, max: 2_500 }));
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('op' as const),
      record: fc.nat(3),
      op: opArb,
      gapMs: gapArb,
      drop: fc.nat(7).map((n) => n === 0),
      duplicate: fc.nat(3).map((n) => n === 0),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('work' as const),
      workers: fc.constantFrom('first' as const, 'second' as const, 'both' as const),
      picks: fc.array(fc.nat(50), { minLength: 1, maxLength: 6 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reconcile' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'snapshot' as const }) },
);
const historyArb: fc.Arbitrary<History> = fc.record({
  records: fc.integer({ min: 1, max: 4 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 30 }),
  turns: fc.array(fc.nat(4), { minLength: 1, maxLength: 16 }),
  hostSkewMs: fc.integer({ min: -600_000, max: 600_000 }),
  startMs: fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 0, 2) }),
});

interface Outcome {
  failures: string[];
  batches: number;
}

async function runHistory(
  history: History,
  redis: TestRedis,
  integration: IntegrationConfig,
  object: ObjectConfig,
  run: number,
): Promise<Outcome> {
  const org = new OrgModel(history.startMs);
  const cm = new CmModel();
  let turn = 0;
  const interleave = async () => {
    const turns = history.turns[turn++ % history.turns.length] ?? 0;
    for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  const rest = {
    async query(soql: string) {
      await interleave();
      const records = org.query(soql);
      return { records, serverTime: org.clock };
    },
    async describe() {
      return CASE_DESCRIBE;
    },
  } as unknown as SalesforceRestClient;
  const pusher = {
    async push(request: PushRequest) {
      await interleave();
      return cm.push(request);
    },
  } as unknown as CommentPusher;
  const describes = new DescribeCache(rest);
  const logger = pino({ level: 'silent' });
  const scopedIntegration = { ...integration, key: `${integration.key}-${run}` };
  const worker = (connection: TestRedis['redis']): ChangeBatchDeps => ({
    integration: scopedIntegration,
    rest,
    describes,
    pusher,
    versions: new RecordVersions(connection, redis.prefix, scopedIntegration.key),
    deadLetters: new DeadLetterStore(connection, redis.prefix),
    logger,
    lockTtlMs: 30_000,
    now: () => Date.now() + history.hostSkewMs,
  });
  const workers = [worker(redis.redis), worker(redis.connect())] as const;

  const pending: ChangeJob[] = [];
  const job = (
    record: ModelRecord,
    kind: ChangeJob['kind'],
    origin: ChangeJob['origin'],
    commitTimestamp?: number,
  ): ChangeJob => ({
    integration: scopedIntegration.key,
    object: object.name,
    recordId: record.id,
    kind,
    origin,
    ...(commitTimestamp === undefined ? {} : { commitTimestamp }),
    enqueuedAt: Date.now(),
  });
  let dropped = false;
  let reconciledUpTo = Number.NEGATIVE_INFINITY;
  let batches = 0;

  const take = (picks: readonly number[]): ChangeJob[] => {
    const taken: ChangeJob[] = [];
    for (const pick of picks) {
      if (pending.length === 0) break;
      taken.push(...pending.splice(pick % pending.length, 1));
    }
    return taken;
  };
  const process = async (deps: ChangeBatchDeps, jobs: ChangeJob[]) => {
    if (jobs.length === 0) return;
    batches++;
    const result = await processChangeBatch(jobs, deps);
    // As the change worker does: records another worker held, and re-checks, come back as jobs.
    pending.push(...result.busy, ...result.verify);
  };
  /** Reconciliation: every record changed since the last run (tie-inclusive, on Salesforce's clock). */
  const reconcile = () => {
    let newest = reconciledUpTo;
    for (const record of org.records) {
      if (record.modstamp < reconciledUpTo) continue;
      pending.push(job(record, record.deleted ? 'DELETE' : 'REFRESH', 'reconcile'));
      newest = Math.max(newest, record.modstamp);
    }
    reconciledUpTo = newest;
  };

  for (let i = 0; i < history.records; i++) pending.push(job(org.create(i), 'CREATE', 'cdc', org.clock));
  for (const step of history.steps) {
    if (step.kind === 'op') {
      const record = org.records[step.record % org.records.length] as ModelRecord;
      const kind = org.apply(record, step.op, step.gapMs);
      if (!kind) continue;
      if (step.drop) {
        dropped = true;
        continue;
      }
      pending.push(job(record, kind, 'cdc', org.clock));
      if (step.duplicate) pending.push(job(record, kind, 'cdc', org.clock));
    } else if (step.kind === 'work') {
      if (step.workers === 'both') {
        const half = Math.ceil(step.picks.length / 2);
        const first = take(step.picks.slice(0, half));
        const second = take(step.picks.slice(half));
        await Promise.all([process(workers[0], first), process(workers[1], second)]);
      } else {
        await process(workers[step.workers === 'first' ? 0 : 1], take(step.picks));
      }
    } else if (step.kind === 'snapshot') {
      for (const record of org.records)
        if (org.inSource(record)) pending.push({ ...job(record, 'REFRESH', 'backfill'), record: org.row(record) });
    } else {
      reconcile();
    }
  }
  // Changes stop. Dropped events are made good by reconciliation; then everything drains.
  org.clock += 1_000;
  if (dropped) reconcile();
  for (let round = 0; pending.length > 0; round++) {
    if (round > 500) return { failures: ['the queue never drained'], batches };
    await process(workers[round % 2] as ChangeBatchDeps, pending.splice(0, 10));
  }

  const failures: string[] = [];
  const describe = await describes.ensure('Case', object.fields);
  for (const record of org.records) {
    const held = cm.comments.get(record.id);
    if (org.inSource(record)) {
      const expected = toComment(org.row(record), object, describe);
      if (!expected.ok) throw new Error(expected.reason);
      if (!held) failures.push(`${record.id}: in scope at v${record.contentVersion} but missing from the source`);
      else if (contentHash(held) !== contentHash(expected.comment))
        failures.push(`${record.id}: source holds ${held.messages[0]?.body.text}, record is ${record.description}`);
    } else if (held) {
      failures.push(`${record.id}: ${record.deleted ? 'deleted' : 'out of scope'} but still in the source`);
    }
    const versions = cm.upserts.get(record.id) ?? [];
    if (versions.some((v, i) => i > 0 && v < (versions[i - 1] as number)))
      failures.push(`${record.id}: a stale version overwrote a newer one: ${versions.join(' → ')}`);
  }
  if (cm.redundant.length > 0) failures.push(`unchanged content pushed again: ${cm.redundant.join(', ')}`);
  return { failures, batches };
}

describe('record register: eventual equality under any history, delivery and interleaving', () => {
  let redis: TestRedis;
  let integration: IntegrationConfig;
  let object: ObjectConfig;

  beforeAll(() => {
    redis = testRedis();
    integration = loadConfigText(configYaml({ objects: INTEGRATION_OBJECTS }), 'property.yaml', {})
      .integrations[0] as IntegrationConfig;
    object = integration.objects[0] as ObjectConfig;
  });
  afterAll(async () => {
    await redis.cleanup();
  });

  it(`holds for ${RUNS} generated histories`, async () => {
    let run = 0;
    let batches = 0;
    await fc.assert(
      fc.asyncProperty(historyArb, async (history) => {
        const outcome = await runHistory(history, redis, integration, object, run++);
        batches += outcome.batches;
        expect(outcome.failures).toEqual([]);
      }),
      { numRuns: RUNS, seed: TEST_SEED },
    );
    expect(batches).toBeGreaterThan(RUNS);
  }, 120_000);
});
