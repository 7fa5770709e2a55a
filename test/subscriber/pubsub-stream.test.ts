/**
 * The Pub/Sub transport (`salesforce.transport: pubsub`) against the sandbox org's gRPC server and
 * real Redis: the CometD path's guarantees, and what only Pub/Sub has — flow control, keepalives that
 * move the position, `UNAUTHENTICATED` refresh, a corrupted replay id, a switch from CometD
 * (docs/pubsub.md).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { integrationKeys } from '../../src/store/keys.ts';
import { eventually } from '../helpers/redis.ts';
import {
  CASE_CHANNEL,
  EMAIL_CHANNEL,
  INTEGRATION,
  jobsInQueue,
  startSubscriberHarness,
  subscribed,
  type SubscriberHarness,
} from './harness.ts';

const hex = (replayId: number) => `0x${replayId.toString(16).padStart(16, '0')}`;

describe('subscriber stream over Pub/Sub', () => {
  let h: SubscriberHarness;

  beforeEach(async () => {
    h = await startSubscriberHarness({}, 'pubsub');
  });

  afterEach(async () => {
    await h.close();
  });

  it('a CREATE becomes one change job carrying the opaque replay id, stored only in the Pub/Sub positions', async () => {
    const role = await h.startRole();
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);
    expect(h.org.counters().pubsub.starts.map((s) => s.from)).toEqual(['LATEST', 'LATEST']);

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
      replayId: hex(replayId),
    });
    expect(job?.commitTimestamp).toBeTypeOf('number');
    expect(await eventually(() => h.position(EMAIL_CHANNEL))).toBe(replayId);
    // Never written where CometD looks.
    expect(await h.replay.positions(INTEGRATION)).toEqual(new Map());
    expect(role.subscriber.stream(INTEGRATION)?.stats().clientsBuilt).toBe(1);
  });

  it('a restart resumes after the stored replay id and enqueues only later events', async () => {
    const first = await h.startRole();
    await subscribed(first, [EMAIL_CHANNEL, CASE_CHANNEL]);
    h.org.store.create('Case', { Subject: 'one' });
    await jobsInQueue(h, 1);
    const checkpoint = await eventually(() => h.position(CASE_CHANNEL));
    await first.close();

    const missed = h.org.store.create('Case', { Subject: 'while stopped' });
    const second = await h.startRole();
    await subscribed(second, [EMAIL_CHANNEL, CASE_CHANNEL]);
    expect(
      h.org
        .counters()
        .pubsub.starts.filter((s) => s.topic === CASE_CHANNEL)
        .at(-1)?.from,
    ).toBe(checkpoint);
    const jobs = await jobsInQueue(h, 2);
    expect(jobs).toHaveLength(2);
    expect(jobs[1]).toMatchObject({ recordId: missed.Id, kind: 'CREATE' });
  });

  it('flow control: a burst larger than any request arrives whole, never more than 100 outstanding per call', async () => {
    const role = await h.startRole();
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);
    const created = h.org.store.transaction((tx) =>
      Array.from({ length: 750 }, (_, i) => tx.create('Case', { Subject: `burst ${i}` })),
    );
    const jobs = await jobsInQueue(h, 750, 20_000);
    expect(new Set(jobs.map((j) => j.recordId))).toEqual(new Set(created.map((c) => c.Id)));
    const counters = h.org.counters().pubsub;
    expect(counters.maxOutstanding).toBeLessThanOrEqual(100);
    // Requests kept ahead: more than the first 100 per call were asked for, without any rebuild.
    expect(counters.requested).toBeGreaterThan(750);
    expect(role.subscriber.stream(INTEGRATION)?.stats().rebuilds).toEqual({});
    expect(await eventually(async () => (await h.position(CASE_CHANNEL)) === h.org.events.lastReplayId())).toBe(true);
  });

  it('a keepalive moves the stored position past events of other topics', async () => {
    const role = await h.startRole();
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);
    h.org.store.create('EmailMessage', { Subject: 'only email', TextBody: 'x', Incoming: true });
    const last = h.org.events.lastReplayId();
    // The Case topic saw no event, but its keepalive says nothing was missed up to `last`.
    expect(await eventually(async () => (await h.position(CASE_CHANNEL)) === last, 8_000)).toBe(true);
    expect(h.org.counters().pubsub.keepalives).toBeGreaterThan(0);
  });

  it('UNAUTHENTICATED refreshes the token once and the stream carries on from its position', async () => {
    const role = await h.startRole();
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);
    h.org.store.create('Case', { Subject: 'before expiry' });
    await jobsInQueue(h, 1);
    const refreshesBefore = h.org.counters().oauth.grants['refresh_token'] ?? 0;
    h.org.oauth.expireAccessTokens();
    await eventually(() => (role.subscriber.stream(INTEGRATION)?.stats().rebuilds.authentication ?? 0) >= 1, 8_000);
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);
    const after = h.org.store.create('Case', { Subject: 'after refresh' });
    const jobs = await jobsInQueue(h, 2, 8_000);
    expect(jobs.map((j) => j.recordId)).toContain(after.Id);
    expect(h.org.counters().oauth.grants['refresh_token'] ?? 0).toBeGreaterThan(refreshesBefore);
    expect(h.org.counters().pubsub.errors.some((e) => e.code === 16)).toBe(true);
  });

  it('a replay id no longer retained: subscribe at LATEST and request a reconciliation from the last commit', async () => {
    const first = await h.startRole();
    await subscribed(first, [EMAIL_CHANNEL, CASE_CHANNEL]);
    h.org.store.create('Case', { Subject: 'one' });
    await jobsInQueue(h, 1);
    await eventually(() => h.position(CASE_CHANNEL));
    await first.close();
    await h.redis.redis.hdel(integrationKeys(h.redis.prefix, INTEGRATION).reconcileRequests(), 'Case');

    // An event while stopped, then retention passes: the stored id is older than anything retained.
    h.org.store.create('Case', { Subject: 'lost to retention' });
    h.org.events.purge();
    const second = await h.startRole();
    await subscribed(second, [EMAIL_CHANNEL, CASE_CHANNEL], 10_000);
    expect(second.subscriber.stream(INTEGRATION)?.stats().replayResets).toBeGreaterThanOrEqual(1);
    const request = await eventually(() => h.reconcileRequest('Case'));
    expect(request.reason).toMatch(/replay id .* invalid or no longer retained/);
    expect(
      h.org
        .counters()
        .pubsub.starts.filter((s) => s.topic === CASE_CHANNEL)
        .at(-1)?.from,
    ).toBe('LATEST');
    const later = h.org.store.create('Case', { Subject: 'after reset' });
    expect((await jobsInQueue(h, 2, 8_000)).map((j) => j.recordId)).toContain(later.Id);
  });

  it('switching from CometD: no Pub/Sub position, so LATEST plus a reconciliation from the last CometD commit', async () => {
    const keys = integrationKeys(h.redis.prefix, INTEGRATION);
    await h.redis.redis.hset(keys.replay(), CASE_CHANNEL, '1234');
    const lastCommit = Date.now() - 3_600_000;
    await h.redis.redis.hset(keys.objectState('Case'), 'lastCommitAt', new Date(lastCommit).toISOString());
    const role = await h.startRole();
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);
    const request = await eventually(() => h.reconcileRequest('Case'));
    expect(Date.parse(request.since ?? '')).toBeLessThanOrEqual(lastCommit);
    expect(request.reason).toMatch(/switched from CometD/);
    // The CometD position is left alone for a switch back.
    expect(await h.replay.position(INTEGRATION, CASE_CHANNEL)).toBe(1234);
  });

  it('UNAVAILABLE mid-stream (maintenance, a cut connection): a new client resubscribes from the stored positions, nothing lost or doubled', async () => {
    const role = await h.startRole();
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);
    const before = h.org.store.create('Case', { Subject: 'before' });
    await jobsInQueue(h, 1);
    const checkpoint = await eventually(() => h.position(CASE_CHANNEL));

    h.org.pubsub.endStreams();
    const during = h.org.store.create('Case', { Subject: 'while unavailable' });
    await eventually(() => (role.subscriber.stream(INTEGRATION)?.stats().rebuilds.transient ?? 0) >= 1);
    await subscribed(role, [EMAIL_CHANNEL, CASE_CHANNEL]);
    const after = h.org.store.create('Case', { Subject: 'after' });
    const jobs = await jobsInQueue(h, 3);
    expect(jobs.map((j) => j.recordId)).toEqual([before.Id, during.Id, after.Id]);
    expect(new Set(await h.changeIds()).size).toBe(3);
    expect(await h.changeIds()).toHaveLength(3);
    expect(h.lastStart(CASE_CHANNEL)).toBeGreaterThanOrEqual(checkpoint);
    expect(h.org.counters().pubsub.errors.some((e) => e.code === 14)).toBe(true);
  });

  it('a denied topic shows its error; the other object keeps streaming', async () => {
    h.org.pubsub.denyTopic(CASE_CHANNEL, true);
    const role = await h.startRole();
    await subscribed(role, [EMAIL_CHANNEL]);
    await eventually(() => role.subscriber.stream(INTEGRATION)?.stats().channels[CASE_CHANNEL] === 'failed');
    const state = await eventually(async () => {
      const s = await h.status.objectState('Case');
      return s.error ? s : undefined;
    });
    expect(state.error).toMatch(/PERMISSION_DENIED/);
    const email = h.org.store.create('EmailMessage', { Subject: 'still', TextBody: 'x', Incoming: true });
    expect((await jobsInQueue(h, 1)).map((j) => j.recordId)).toEqual([email.Id]);
  });
});
