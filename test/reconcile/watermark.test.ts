/**
 * Watermark reconciliation (docs/salesforce.md#systemmodstamp-watermarks): changes that made no CDC
 * event reach Communications Mining through SOQL, within one period, exactly once, with no tie or late
 * commit skipped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { integrationKeys } from '../../src/store/keys.ts';
import { ReconcileState } from '../../src/reconcile/index.ts';
import { eventually } from '../helpers/redis.ts';
import { INTEGRATION, orgClock, startReconcileHarness, type ReconcileHarness } from './harness.ts';

const OBJECTS = `      EmailMessage:
        where: "Incoming = true"
        comment:
          subject: Subject
          body: TextBody
          properties:
            Case Priority: Parent.Priority
      CaseComment:
        mode: poll
        comment:
          thread: ParentId
          body: CommentBody
      Case:
        comment:
          subject: Subject
          body: Description`;

describe('watermark reconciliation', () => {
  let h: ReconcileHarness;

  afterEach(async () => {
    await h.close();
  });

  const state = () => new ReconcileState(h.bridge.redis.redis, h.bridge.redis.prefix, INTEGRATION);
  /** Resolves once `object` was reconciled `runs` more times. */
  async function afterRuns(object: string, runs: number, timeoutMs = 10_000): Promise<void> {
    for (let i = 0; i < runs; i++) {
      const before = await state().lastRunAt(object, 'lastReconcileAt');
      await eventually(async () => (await state().lastRunAt(object, 'lastReconcileAt')) !== before, timeoutMs);
    }
  }

  it('silent changes (no CDC event) are found within one period and pushed once; unchanged records are not pushed again', async () => {
    h = await startReconcileHarness({ objects: OBJECTS });
    await h.startWorker();
    await h.startReconciler();
    const store = h.bridge.org.store;
    const parent = store.create(
      'Case',
      { Subject: 'Broken', Description: 'Screen cracked', Priority: 'High' },
      { silent: true },
    );
    const email = store.create(
      'EmailMessage',
      { Subject: 'Re', TextBody: 'Photo attached', ParentId: String(parent.Id), Incoming: true },
      { silent: true },
    );

    await eventually(() => h.body(email.Id) === 'Photo attached' && h.body(parent.Id) === 'Screen cracked', 10_000);
    expect(h.cm.control.comment('acme', 'emails', String(email.Id))?.comment.user_properties).toEqual({
      'string:Case Priority': 'High',
    });
    expect(
      await h.bridge.redis.redis.hget(
        integrationKeys(h.bridge.redis.prefix, INTEGRATION).objectState('EmailMessage'),
        'lastReconcileAt',
      ),
    ).toMatch(/^\d{4}-/);

    store.update(String(email.Id), { TextBody: 'Second photo' }, { silent: true });
    await eventually(() => h.body(email.Id) === 'Second photo', 10_000);
    // Later runs re-read the lookback window: nothing new is pushed.
    await afterRuns('EmailMessage', 3);
    await afterRuns('Case', 1);
    expect(h.cm.control.history({ commentId: String(email.Id) })).toHaveLength(2);
    expect(h.cm.control.history({ commentId: String(parent.Id) })).toHaveLength(1);
  });

  it('ties on SystemModstamp across slice and page boundaries are never skipped', async () => {
    const clock = orgClock();
    h = await startReconcileHarness({ objects: OBJECTS, org: { now: clock.now, maxBatchSize: 200 } });
    // 450 records in one second: slices of 150 rows end inside the tie, pages of 200 too.
    clock.freeze(Math.floor(Date.now() / 1000) * 1000 + 1000);
    const ids = h.bridge.org.store.transaction((tx) =>
      Array.from({ length: 450 }, (_, i) =>
        String(tx.create('Case', { Subject: `Tie ${i}`, Description: `tie ${i}` }, { silent: true }).Id),
      ),
    );
    clock.run();
    await h.startWorker();
    await h.startReconciler({ requestPollMs: 100, rowsPerQuery: 150 });
    await eventually(() => ids.every((id, i) => h.body(id) === `tie ${i}`), 15_000);
    expect(h.cm.control.comments('acme', 'emails')).toHaveLength(450);
  });

  it('a late commit stamped before the watermark, within the lookback, is found', async () => {
    const clock = orgClock();
    h = await startReconcileHarness({ objects: OBJECTS, org: { now: clock.now } });
    await h.startWorker();
    await h.startReconciler();
    const store = h.bridge.org.store;
    const first = store.create('Case', { Subject: 'First', Description: 'first' }, { silent: true });
    await eventually(() => h.body(first.Id) === 'first', 10_000);
    const watermark = await state().watermark('Case');
    expect(watermark).toBeDefined();

    // A long transaction that started 30 s ago commits now: its SystemModstamp is behind the watermark.
    clock.run(-30_000);
    const late = store.create('Case', { Subject: 'Late', Description: 'late commit' }, { silent: true });
    clock.run();
    expect(Date.parse(String(late.SystemModstamp))).toBeLessThan(watermark ?? 0);
    await eventually(() => h.body(late.Id) === 'late commit', 10_000);
  });

  it('a poll-mode object (CaseComment, no CDC) flows only through reconciliation', async () => {
    h = await startReconcileHarness({ objects: OBJECTS });
    await h.startWorker();
    await h.startReconciler();
    const store = h.bridge.org.store;
    const parent = store.create('Case', { Subject: 'S', Description: 'case' }, { silent: true });
    const comment = store.create('CaseComment', { ParentId: String(parent.Id), CommentBody: 'Called the customer' });
    await eventually(() => h.body(comment.Id) === 'Called the customer', 10_000);
    expect(h.cm.control.comment('acme', 'emails', String(comment.Id))?.comment.thread_id).toBe(parent.Id);
    store.update(String(comment.Id), { CommentBody: 'Called again' });
    await eventually(() => h.body(comment.Id) === 'Called again', 10_000);
    store.delete(String(comment.Id));
    await eventually(() => h.body(comment.Id) === undefined, 10_000);
  });

  it('a parent change without any child change re-sends the child with the new Parent.X property (parent neither configured nor streamed)', async () => {
    const objects = OBJECTS.split('      Case:')[0] ?? OBJECTS; // EmailMessage and CaseComment only
    h = await startReconcileHarness({ objects: objects.trimEnd() });
    await h.startWorker();
    await h.startReconciler();
    const store = h.bridge.org.store;
    const parent = store.create('Case', { Subject: 'S', Description: 'd', Priority: 'High' }, { silent: true });
    const email = store.create(
      'EmailMessage',
      { Subject: 'Re', TextBody: 'hello', ParentId: String(parent.Id), Incoming: true },
      { silent: true },
    );
    const properties = () => h.cm.control.comment('acme', 'emails', String(email.Id))?.comment.user_properties;
    await eventually(() => properties()?.['string:Case Priority'] === 'High', 10_000);
    const emailStamp = store.get(String(email.Id))?.SystemModstamp;

    store.update(String(parent.Id), { Priority: 'Low' }, { silent: true });
    await eventually(() => properties()?.['string:Case Priority'] === 'Low', 10_000);
    expect(store.get(String(email.Id))?.SystemModstamp).toBe(emailStamp);
    expect(h.cm.control.comment('acme', 'emails', String(parent.Id))).toBeUndefined();
  });

  it('soft deletes and scope exits delete the comment; a purged record is deleted by the id sweep', async () => {
    h = await startReconcileHarness({ objects: OBJECTS });
    await h.startWorker();
    const reconciler = await h.startReconciler();
    const store = h.bridge.org.store;
    const make = (text: string) =>
      store.create('EmailMessage', { Subject: 'S', TextBody: text, Incoming: true }, { silent: true });
    const [deleted, leaving, purged, staying] = [make('deleted'), make('leaving'), make('purged'), make('staying')];
    await eventually(
      () =>
        ['deleted', 'leaving', 'purged', 'staying'].every(
          (text, i) => h.body([deleted, leaving, purged, staying][i]?.Id) === text,
        ),
      10_000,
    );

    store.delete(String(deleted.Id), { silent: true });
    store.update(String(leaving.Id), { Incoming: false }, { silent: true });
    store.delete(String(purged.Id), { silent: true });
    store.purge(String(purged.Id)); // gone beyond the recycle bin: queryAll cannot see it
    await eventually(() => h.body(deleted.Id) === undefined && h.body(leaving.Id) === undefined, 10_000);
    await afterRuns('EmailMessage', 2);
    expect(h.body(purged.Id)).toBe('purged');

    await reconciler.sweepNow(INTEGRATION, 'EmailMessage');
    await eventually(() => h.body(purged.Id) === undefined, 10_000);
    expect(h.body(staying.Id)).toBe('staying');
  });

  it('a reconcile request from the subscriber widens the window to its since and is consumed', async () => {
    const clock = orgClock();
    h = await startReconcileHarness({ objects: OBJECTS, org: { now: clock.now } });
    await h.startWorker();
    await h.startReconciler();
    const store = h.bridge.org.store;
    const recent = store.create('Case', { Subject: 'S', Description: 'recent' }, { silent: true });
    await eventually(() => h.body(recent.Id) === 'recent', 10_000);
    // Missed by the stream 10 minutes ago: far behind watermark − lookback.
    clock.run(-10 * 60_000);
    const missed = store.create('Case', { Subject: 'S', Description: 'missed' }, { silent: true });
    clock.run();
    await afterRuns('Case', 1);
    expect(h.body(missed.Id)).toBeUndefined();

    const { StreamStatus } = await import('../../src/subscriber/stream-status.ts');
    await new StreamStatus(h.bridge.redis.redis, h.bridge.redis.prefix, INTEGRATION).requestReconcile(
      'Case',
      Date.now() - 15 * 60_000,
      'replay id 42 was no longer retained',
    );
    await eventually(() => h.body(missed.Id) === 'missed', 10_000);
    await eventually(async () => (await state().pendingRequest('Case')) === undefined, 5_000);
  });

  it('two reconcilers (two worker processes) make one run per object per period', async () => {
    h = await startReconcileHarness({ objects: OBJECTS });
    await h.startWorker();
    const first = await h.startReconciler();
    await h.startReconciler();
    const queue = first.integrations.get(INTEGRATION)?.queue;
    if (!queue) throw new Error('no reconcile queue');
    const started = Date.now();
    const scheduledRuns = async () =>
      (await queue.getJobs(['completed'])).filter(
        (job) => job.data.kind === 'reconcile' && job.data.object === 'Case' && job.data.trigger === 'schedule',
      );
    await eventually(async () => (await scheduledRuns()).length >= 5, 15_000);
    const runs = await scheduledRuns();
    const periods = (Date.now() - started) / 1000;
    expect(runs.length).toBeLessThanOrEqual(Math.ceil(periods) + 2);
    expect(new Set(runs.map((job) => job.id)).size).toBe(runs.length);
    const schedulers = (await queue.getJobSchedulers()).map((s) => s.id ?? s.key);
    expect(schedulers.filter((id) => id === 'reconcile|Case')).toHaveLength(1);
  });
});
