/**
 * Backfill through Bulk API 2.0 query jobs (docs/salesforce.md#bulk-api-20-query-jobs): above
 * `backfill.bulkAbove` records an object is read with one query job, page by page by locator; a
 * `kill -9` in the middle of a page resumes without re-reading earlier pages or re-queuing rows; a
 * failed job is reported (exit 1, Salesforce's message) and the backfill stays resumable.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backfillObjects } from '../../src/cli/backfill-run.ts';
import { readBackfillCheckpoint } from '../../src/reconcile/index.ts';
import { integrationView } from '../../src/server/integration-status.ts';
import { integrationKeys } from '../../src/store/keys.ts';
import { bridgeConfigYaml } from '../helpers/bridge.ts';
import { runCli, startCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/redis.ts';
import { INTEGRATION, startReconcileHarness, type ReconcileHarness } from './harness.ts';

const CASES = `      Case:
        comment:
          subject: Subject
          body: Description`;
const CM_TOKEN = 'cm-reconcile-token';

describe('bulk backfill', () => {
  let h: ReconcileHarness;
  let dir: string | undefined;
  afterEach(async () => {
    await h.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  async function start(records: number, bulkAbove: number): Promise<string[]> {
    h = await startReconcileHarness({
      objects: CASES,
      reconcile: `{ every: 1h, lookback: 60s }\n    backfill: { bulkAbove: ${bulkAbove} }`,
    });
    h.bridge.org.bulk.setTiming({ queueDelayMs: 100, processingMs: 100 });
    return h.bridge.org.store.transaction((tx) =>
      Array.from({ length: records }, (_, i) =>
        String(tx.create('Case', { Subject: `Old ${i}`, Description: `old, "quoted"\n${i}` }, { silent: true }).Id),
      ),
    );
  }

  /** The same config as the harness, as a file for the bin. */
  function configFile(bulkAbove: number): string {
    dir = mkdtempSync(join(tmpdir(), 'sfcm-bulk-'));
    const file = join(dir, 'bridge.yaml');
    const objects = `${CASES}\n    backfill: { bulkAbove: ${bulkAbove} }`;
    writeFileSync(
      file,
      bridgeConfigYaml(h.bridge.org.url, h.bridge.redis.prefix, {
        cmUrl: h.bridge.config.integrations[0]?.target.url ?? '',
        cmToken: CM_TOKEN,
        objects,
      }),
    );
    return file;
  }

  const restCalls = () => Object.values(h.bridge.org.counters().rest.calls).reduce((a, b) => a + b, 0);
  const queuedJobs = async () => {
    const counts = await h.bridge.context.queues.get(INTEGRATION)?.queue.getJobCounts('waiting', 'prioritized');
    return (counts?.waiting ?? 0) + (counts?.prioritized ?? 0);
  };

  it('above bulkAbove: one query job, a handful of calls, token refreshes on the way, every record pushed, the job deleted', async () => {
    const ids = await start(1_000, 100);
    const integration = h.bridge.config.integrations[0];
    if (!integration) throw new Error('no integration');
    const before = restCalls();
    // The access token expires before the job is created and again between pages: each time one
    // refresh through the token service, and the run goes on.
    const expireAt = new Set([0, 600]);
    const [total] = await backfillObjects(h.bridge.context, integration, integration.objects, null, {
      bulkPoll: { initialMs: 50, maxMs: 200 },
      bulkPageRecords: 300,
      onProgress: (p) => expireAt.delete(p.enqueued) && h.bridge.org.oauth.expireAccessTokens(),
    });
    expect(total).toEqual({ object: 'Case', enqueued: 1000, resumed: false, mode: 'bulk' });
    expect(h.bridge.org.counters().rest.errors.INVALID_SESSION_ID).toBe(2);
    const calls = h.bridge.org.counters().rest.calls;
    // COUNT(), the describe that types the carried records, create, polls, 4 pages of 300, delete,
    // plus the describe and a page refused with 401 and sent again: the number of records does not
    // drive the calls.
    expect(calls).toMatchObject({ query: 1, describe: 2, bulkCreate: 1, bulkResults: 5, bulkDelete: 1 });
    expect(calls.queryMore).toBeUndefined();
    expect(calls.bulkJob ?? 0).toBeLessThanOrEqual(6);
    expect(restCalls() - before).toBe(1 + 2 + 1 + (calls.bulkJob ?? 0) + 5 + 1);
    expect(h.bridge.org.bulk.jobs()).toEqual([]);
    // Pages of 300, 300, 300 and 100 rows, each in 250-change jobs.
    expect(await queuedJobs()).toBe(7);
    const checkpoint = await readBackfillCheckpoint(h.bridge.redis.redis, h.bridge.redis.prefix, INTEGRATION, 'Case');
    expect(checkpoint).toMatchObject({ mode: 'bulk', total: 1000, enqueued: 1000 });
    expect(checkpoint?.finishedAt).toBeDefined();

    await h.startWorker();
    await eventually(() => h.cm.control.comments('acme', 'emails').length === 1000, 30_000);
    expect(h.body(ids[7])).toBe('old, "quoted"\n7');
    // The rows carried the records: the worker pushed them without a single fetch.
    expect(h.bridge.org.counters().rest.calls.query).toBe(1);
    // Jobs carrying records are not kept once completed (their data is the records).
    const queue = h.bridge.context.queues.get(INTEGRATION)?.queue;
    await eventually(async () => {
      const counts = await queue?.getJobCounts('waiting', 'active');
      return counts?.waiting === 0 && counts.active === 0;
    }, 10_000);
    expect(await queue?.getJobCounts('completed')).toMatchObject({ completed: 0 });
  }, 60_000);

  it('the API budget governor sees the bulk calls: above its threshold the run waits between pages, then goes on from there', async () => {
    await start(1_000, 100);
    const { org } = h.bridge;
    const integration = h.bridge.config.integrations[0];
    if (!integration) throw new Error('no integration');
    const deferred: string[] = [];
    const [total] = await backfillObjects(h.bridge.context, integration, integration.objects, null, {
      bulkPoll: { initialMs: 50, maxMs: 200 },
      bulkPageRecords: 300,
      // A reading goes stale after 500 ms: only a call refreshes it, and a deferred run makes none.
      // If the reading is written after the governor looks (it is fire-and-forget), the next call
      // meets REQUEST_LIMIT_EXCEEDED instead: a short pause, then the same position.
      budget: { deferMs: 50, staleAfterMs: 500, pauseMs: 200 },
      // After the first page: usage at 85 % of the daily allocation, a call to spare; the next
      // page's Sforce-Limit-Info tells the governor.
      onProgress: (p) =>
        p.enqueued === 300 &&
        deferred.length === 0 &&
        org.rest.setDailyApiLimit(Math.ceil(org.counters().rest.apiUsage.used / 0.85)),
      onDeferred: (_object, reason) => {
        deferred.push(reason);
        org.rest.setDailyApiLimit(100_000);
      },
    });
    expect(deferred.length).toBeGreaterThanOrEqual(1);
    expect(deferred.every((reason) => /backfill deferred|REQUEST_LIMIT_EXCEEDED/.test(reason))).toBe(true);
    expect(total).toEqual({ object: 'Case', enqueued: 1000, resumed: true, mode: 'bulk' });
    // The same job, and no page read twice.
    expect(org.counters().rest.calls.bulkCreate).toBe(1);
    const locators = org.bulk.resultReads().map((read) => read.locator);
    expect(locators).toHaveLength(4);
    expect(new Set(locators).size).toBe(4);
    expect(await queuedJobs()).toBe(7);
  }, 60_000);

  it('stays a bounded number of changes ahead of the workers: waits while none runs, finishes once one does', async () => {
    const ids = await start(3_000, 100);
    const integration = h.bridge.config.integrations[0];
    const queue = h.bridge.context.queues.get(INTEGRATION);
    if (!integration || !queue) throw new Error('no integration');
    let settled = false;
    const run = backfillObjects(h.bridge.context, integration, integration.objects, null, {
      bulkPoll: { initialMs: 50, maxMs: 200 },
      aheadChanges: 500,
    }).finally(() => (settled = true));
    const key = integrationKeys(h.bridge.redis.prefix, INTEGRATION).backfill('Case');
    const enqueued = async () => Number((await h.bridge.redis.redis.hget(key, 'enqueued')) ?? 0);
    // 1,000 rows are queued at a time: the first chunk passes (nothing waits yet), the second waits.
    await eventually(async () => (await enqueued()) >= 1_000, 30_000);
    const deadline = Date.now() + 1_500;
    while (Date.now() < deadline) {
      expect(settled).toBe(false);
      expect(await enqueued()).toBe(1_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await queue.changesWaiting()).toBe(1_000);

    await h.startWorker();
    const [total] = await run;
    expect(total).toMatchObject({ object: 'Case', enqueued: 3_000, mode: 'bulk' });
    await eventually(() => h.cm.control.comments('acme', 'emails').length === 3_000, 30_000);
    expect(h.body(ids[2_999])).toBe('old, "quoted"\n2999');
  }, 60_000);

  it('a --since backfill (queryAll): deleted rows travel as ids and their comments go; changed rows are pushed without a fetch', async () => {
    const ids = await start(400, 100);
    const integration = h.bridge.config.integrations[0];
    if (!integration) throw new Error('no integration');
    const { org } = h.bridge;
    await h.startWorker();
    await backfillObjects(h.bridge.context, integration, integration.objects, null, {
      bulkPoll: { initialMs: 50, maxMs: 200 },
    });
    await eventually(() => h.cm.control.comments('acme', 'emails').length === 400, 30_000);
    const since = Date.now() - 60_000;
    // No events: only the backfill can find these.
    org.store.transaction((tx) => {
      for (const id of ids.slice(0, 5)) tx.delete(id, { silent: true });
      for (const id of ids.slice(5, 10)) tx.update(id, { Description: `changed ${id}` }, { silent: true });
    });
    const queriesBefore = org.counters().rest.calls.query ?? 0;
    const [total] = await backfillObjects(h.bridge.context, integration, integration.objects, since, {
      bulkPoll: { initialMs: 50, maxMs: 200 },
    });
    expect(total).toMatchObject({ enqueued: 400, mode: 'bulk' });
    expect(org.counters().rest.calls.queryAll).toBeGreaterThanOrEqual(1);
    await eventually(
      () =>
        h.cm.control.comments('acme', 'emails').length === 395 &&
        ids.slice(5, 10).every((id) => h.body(id) === `changed ${id}`),
      30_000,
    );
    for (const id of ids.slice(0, 5)) expect(h.body(id)).toBeUndefined();
    // The only record query is the fetch of the 5 deleted ids (the COUNT() goes through queryAll).
    await eventually(() => (org.counters().rest.calls.query ?? 0) === queriesBefore + 1, 10_000);
  }, 60_000);

  it('at or below bulkAbove: REST paging, no bulk job', async () => {
    await start(300, 300);
    const integration = h.bridge.config.integrations[0];
    if (!integration) throw new Error('no integration');
    const [total] = await backfillObjects(h.bridge.context, integration, integration.objects, null);
    expect(total).toMatchObject({ enqueued: 300, mode: 'rest' });
    expect(h.bridge.org.counters().rest.calls.bulkCreate).toBeUndefined();
  });

  it('kill -9 in the middle of a result page: the resume re-reads only that page and queues no row twice', async () => {
    await start(4_000, 100);
    const { org } = h.bridge;
    org.bulk.capPageRecords(2_000);
    // A page takes ~5 s to stream: room to kill the reader in the middle of one.
    org.bulk.paceResults(250, 600);
    const file = configFile(100);
    const key = integrationKeys(h.bridge.redis.prefix, INTEGRATION).backfill('Case');
    const first = startCli(['backfill', INTEGRATION, '--config', file]);
    // Killed once the second page is partly queued.
    await eventually(async () => {
      const hash = await h.bridge.redis.redis.hgetall(key);
      return hash.bulkLocator !== undefined && Number(hash.bulkPageRows ?? 0) > 0;
    }, 30_000);
    first.kill('SIGKILL');
    await first.exited;
    const killed = await readBackfillCheckpoint(h.bridge.redis.redis, h.bridge.redis.prefix, INTEGRATION, 'Case');
    expect(killed?.finishedAt).toBeUndefined();
    expect(killed?.bulk?.jobId).toMatch(/^750/);
    const queuedAtKill = killed?.enqueued ?? 0;
    expect(queuedAtKill).toBeGreaterThanOrEqual(3_000);
    expect(queuedAtKill).toBeLessThan(4_000);

    org.bulk.paceResults(0, 0);
    const resumed = await runCli(['backfill', INTEGRATION, '--config', file], {}, 60_000);
    expect(resumed.stderr).toBe('');
    expect(resumed).toMatchObject({ code: 0 });
    expect(resumed.stdout).toContain('Case 4000 record(s) (Bulk API 2.0) (resumed) queued');

    const reads = org.bulk.resultReads();
    const byLocator = new Map<string | null, number>();
    for (const read of reads) byLocator.set(read.locator, (byLocator.get(read.locator) ?? 0) + 1);
    // One job; the first page read once, the page the kill cut read twice, nothing else again.
    expect(new Set(reads.map((r) => r.jobId)).size).toBe(1);
    expect(org.counters().rest.calls.bulkCreate).toBe(1);
    expect([...byLocator.entries()]).toEqual([
      [null, 1],
      [killed?.bulk?.locator, 2],
    ]);
    // 4000 changes in 250-change jobs: the re-read rows were skipped, not queued again.
    expect(await queuedJobs()).toBe(16);
    expect(org.bulk.jobs()).toEqual([]);
  }, 120_000);

  it('a failed job is reported with its message (exit 1); the backfill stays resumable and converges', async () => {
    await start(500, 100);
    const { org } = h.bridge;
    org.bulk.failNextJobs(1, 'InternalServerError: simulated processing failure');
    const file = configFile(100);
    const failed = await runCli(['backfill', INTEGRATION, '--config', file], {}, 60_000);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /^sf-cm-bridge backfill: Bulk API 2\.0 query job 750\w+ failed: InternalServerError: simulated processing failure\n {2}→ run the backfill again/,
    );
    const checkpoint = await readBackfillCheckpoint(h.bridge.redis.redis, h.bridge.redis.prefix, INTEGRATION, 'Case');
    expect(checkpoint).toMatchObject({ mode: 'bulk', enqueued: 0, lastError: expect.stringMatching(/failed/) });
    expect(checkpoint?.bulk?.jobId).toBeUndefined();
    expect(checkpoint?.finishedAt).toBeUndefined();
    expect(org.bulk.jobs()).toEqual([]);
    // The admin API (and the status page) show why the backfill stopped.
    const integration = h.bridge.config.integrations[0];
    if (!integration) throw new Error('no integration');
    expect((await integrationView(integration, h.bridge.context)).objects[0]?.backfill).toMatchObject({
      mode: 'bulk',
      enqueued: 0,
      total: 500,
      error: expect.stringMatching(/failed: InternalServerError: simulated processing failure/),
    });

    const again = await runCli(['backfill', INTEGRATION, '--config', file], {}, 60_000);
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toContain('Case 500 record(s) (Bulk API 2.0) (resumed) queued');
    const done = await readBackfillCheckpoint(h.bridge.redis.redis, h.bridge.redis.prefix, INTEGRATION, 'Case');
    expect(done?.lastError).toBeUndefined();
    expect(done?.finishedAt).toBeDefined();
    expect(await queuedJobs()).toBe(2);
  }, 120_000);
});
