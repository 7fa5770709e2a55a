/**
 * Where streaming alone would lose data, reconciliation makes the source complete:
 * - the stored replay id fell out of retention while the subscriber was down
 *   (docs/salesforce.md#replay-ids-and-retention, #pitfall-14-replay-window-passes-during-an-outage);
 * - a 20k-record backfill killed with SIGKILL resumes from its checkpoint and converges.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { integrationKeys } from '../../src/store/keys.ts';
import { ReconcileState } from '../../src/reconcile/index.ts';
import { authorise } from '../helpers/oauth.ts';
import { startSubscriberRole, type SubscriberRole } from '../../src/roles/subscriber.ts';
import { bridgeConfigYaml } from '../helpers/bridge.ts';
import { runCli, startCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/redis.ts';
import { FAST, subscribed, TRANSPORTS } from '../subscriber/harness.ts';
import { INTEGRATION, startReconcileHarness, type ReconcileHarness } from './harness.ts';

const CASES = `      Case:
        comment:
          subject: Subject
          body: Description`;

describe('catch-up by reconciliation', () => {
  let h: ReconcileHarness;
  afterEach(async () => {
    await h.close();
  });

  it.each(TRANSPORTS)(
    'an expired replay id after an outage (%s): resubscribe at the tip and reconcile the gap; everything converges',
    async (transport) => {
      h = await startReconcileHarness({
        objects: CASES,
        reconcile: '{ every: 1h, lookback: 5s }',
        org: { cometdTimeoutSeconds: 1 },
        pubsub: transport === 'pubsub',
      });
      await h.startWorker();
      await h.startReconciler();
      const org = h.bridge.org;
      let subscriber: SubscriberRole = await startSubscriberRole(h.bridge.context, h.shutdown, FAST);
      await subscribed(subscriber, ['/data/CaseChangeEvent']);
      const first = org.store.create('Case', { Subject: 'before', Description: 'before the outage' });
      await eventually(() => h.body(first.Id) === 'before the outage', 10_000);

      await subscriber.close();
      // During the outage: changes with events that then fall out of retention.
      const missed = Array.from({ length: 20 }, (_, i) =>
        String(org.store.create('Case', { Subject: `m${i}`, Description: `missed ${i}` }).Id),
      );
      org.store.update(String(first.Id), { Description: 'changed during the outage' });
      org.events.purge();

      subscriber = await startSubscriberRole(h.bridge.context, h.shutdown, FAST);
      await subscribed(subscriber, ['/data/CaseChangeEvent']);
      const after = org.store.create('Case', { Subject: 'after', Description: 'after the outage' });

      await eventually(
        () =>
          missed.every((id, i) => h.body(id) === `missed ${i}`) &&
          h.body(first.Id) === 'changed during the outage' &&
          h.body(after.Id) === 'after the outage',
        20_000,
        100,
      );
      const state = await h.bridge.redis.redis.hgetall(
        integrationKeys(h.bridge.redis.prefix, INTEGRATION).objectState('Case'),
      );
      expect(state.lastReconcileAt).toBeDefined();
      await subscriber.close();
    },
    45_000,
  );

  it('re-authorising reconciles the poll-mode objects at once (no subscriber asks for them)', async () => {
    h = await startReconcileHarness({
      objects: `      CaseComment:
        mode: poll
        comment: { body: CommentBody, thread: ParentId }`,
      reconcile: '{ every: 1h, lookback: 5s }',
    });
    await h.startWorker();
    await h.startReconciler();
    const state = new ReconcileState(h.bridge.redis.redis, h.bridge.redis.prefix, INTEGRATION);
    await eventually(async () => (await state.lastRunAt('CaseComment', 'lastReconcileAt')) !== undefined, 10_000);
    const parent = h.bridge.org.store.create('Case', { Subject: 'p' }, { silent: true });
    const comment = h.bridge.org.store.create(
      'CaseComment',
      { ParentId: String(parent.Id), CommentBody: 'added while nobody polled' },
      { silent: true },
    );
    await authorise(h.bridge.context);
    await eventually(() => h.body(comment.Id) === 'added while nobody polled', 10_000);
  });

  it('a 20k-record backfill killed with SIGKILL resumes from its checkpoint and converges', async () => {
    h = await startReconcileHarness({
      objects: CASES,
      reconcile: '{ every: 1h, lookback: 5s }',
      org: { maxBatchSize: 500 },
    });
    const org = h.bridge.org;
    const ids = org.store.transaction((tx) =>
      Array.from({ length: 20_000 }, (_, i) =>
        String(tx.create('Case', { Subject: `old ${i}`, Description: `existing ${i}` }, { silent: true }).Id),
      ),
    );
    const file = join(mkdtempSync(join(tmpdir(), 'sfcm-backfill-')), 'bridge.yaml');
    writeFileSync(
      file,
      bridgeConfigYaml(org.url, h.bridge.redis.prefix, {
        cmUrl: h.cm.url,
        cmToken: 'cm-reconcile-token',
        objects: CASES,
      }),
    );
    const checkpointKey = integrationKeys(h.bridge.redis.prefix, INTEGRATION).backfill('Case');

    const first = startCli(['backfill', 'acme/emails', '--config', file], { LOG_LEVEL: 'warn' });
    // Kill it once its first slice is checkpointed, before it finishes.
    await eventually(
      async () => Number((await h.bridge.redis.redis.hget(checkpointKey, 'enqueued')) ?? 0) > 0,
      30_000,
      10,
    );
    first.kill('SIGKILL');
    await first.exited;
    const atKill = await h.bridge.redis.redis.hgetall(checkpointKey);
    expect(Number(atKill.enqueued)).toBeLessThan(20_000);
    expect(atKill.finishedAt).toBeUndefined();

    const second = await runCli(['backfill', 'acme/emails', '--config', file], { LOG_LEVEL: 'warn' }, 60_000);
    expect(second.code).toBe(0);
    expect(Number(await h.bridge.redis.redis.hget(checkpointKey, 'enqueued'))).toBe(20_000);

    await h.startWorker();
    await eventually(() => h.cm.control.comments('acme', 'emails').length === 20_000, 60_000, 200);
    expect(ids.every((id, i) => h.body(id) === `existing ${i}`)).toBe(true);
  }, 120_000);
});
