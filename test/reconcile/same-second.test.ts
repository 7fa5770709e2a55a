/**
 * Two states of a record within one second of Salesforce's clock, with the bridge host's clock ten
 * minutes off either way: the source ends in the latest state, through change events and through
 * reconciliation alike (docs/record-register.md). The sandbox org runs on its own clock; the bridge
 * runs on the host's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ChangeQueue } from '../../src/queue/change-queue.ts';
import type { ChangeJob } from '../../src/model/change.ts';
import { eventually } from '../helpers/redis.ts';
import { INTEGRATION, orgClock, startReconcileHarness, type ReconcileHarness } from './harness.ts';

const OBJECTS = `      Case:
        where: "Status != 'Closed'"
        comment:
          subject: Subject
          body: Description`;

const TEN_MINUTES = 10 * 60_000;

describe.each([
  ['ahead of', TEN_MINUTES],
  ['behind', -TEN_MINUTES],
])('the same second on Salesforce, the host clock ten minutes %s it', (_label, orgOffsetMs) => {
  let h: ReconcileHarness;
  let queue: ChangeQueue | undefined;
  const clock = orgClock();

  afterEach(async () => {
    clock.run(orgOffsetMs);
    await queue?.close();
    queue = undefined;
    await h.close();
  });

  async function start(options: { reconciler: boolean }) {
    clock.run(orgOffsetMs);
    h = await startReconcileHarness({ objects: OBJECTS, org: { now: clock.now } });
    await h.startWorker();
    if (options.reconciler) await h.startReconciler();
    queue = new ChangeQueue(h.bridge.redis.redis, h.bridge.redis.prefix, INTEGRATION);
  }

  const store = () => h.bridge.org.store;
  let sequence = 0;
  /** A change event as the subscriber turns it into a job (commit time on the org's clock). */
  const event = (id: string, kind: ChangeJob['kind']) =>
    (queue as ChangeQueue).enqueue(
      [
        {
          integration: INTEGRATION,
          object: 'Case',
          recordId: id,
          kind,
          origin: 'cdc',
          channel: '/data/CaseChangeEvent',
          replayId: ++sequence,
          commitTimestamp: clock.now(),
          enqueuedAt: Date.now(),
        },
      ],
      () => `e${sequence}`,
    );
  /** Hold the org's clock `ms` into a fresh second (every change until `release` shares that second). */
  const holdSecond = (ms: number) => {
    const second = Math.floor(clock.now() / 1000) * 1000 + 1000;
    clock.freeze(second + ms);
    return (next: number) => clock.freeze(second + next);
  };
  const release = () => clock.run(orgOffsetMs);
  const create = async (text: string) => {
    const id = String(store().create('Case', { Subject: 'S', Description: text, Status: 'New' }, { silent: true }).Id);
    await event(id, 'CREATE');
    await eventually(() => h.body(id) === text, 10_000);
    return id;
  };

  it('delete + undelete in one second, with events: the record comes back', async () => {
    await start({ reconciler: false });
    const id = await create('kept');
    const at = holdSecond(100);
    store().delete(id);
    await event(id, 'DELETE');
    await eventually(() => h.body(id) === undefined, 10_000);
    at(700);
    store().undelete(id);
    await event(id, 'UNDELETE');
    release();
    await eventually(() => h.body(id) === 'kept', 10_000);
  });

  it('delete + undelete in one second, silently: reconciliation brings the record back', async () => {
    await start({ reconciler: true });
    const id = await create('kept');
    const at = holdSecond(100);
    store().delete(id, { silent: true });
    await eventually(() => h.body(id) === undefined, 10_000);
    at(800);
    store().undelete(id, { silent: true });
    release();
    await eventually(() => h.body(id) === 'kept', 10_000);
  });

  it('update + delete in one second: the comment is deleted', async () => {
    await start({ reconciler: false });
    const id = await create('v1');
    const at = holdSecond(200);
    store().update(id, { Description: 'v2' });
    await event(id, 'UPDATE');
    await eventually(() => h.body(id) === 'v2', 10_000);
    at(900);
    store().delete(id);
    await event(id, 'DELETE');
    release();
    await eventually(() => h.body(id) === undefined, 10_000);
    // A late duplicate of the update is fetched and finds the record gone: still deleted.
    await event(id, 'UPDATE');
    await event(id, 'DELETE');
    const comments = await eventually(
      async () =>
        (await (queue as ChangeQueue).backlog()) === 0 ? h.cm.control.comments('acme', 'emails') : undefined,
      10_000,
    );
    expect(comments.map((c) => c.comment.id)).not.toContain(id);
  });

  it('an undelete after a delete that reconciliation found comes back', async () => {
    await start({ reconciler: true });
    const id = await create('restored');
    store().delete(id, { silent: true });
    await eventually(() => h.body(id) === undefined, 10_000);
    store().undelete(id, { silent: true });
    await eventually(() => h.body(id) === 'restored', 10_000);
  });

  it('out of scope and back within one second: the record is in the source', async () => {
    await start({ reconciler: true });
    const id = await create('in scope');
    const at = holdSecond(50);
    store().update(id, { Status: 'Closed' });
    await event(id, 'UPDATE');
    await eventually(() => h.body(id) === undefined, 10_000);
    at(950);
    store().update(id, { Status: 'New' }, { silent: true });
    release();
    // No event for the way back: reconciliation finds it.
    await eventually(() => h.body(id) === 'in scope', 10_000);
  });
});
