/**
 * Backfill (resumable, admin API, first authorisation) and the API budget governor
 * (docs/salesforce.md#api-limits-and-sforce-limit-info, docs/salesforce.md#rest-errors): high usage
 * stretches reconciliation and defers backfill; REQUEST_LIMIT_EXCEEDED pauses and the work resumes once
 * the allocation recovers, without crashing anything.
 */
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { backfillCommand } from '../../src/cli/backfill.ts';
import { backfillObjects, parseBackfillArgs } from '../../src/cli/backfill-run.ts';
import { UsageError } from '../../src/errors.ts';
import { integrationKeys } from '../../src/store/keys.ts';
import { ApiBudget, readBackfillCheckpoint, ReconcileState } from '../../src/reconcile/index.ts';
import { reconcileRoutes } from '../../src/server/routes/reconcile.ts';
import { ADMIN_TOKEN } from '../helpers/bridge.ts';
import { eventually } from '../helpers/redis.ts';
import { INTEGRATION, orgClock, startReconcileHarness, type ReconcileHarness } from './harness.ts';

const CASES = `      Case:
        comment:
          subject: Subject
          body: Description`;

describe('backfill', () => {
  let h: ReconcileHarness;
  afterEach(async () => {
    await h.close();
  });

  it('resumes from its checkpoint after an interruption, re-reading nothing before it, and converges', async () => {
    h = await startReconcileHarness({
      objects: CASES,
      reconcile: '{ every: 1h, lookback: 60s }',
      org: { maxBatchSize: 200 },
    });
    const ids = h.bridge.org.store.transaction((tx) =>
      Array.from({ length: 1000 }, (_, i) =>
        String(tx.create('Case', { Subject: `Old ${i}`, Description: `old ${i}` }, { silent: true }).Id),
      ),
    );
    const integration = h.bridge.config.integrations[0];
    if (!integration) throw new Error('no integration');
    const abort = new AbortController();
    const interrupted = backfillObjects(h.bridge.context, integration, integration.objects, null, {
      rowsPerQuery: 200,
      signal: abort.signal,
      onProgress: (p) => p.enqueued >= 400 && abort.abort(new Error('killed')),
    });
    await expect(interrupted).rejects.toThrow('killed');
    const checkpoint = await readBackfillCheckpoint(h.bridge.redis.redis, h.bridge.redis.prefix, INTEGRATION, 'Case');
    expect(checkpoint).toMatchObject({ enqueued: 400, since: null });
    expect(checkpoint?.finishedAt).toBeUndefined();

    const queriesBefore = h.bridge.org.counters().rest.calls.query ?? 0;
    const [total] = await backfillObjects(h.bridge.context, integration, integration.objects, null, {
      rowsPerQuery: 200,
    });
    expect(total).toEqual({ object: 'Case', enqueued: 1000, resumed: true, mode: 'rest' });
    // 600 rows left: three full slices and one empty one; from scratch it would be six.
    expect((h.bridge.org.counters().rest.calls.query ?? 0) - queriesBefore).toBe(4);

    await h.startWorker();
    await eventually(() => ids.every((id, i) => h.body(id) === `old ${i}`), 20_000);
    expect(h.cm.control.comments('acme', 'emails')).toHaveLength(1000);
  });

  it('is started from the admin API and runs on a worker; bad requests get 400/401/404', async () => {
    h = await startReconcileHarness({ objects: CASES, reconcile: '{ every: 1h, lookback: 60s }' });
    const old = h.bridge.org.store.create(
      'Case',
      { Subject: 'Old', Description: 'before authorisation' },
      { silent: true },
    );
    await h.startWorker();
    await h.startReconciler();
    const app = Fastify();
    await app.register(reconcileRoutes, { ...h.bridge.context, prefix: '/api' });
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    try {
      expect((await app.inject({ method: 'POST', url: '/api/integrations/acme/emails/backfill' })).statusCode).toBe(
        401,
      );
      expect(
        (await app.inject({ method: 'POST', url: '/api/integrations/acme/nope/backfill', headers: auth })).statusCode,
      ).toBe(404);
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/api/integrations/acme/emails/backfill',
            headers: auth,
            payload: { object: 'Task' },
          })
        ).statusCode,
      ).toBe(404);
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/api/integrations/acme/emails/backfill',
            headers: auth,
            payload: { since: 'yesterday' },
          })
        ).statusCode,
      ).toBe(400);
      const started = await app.inject({
        method: 'POST',
        url: '/api/integrations/acme/emails/backfill',
        headers: auth,
        payload: { object: 'Case' },
      });
      expect(started.statusCode).toBe(202);
      expect(started.json()).toMatchObject({ integration: INTEGRATION, backfill: ['Case'], since: null });
      await eventually(() => h.body(old.Id) === 'before authorisation', 10_000);

      h.bridge.org.store.update(String(old.Id), { Description: 'changed silently' }, { silent: true });
      const reconcile = await app.inject({
        method: 'POST',
        url: '/api/integrations/acme/emails/reconcile',
        headers: auth,
        payload: {},
      });
      expect(reconcile.statusCode).toBe(202);
      await eventually(() => h.body(old.Id) === 'changed silently', 10_000);
    } finally {
      await app.close();
    }
  });

  it('objects with `backfill: 30d` are loaded automatically on first authorisation, within that window only', async () => {
    const clock = orgClock();
    h = await startReconcileHarness({
      objects: `      Case:
        backfill: 30d
        comment:
          body: Description`,
      reconcile: '{ every: 1h, lookback: 60s }',
      org: { now: clock.now },
    });
    clock.run(-10 * 86_400_000);
    const recent = h.bridge.org.store.create('Case', { Subject: 'S', Description: '10 days old' }, { silent: true });
    clock.run(-40 * 86_400_000);
    const ancient = h.bridge.org.store.create('Case', { Subject: 'S', Description: '40 days old' }, { silent: true });
    clock.run();
    await h.startWorker();
    await h.startReconciler();
    await eventually(() => h.body(recent.Id) === '10 days old', 10_000);
    await eventually(
      async () =>
        (await readBackfillCheckpoint(h.bridge.redis.redis, h.bridge.redis.prefix, INTEGRATION, 'Case'))?.finishedAt,
      5_000,
    );
    expect(h.body(ancient.Id)).toBeUndefined();
  });
});

describe('backfill command', () => {
  it('the command takes <project>/<integration>, --object and --since, and rejects bad usage (exit 2)', () => {
    expect(backfillCommand.usage).toBe(
      'sf-cm-bridge backfill <project>/<integration> [--object X] [--since ISO] [--config FILE]',
    );
    expect(backfillCommand.help).toContain('--since');
    expect(parseBackfillArgs({ object: 'Case', since: '2024-05-01T00:00:00Z' }, ['acme/emails'])).toEqual({
      integration: 'acme/emails',
      object: 'Case',
      since: Date.parse('2024-05-01T00:00:00Z'),
    });
    expect(parseBackfillArgs({ since: '30d' }, ['acme/emails'], 40 * 86_400_000).since).toBe(10 * 86_400_000);
    expect(() => parseBackfillArgs({}, [])).toThrow(UsageError);
    expect(() => parseBackfillArgs({}, ['acme'])).toThrow(/not <project>\/<integration>/);
    expect(() => parseBackfillArgs({ since: 'last tuesday' }, ['acme/emails'])).toThrow(UsageError);
  });
});

describe('API budget governor', () => {
  let h: ReconcileHarness;
  afterEach(async () => {
    await h.close();
  });

  it('above 80 % of the daily allocation, scheduled reconciliation is stretched and backfill deferred', async () => {
    h = await startReconcileHarness({ objects: CASES });
    const reconciler = await h.startReconciler();
    const queue = reconciler.integrations.get(INTEGRATION)?.queue;
    if (!queue) throw new Error('no queue');
    await eventually(() => h.bridge.org.counters().rest.apiUsage.used >= 7, 10_000);
    // After the next run (two queries) the org reports a usage of 80–85 %, with calls to spare.
    h.bridge.org.rest.setDailyApiLimit(Math.ceil((h.bridge.org.counters().rest.apiUsage.used + 2) / 0.85));
    const stretched = async () =>
      (await queue.getJobs(['completed'])).filter(
        (job) => job.data.trigger === 'schedule' && job.returnvalue.reason?.includes('stretched'),
      );
    await eventually(async () => (await stretched()).length >= 2, 10_000);
    const usage = await h.bridge.redis.redis.hgetall(integrationKeys(h.bridge.redis.prefix, INTEGRATION).apiUsage());
    expect(Number(usage.used) / Number(usage.max)).toBeGreaterThanOrEqual(0.8);

    const integration = h.bridge.config.integrations[0];
    if (!integration) throw new Error('no integration');
    const deferred: string[] = [];
    const abort = new AbortController();
    await expect(
      backfillObjects(h.bridge.context, integration, integration.objects, null, {
        budget: { deferMs: 50 },
        signal: abort.signal,
        onDeferred: (_object, reason) => {
          deferred.push(reason);
          abort.abort(new Error('stop waiting'));
        },
      }),
    ).rejects.toThrow('stop waiting');
    expect(deferred[0]).toMatch(/backfill deferred/);
  });

  it('REQUEST_LIMIT_EXCEEDED pauses reconciliation without crashing, and it resumes when the allocation recovers', async () => {
    h = await startReconcileHarness({ objects: CASES });
    await h.startWorker();
    const reconciler = await h.startReconciler();
    const state = new ReconcileState(h.bridge.redis.redis, h.bridge.redis.prefix, INTEGRATION);
    await eventually(async () => (await state.lastRunAt('Case', 'lastReconcileAt')) !== undefined, 10_000);

    h.bridge.org.rest.setDailyApiLimit(h.bridge.org.counters().rest.apiUsage.used);
    const missed = h.bridge.org.store.create(
      'Case',
      { Subject: 'S', Description: 'during the outage' },
      { silent: true },
    );
    await reconciler.runNow(INTEGRATION, 'Case');
    const objectState = () =>
      h.bridge.redis.redis.hgetall(integrationKeys(h.bridge.redis.prefix, INTEGRATION).objectState('Case'));
    await eventually(async () => (await objectState()).reconcileError?.includes('REQUEST_LIMIT_EXCEEDED'), 10_000);
    const budget = new ApiBudget(h.bridge.redis.redis, h.bridge.redis.prefix, INTEGRATION);
    expect((await budget.reading())?.pausedUntil).toBeGreaterThan(0);
    expect(h.body(missed.Id)).toBeUndefined();

    h.bridge.org.rest.resetApiUsage();
    h.bridge.org.rest.setDailyApiLimit(100_000);
    await eventually(() => h.body(missed.Id) === 'during the outage', 15_000);
    await eventually(async () => (await objectState()).reconcileError === undefined, 5_000);
    expect((await budget.reading())?.pausedUntil).toBeUndefined();
  });
});
