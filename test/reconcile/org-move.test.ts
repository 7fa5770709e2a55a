/**
 * Moving an integration to another org never deletes the old org's comments: after the move the id
 * sweep holds no id of the old org, so records the new org does not have are not taken for deleted.
 */
import { afterEach, expect, it } from 'vitest';
import { ReconcileState } from '../../src/reconcile/index.ts';
import { SECOND_ORG_ID, SECOND_ORG_USER } from '@sf-cm-bridge/sandbox/org';
import { buildApp } from '../../src/server/app.ts';
import { completeFlow } from '../helpers/oauth.ts';
import { eventually } from '../helpers/redis.ts';
import { INTEGRATION, startReconcileHarness, type ReconcileHarness } from './harness.ts';

const OBJECTS = `      EmailMessage:
        comment:
          body: TextBody`;

let h: ReconcileHarness;
afterEach(async () => {
  await h.close();
});

it("after a move to another org, the id sweep leaves the old org's comments alone", async () => {
  h = await startReconcileHarness({ objects: OBJECTS, reconcile: '{ every: 1h, lookback: 60s }' });
  await h.startWorker();
  const reconciler = await h.startReconciler();
  const store = h.bridge.org.store;
  const state = new ReconcileState(h.bridge.redis.redis, h.bridge.redis.prefix, INTEGRATION);
  const sweep = async () => {
    const before = await state.lastRunAt('EmailMessage', 'lastSweepAt');
    await reconciler.sweepNow(INTEGRATION, 'EmailMessage');
    await eventually(async () => (await state.lastRunAt('EmailMessage', 'lastSweepAt')) !== before, 10_000);
  };
  const records = ['control', 'kept-1', 'kept-2'].map((text) =>
    store.create('EmailMessage', { TextBody: text, Incoming: true }),
  );
  await eventually(() => records.every((record) => h.body(record.Id) !== undefined), 10_000);

  // Control: in the bound org, a purged record's comment is deleted by the sweep.
  const [control, ...kept] = records;
  store.delete(String(control?.Id), { silent: true });
  store.purge(String(control?.Id));
  await sweep();
  await eventually(() => h.body(control?.Id) === undefined, 10_000);

  // The admin moves the integration to the second org (disconnect first, then authorise there).
  await h.bridge.context.tokens.disconnect(INTEGRATION);
  const app = await buildApp(h.bridge.context);
  try {
    const moved = await completeFlow(app, undefined, SECOND_ORG_USER.username);
    expect(moved.statusCode).toBe(200);
    expect(moved.body).toContain('moved from org');
  } finally {
    await app.close();
  }
  expect((await h.bridge.context.tokens.store.status(INTEGRATION)).org).toBe(SECOND_ORG_ID);

  // The new org has none of the old org's records; the sweep must not delete their comments.
  for (const record of kept) {
    store.delete(String(record.Id), { silent: true });
    store.purge(String(record.Id));
  }
  await sweep();
  const queue = h.bridge.context.queues.get(INTEGRATION)?.queue;
  await eventually(async () => (await queue?.count()) === 0 && (await queue?.getActiveCount()) === 0, 10_000);
  for (const record of kept) expect(h.body(record.Id)).toBeDefined();
});
