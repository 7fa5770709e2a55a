/**
 * The subscriber's core promise against the sandbox org and real Redis: every CDC event becomes change
 * jobs in BullMQ, and the channel's durable position moves only after they are enqueued
 * (docs/salesforce.md#replay-ids-and-retention, #recommended-subscriber-loop;
 * docs/salesforce.md#change-event-format for the event shapes).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChangeEventPayload } from '@sf-cm-bridge/sandbox/org';
import { integrationKeys } from '../../src/store/keys.ts';
import { eventually } from '../helpers/redis.ts';
import {
  CASE_CHANNEL,
  EMAIL_CHANNEL,
  INTEGRATION,
  jobsInQueue,
  startSubscriberHarness,
  subscribed,
  TRANSPORTS,
  type SubscriberHarness,
} from './harness.ts';

describe.each(TRANSPORTS)('subscriber stream over %s', (transport) => {
  let h: SubscriberHarness;

  beforeEach(async () => {
    h = await startSubscriberHarness({}, transport);
  });

  afterEach(async () => {
    await h.close();
  });

  it('first start subscribes at the tip (-1, LATEST) and requests a reconciliation from before the subscribe', async () => {
    const before = Date.now();
    const role = await h.startRole();
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);

    const tip = transport === 'cometd' ? -1 : 'LATEST';
    expect([h.lastStart(CASE_CHANNEL), h.lastStart(EMAIL_CHANNEL)]).toEqual([tip, tip]);
    for (const object of ['EmailMessage', 'Case']) {
      const request = await h.reconcileRequest(object);
      expect(Date.parse(request?.since ?? '')).toBeLessThan(before);
    }
    // Poll objects are not streamed.
    expect(await h.reconcileRequest('CaseComment')).toBeUndefined();
  });

  it('a restart resumes from the checkpoint and enqueues only later events', async () => {
    const first = await h.startRole();
    await subscribed(first, [EMAIL_CHANNEL, CASE_CHANNEL]);
    h.org.store.create('Case', { Subject: 'one' });
    await jobsInQueue(h, 1);
    const checkpoint = await eventually(() => h.position(CASE_CHANNEL));
    await first.close();

    // Changes while no subscriber runs.
    const missed = h.org.store.create('Case', { Subject: 'while stopped' });
    const second = await h.startRole();
    await subscribed(second, [EMAIL_CHANNEL, CASE_CHANNEL]);
    expect(h.lastStart(CASE_CHANNEL)).toBe(checkpoint);

    const jobs = await jobsInQueue(h, 2);
    expect(jobs).toHaveLength(2);
    expect(jobs[1]).toMatchObject({ recordId: missed.Id, kind: 'CREATE' });
    expect(await eventually(async () => (await h.position(CASE_CHANNEL)) === h.org.events.lastReplayId())).toBe(true);
  });

  it('a merged event becomes one job per record id', async () => {
    const role = await h.startRole();
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);
    const a = h.org.store.create('Case', { Subject: 'a' });
    const b = h.org.store.create('Case', { Subject: 'b' });
    await jobsInQueue(h, 2);

    const merged = h.org.events.appendMerged('Case', 'UPDATE', [String(a.Id), String(b.Id)], { Status: 'Closed' });
    const jobs = await jobsInQueue(h, 4);
    expect(merged).toBeDefined();
    // The two jobs after the creates' (replay ids are opaque over Pub/Sub, so matched by position).
    const fromMerged = jobs.slice(2);
    expect(fromMerged.map((j) => [j.recordId, j.kind]).sort()).toEqual([
      [a.Id, 'UPDATE'],
      [b.Id, 'UPDATE'],
    ]);
  });

  it('a DELETE carries the commit timestamp', async () => {
    const role = await h.startRole();
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);
    const c = h.org.store.create('Case', { Subject: 'doomed' });
    h.org.store.delete(String(c.Id));
    const jobs = await jobsInQueue(h, 2);
    const deletion = h.org.events.retained().at(-1);
    expect(jobs[1]).toMatchObject({
      recordId: c.Id,
      kind: 'DELETE',
      commitTimestamp: deletion?.message.payload.ChangeEventHeader.commitTimestamp,
    });
  });

  it('a burst is enqueued many events per round trip, every one of them once', async () => {
    const role = await h.startRole();
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);
    const created = h.org.store.transaction((tx) =>
      Array.from({ length: 300 }, (_, i) => tx.create('Case', { Subject: `burst ${i}` })),
    );
    const jobs = await jobsInQueue(h, 300);
    expect(new Set(jobs.map((j) => j.recordId))).toEqual(new Set(created.map((c) => c.Id)));
    const stats = role.subscriber.stream(INTEGRATION)?.stats();
    expect(stats?.ingest.flushes).toBeLessThan(300);
    expect(new Set(await h.changeIds()).size).toBe(300);
  });
});

// Replay positions read and planted in the store: CometD's numeric ids, Pub/Sub's opaque ones (the
// sandbox's 8 bytes as `0x…`, docs/pubsub.md#replay-positions) — the same promises over both.
describe.each(TRANSPORTS)('subscriber stream over %s: replay positions', (transport) => {
  let h: SubscriberHarness;

  beforeEach(async () => {
    h = await startSubscriberHarness({}, transport);
  });

  afterEach(async () => {
    await h.close();
  });

  it('a CREATE in the org becomes one change job, and the checkpoint equals its replay id', async () => {
    const role = await h.startRole();
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);

    const email = h.org.store.create('EmailMessage', { Subject: 'Hello', TextBody: 'Body', Incoming: true });
    const [job] = await jobsInQueue(h, 1);
    const replayId = h.org.events.lastReplayId();
    expect(job).toMatchObject({
      integration: INTEGRATION,
      object: 'EmailMessage',
      recordId: email.Id,
      kind: 'CREATE',
      origin: 'cdc',
      channel: EMAIL_CHANNEL,
      replayId: h.replayIdOf(replayId),
    });
    expect(job?.commitTimestamp).toBeTypeOf('number');
    expect(await h.changeIds()).toEqual([`cdc|${EMAIL_CHANNEL}|${h.replayIdOf(replayId)}|${String(email.Id)}`]);
    expect(await eventually(() => h.position(EMAIL_CHANNEL))).toBe(replayId);

    const state = await h.status.objectState('EmailMessage');
    expect(Date.parse(state.lastEventAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(state.lastCommitAt).toBeDefined();
  });

  it('events delivered again (subscribe from an older position) make no second job', async () => {
    const first = await h.startRole();
    await subscribed(first, [EMAIL_CHANNEL, CASE_CHANNEL]);
    // One transaction: delivered in one long-poll reply (one Pub/Sub response), so both deliveries form the same batch.
    h.org.store.transaction((tx) => {
      tx.create('Case', { Subject: 'a' });
      tx.create('Case', { Subject: 'b' });
    });
    await jobsInQueue(h, 2);
    const idsBefore = await h.jobIds();
    const changeIdsBefore = await h.changeIds();
    await first.close();

    // As if the process died between enqueue and checkpoint: the position is behind the queue.
    const oldest = h.org.events.retained()[0]?.replayId ?? 0;
    await h.plantPosition(CASE_CHANNEL, oldest - 1);

    const second = await h.startRole();
    await subscribed(second, [EMAIL_CHANNEL, CASE_CHANNEL]);
    expect(h.lastStart(CASE_CHANNEL)).toBe(oldest - 1);
    await eventually(async () => (await h.position(CASE_CHANNEL)) === h.org.events.lastReplayId());
    expect(second.subscriber.stream(INTEGRATION)?.stats().ingest.accepted).toBe(2);
    expect(await h.jobIds()).toEqual(idsBefore);
    expect(await h.changeIds()).toEqual(changeIdsBefore);
  });

  it('a crash between enqueue and checkpoint is completed on restart: nothing replayed, no second job', async () => {
    const first = await h.startRole();
    await subscribed(first, [EMAIL_CHANNEL, CASE_CHANNEL]);
    h.org.store.create('Case', { Subject: 'a' });
    h.org.store.create('Case', { Subject: 'b' });
    await jobsInQueue(h, 2);
    const idsBefore = await h.jobIds();
    await first.close();

    // What a process killed after writing the jobs but before the checkpoint leaves behind.
    const last = h.org.events.lastReplayId();
    await h.replay.setPending(INTEGRATION, {
      jobIds: idsBefore,
      positions: { [CASE_CHANNEL]: h.replayIdOf(last) },
      transport,
    });
    await h.plantPosition(CASE_CHANNEL, (h.org.events.retained()[0]?.replayId ?? 1) - 1);

    const second = await h.startRole();
    await subscribed(second, [EMAIL_CHANNEL, CASE_CHANNEL]);
    expect(await h.position(CASE_CHANNEL)).toBe(last);
    expect(h.lastStart(CASE_CHANNEL)).toBe(last);
    expect(await h.replay.pending(INTEGRATION)).toBeUndefined();
    h.org.store.create('Case', { Subject: 'c' });
    await jobsInQueue(h, 3);
    expect(second.subscriber.stream(INTEGRATION)?.stats().ingest.accepted).toBe(1);
    expect((await h.jobIds()).filter((id) => idsBefore.includes(id))).toEqual(idsBefore);
  });

  it('a pending enqueue whose jobs never made it is replayed from the stored position', async () => {
    await h.replay.setPending(INTEGRATION, {
      jobIds: ['never-written'],
      positions: { [CASE_CHANNEL]: h.replayIdOf(999_999) },
      transport,
    });
    const role = await h.startRole();
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);
    expect(await h.position(CASE_CHANNEL)).not.toBe(999_999);
    expect(h.lastStart(CASE_CHANNEL)).not.toBe(999_999);
    expect(await h.replay.pending(INTEGRATION)).toBeUndefined();
  });

  it('a gap event becomes GAP jobs for its record ids, a redelivery is the same job', async () => {
    const role = await h.startRole();
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);
    const a = h.org.store.create('Case', { Subject: 'a' });
    const b = h.org.store.create('Case', { Subject: 'b' });
    await jobsInQueue(h, 2);
    h.org.streaming.emitGap('Case', 'GAP_UPDATE', [String(a.Id), String(b.Id)]);
    const jobs = await jobsInQueue(h, 4);
    const gapId = h.replayIdOf(h.org.events.lastReplayId());
    const gaps = jobs.filter((j) => j.kind === 'GAP');
    expect(gaps.map((j) => j.recordId).sort()).toEqual([a.Id, b.Id].sort());
    expect(gaps.every((j) => j.origin === 'gap' && j.replayId === gapId)).toBe(true);
    const gapJobIds = [`gap|Case|${String(a.Id)}|${gapId}`, `gap|Case|${String(b.Id)}|${gapId}`].sort();
    expect((await h.changeIds()).filter((id) => id.startsWith('gap|'))).toEqual(gapJobIds);

    // Delivered again from before the gap event: the same job ids, no second job.
    const batchIds = await h.jobIds();
    await role.close();
    await h.plantPosition(CASE_CHANNEL, h.org.events.lastReplayId() - 1);
    const again = await h.startRole();
    await subscribed(again, [EMAIL_CHANNEL, CASE_CHANNEL]);
    await eventually(() => (again.subscriber.stream(INTEGRATION)?.stats().ingest.accepted ?? 0) >= 1);
    expect(await eventually(async () => (await h.position(CASE_CHANNEL)) === h.org.events.lastReplayId())).toBe(true);
    expect(await h.jobIds()).toEqual(batchIds);
    expect((await h.changeIds()).filter((id) => id.startsWith('gap|'))).toEqual(gapJobIds);
  });

  it('an overflow event requests a reconciliation of the whole entity and moves the checkpoint', async () => {
    const role = await h.startRole();
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);
    await h.redis.redis.del(integrationKeys(h.redis.prefix, INTEGRATION).reconcileRequests());
    h.org.streaming.emitOverflow('Case');
    const request = await eventually(() => h.reconcileRequest('Case'));
    expect(request.since).toBeNull();
    expect(request.reason).toMatch(/overflow/);
    expect(await eventually(async () => (await h.position(CASE_CHANNEL)) === h.org.events.lastReplayId())).toBe(true);
    expect(await h.jobs()).toEqual([]);
  });

  it('a malformed event is dead-lettered with its reason, never a crash, and later events flow', async () => {
    const role = await h.startRole();
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);
    // A well-formed event naming an impossible record id: the same on both transports.
    h.org.events.appendMerged('Case', 'CREATE', ['not an id!'], { Subject: 'x' });
    // An event that does not fit the change event schema. CometD delivers the JSON as it is; the
    // Pub/Sub schema makes the header mandatory, so there the sandbox spoils events in transit:
    // bytes that do not decode with their schema, and a schema id GetSchema does not know.
    if (transport === 'cometd') {
      const noHeader = {
        ChangeEventHeader: { entityName: 'Case', changeType: 'SNAPSHOT' },
      } as unknown as ChangeEventPayload;
      h.org.events.append(noHeader);
    } else {
      h.org.pubsub.corruptNextEvents('payload');
      h.org.store.create('Case', { Subject: 'bytes spoiled' });
      h.org.pubsub.corruptNextEvents('schema');
      h.org.store.create('Case', { Subject: 'schema unknown' });
    }
    const good = h.org.store.create('Case', { Subject: 'still flowing' });

    const [job] = await jobsInQueue(h, 1);
    expect(job?.recordId).toBe(good.Id);
    const expected =
      transport === 'cometd'
        ? [/malformed change event: /]
        : [/could not be decoded: GetSchema answered NOT_FOUND/, /could not be decoded: (?!GetSchema)/];
    const letters = await eventually(async () => {
      const list = await h.deadLetters.list(INTEGRATION);
      return list.length === 1 + expected.length ? list : undefined;
    });
    const reasons = letters.map((l) => l.reason);
    expect(reasons).toContainEqual(expect.stringMatching(/invalid record id "not an id!"/));
    for (const reason of expected) expect(reasons).toContainEqual(expect.stringMatching(reason));
    expect(letters.every((l) => l.stage === 'event' && l.object === 'Case')).toBe(true);
    expect(await eventually(async () => (await h.position(CASE_CHANNEL)) === h.org.events.lastReplayId())).toBe(true);
    const stats = role.subscriber.stream(INTEGRATION)?.stats();
    expect(stats?.state).toBe('streaming');
    // Dead-lettered, not retried: no new client, the Case topic never failed.
    expect(stats?.clientsBuilt).toBe(1);
    expect(stats?.channels[CASE_CHANNEL]).toBe('active');
    expect(await h.jobs()).toHaveLength(1);
  });
});
