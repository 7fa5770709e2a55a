/**
 * One active subscriber per integration across replicas (bridge contract: `subscriber` role), with
 * takeover when the leader dies, and zero loss when it dies mid-burst
 * (docs/salesforce.md#replay-ids-and-retention, #pitfall-7-duplicates-after-reconnects).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { integrationKeys } from '../../src/store/keys.ts';
import type { SubscriberRole } from '../../src/roles/subscriber.ts';
import { eventually } from '../helpers/redis.ts';
import {
  CASE_CHANNEL,
  EMAIL_CHANNEL,
  FAST,
  INTEGRATION,
  jobsInQueue,
  startSubscriberHarness,
  subscribed,
  TRANSPORTS,
  type SubscriberHarness,
} from './harness.ts';

const BOTH = [EMAIL_CHANNEL, CASE_CHANNEL];
const LEASE_TTL_MS = FAST.lease?.ttlMs ?? 2_000;

describe.each(TRANSPORTS)('subscriber leader lease over %s', (transport) => {
  let h: SubscriberHarness;

  beforeEach(async () => {
    h = await startSubscriberHarness({}, transport);
  });

  afterEach(async () => {
    await h.close();
  });

  async function leaderOf(roles: SubscriberRole[]): Promise<{ leader: SubscriberRole; standby: SubscriberRole }> {
    const leader = await eventually(() => roles.find((r) => r.subscriber.isLeader(INTEGRATION)));
    const standby = roles.find((r) => r !== leader);
    if (!standby) throw new Error('no standby');
    return { leader, standby };
  }

  it('two subscriber roles on one integration: exactly one streams (one client in the org)', async () => {
    const roles = [await h.startRole(), await h.startRole()];
    const { leader, standby } = await leaderOf(roles);
    await subscribed(leader, BOTH);

    expect(standby.subscriber.isLeader(INTEGRATION)).toBe(false);
    expect(standby.subscriber.stream(INTEGRATION)).toBeUndefined();
    expect(h.activeClients()).toBe(1);

    const c = h.org.store.create('Case', { Subject: 'once' });
    expect((await jobsInQueue(h, 1))[0]?.recordId).toBe(c.Id);
    expect(await h.changeIds()).toHaveLength(1);
  });

  it('the leader killed mid-burst (no release, no flush): the standby takes over within the lease time, and no change is lost', async () => {
    const roles = [await h.startRole(), await h.startRole()];
    const { leader, standby } = await leaderOf(roles);
    await subscribed(leader, BOTH);

    h.org.store.create('Case', { Subject: 'gives Case a position' });
    await jobsInQueue(h, 1);
    const before = await eventually(() => h.position(CASE_CHANNEL));

    const created = [] as unknown[];
    for (let t = 0; t < 5; t += 1) {
      created.push(
        ...h.org.store.transaction((tx) =>
          Array.from({ length: 100 }, (_, i) => tx.create('Case', { Subject: `burst ${t}.${i}` }).Id),
        ),
      );
    }
    // Kill it mid-burst: part of the burst is in the queue, the rest may still be in flight or buffered.
    await jobsInQueue(h, 50);
    await leader.subscriber.abandon();
    const killedAt = Date.now();
    const during = h.org.store.create('Case', { Subject: 'while nobody leads' });

    await eventually(() => standby.subscriber.isLeader(INTEGRATION), LEASE_TTL_MS * 3);
    await subscribed(standby, BOTH);
    const tookOverInMs = Date.now() - killedAt;
    expect(tookOverInMs).toBeLessThan(LEASE_TTL_MS + 2_000);
    // The new leader resumed from the stored position, not from -1.
    const resumedFrom = h.lastStart(CASE_CHANNEL);
    expect(resumedFrom).toBeTypeOf('number');
    expect(resumedFrom).toBeGreaterThanOrEqual(before);

    const want = new Set([...created, during.Id]);
    await eventually(async () => {
      const have = new Set((await h.jobs()).map((j) => j.recordId));
      return [...want].every((id) => have.has(id as string));
    }, 10_000);
    expect(await eventually(async () => (await h.position(CASE_CHANNEL)) === h.org.events.lastReplayId())).toBe(true);
  });

  it('a graceful close flushes, disconnects and releases: the standby takes over at once, from the checkpoint', async () => {
    const roles = [await h.startRole(), await h.startRole()];
    const { leader, standby } = await leaderOf(roles);
    await subscribed(leader, BOTH);
    h.org.store.create('Case', { Subject: 'gives Case a position' });
    await jobsInQueue(h, 1);
    await eventually(() => h.position(CASE_CHANNEL));

    const c = h.org.store.create('Case', { Subject: 'around the close' });
    const closedAt = Date.now();
    await leader.close();
    expect(leader.subscriber.isLeader(INTEGRATION)).toBe(false);
    await subscribed(standby, BOTH);
    expect(Date.now() - closedAt).toBeLessThan(LEASE_TTL_MS);
    // Enqueued by the leader's flush or replayed by the standby from the checkpoint: either way, there.
    expect((await jobsInQueue(h, 2))[1]?.recordId).toBe(c.Id);
    // The leader said /meta/disconnect (or cancelled its calls): the org holds one client, the standby's.
    await eventually(() => h.activeClients() === 1);
  });

  it('losing the lease stops the stream at once; it streams again once the lease is free', async () => {
    const role = await h.startRole();
    await subscribed(role, BOTH);
    const lease = integrationKeys(h.redis.prefix, INTEGRATION).subscriberLease();

    // Another holder took over (e.g. after a long pause of this process).
    await h.redis.redis.set(lease, 'another-process', 'PX', 1_500);
    await eventually(() => role.subscriber.stream(INTEGRATION) === undefined);
    // Nothing held open any more: no CometD long-poll, no Pub/Sub Subscribe call.
    await eventually(() =>
      transport === 'cometd' ? h.org.counters().streaming.openLongPolls === 0 : h.activeClients() === 0,
    );
    expect(role.subscriber.isLeader(INTEGRATION)).toBe(false);

    await eventually(() => role.subscriber.isLeader(INTEGRATION), 5_000);
    await subscribed(role, BOTH);
    const c = h.org.store.create('Case', { Subject: 'leading again' });
    expect((await jobsInQueue(h, 1))[0]?.recordId).toBe(c.Id);
  });
});
