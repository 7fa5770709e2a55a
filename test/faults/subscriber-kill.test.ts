/**
 * `kill -9` of real `sf-cm-bridge subscriber` processes mid-burst (issue 5, "Done when"): a restart
 * resumes from the stored replay id and loses nothing; with two processes one streams, and when it
 * dies the other takes over within the lease time, again without loss. The processes run with the
 * role's default timings: lease ttl 10 s, standby poll 2 s.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/redis.ts';
import {
  activeSubscriber,
  CASE_CHANNEL,
  clientIds,
  commitBurst,
  INTEGRATION,
  missingOrMismatched,
  newSubscriptions,
  startFaultEnvironment,
  type FaultEnvironment,
  type SubscriberProcess,
} from './helpers.ts';

/** The bound for a standby to take over after `kill -9`. */
const TAKEOVER_MS = 15_000;
const CHUNKS = 20;
const PER_CHUNK = 1_000;

describe.each(['cometd', 'pubsub'] as const)('subscriber processes killed with SIGKILL (%s)', (transport) => {
  let env: FaultEnvironment;

  beforeEach(async () => {
    env = await startFaultEnvironment(transport);
  });

  afterEach(async () => {
    await env.close();
  });

  /** CometD sessions, or open Subscribe calls on the Case topic. */
  const liveClients = () =>
    transport === 'cometd'
      ? env.org.streaming.counters().activeClients
      : (env.org.pubsub.counters().openStreams[CASE_CHANNEL] ?? 0);
  /** Held CometD long-polls, or open Subscribe calls. */
  const liveConnections = () =>
    transport === 'cometd'
      ? env.org.streaming.counters().openLongPolls
      : (env.org.pubsub.counters().openStreams[CASE_CHANNEL] ?? 0);

  /** One event through the stream, so the channel has a stored position. */
  async function warmUp(): Promise<number> {
    env.org.store.create('Case', { Subject: 'warm-up', Description: 'gives Case a position' });
    return eventually(async () => {
      const position = await env.position();
      return position === env.org.events.lastReplayId() ? position : undefined;
    }, 10_000);
  }

  /**
   * Commit the burst and SIGKILL `victim` once its checkpoint has passed the second transaction,
   * while the rest of the burst is still being committed or ingested. Returns the burst's ids and
   * what the victim had checkpointed.
   */
  async function burstAndKill(
    victim: SubscriberProcess,
  ): Promise<{ ids: string[]; killedAt: number; positionAtKill: number; lastAtKill: number; changesAtKill: number }> {
    const committedThrough: number[] = [];
    const burst = commitBurst(
      env.org,
      'burst',
      CHUNKS,
      PER_CHUNK,
      (c) => (committedThrough[c] = env.org.events.lastReplayId()),
    );
    await eventually(
      async () => {
        const second = committedThrough[1];
        return second !== undefined && ((await env.position()) ?? 0) >= second;
      },
      10_000,
      5,
    );
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.exited;
    const positionAtKill = (await env.position()) ?? -1;
    const lastAtKill = env.org.events.lastReplayId();
    const changesAtKill = (await env.changes()).length;
    return { ids: await burst, killedAt, positionAtKill, lastAtKill, changesAtKill };
  }

  /** The position a restart must ask for: the stored one, or the crashed enqueue's if all its jobs made it. */
  async function expectedResumePosition(): Promise<number | undefined> {
    const stored = await env.position();
    const pending = await env.replay.pending(INTEGRATION);
    if (pending && (await env.queue.allExist(pending.jobIds))) {
      const crashed = pending.positions[CASE_CHANNEL];
      return crashed === undefined ? stored : Number(crashed);
    }
    return stored;
  }

  async function everythingEnqueued(ids: readonly string[]): Promise<void> {
    await eventually(
      async () =>
        (await env.position()) === env.org.events.lastReplayId() &&
        missingOrMismatched(await env.changes(), ids).missing.length === 0,
      15_000,
      100,
    );
  }

  it(
    'kill -9 mid-burst, then a restart: it resubscribes from the stored replay id and no change is lost',
    { timeout: 60_000 },
    async () => {
      const first = env.startSubscriber();
      await activeSubscriber(env);
      const warm = await warmUp();

      const { ids, positionAtKill, lastAtKill, changesAtKill } = await burstAndKill(first);
      // Taken once the victim is dead: under load it may have rebuilt its own client mid-burst
      // (a long poll cut short, docs/salesforce.md#transport-failures-lose-a-reply), and that
      // subscription is not the restart's.
      const known = clientIds(env);
      // Killed mid-burst: part of it was in the queue, the rest not yet checkpointed.
      expect(positionAtKill).toBeGreaterThan(warm);
      expect(positionAtKill).toBeLessThan(lastAtKill);
      expect(changesAtKill).toBeGreaterThan(0);
      expect(changesAtKill).toBeLessThan(CHUNKS * PER_CHUNK + 1);

      const resumeFrom = await expectedResumePosition();
      const second = env.startSubscriber();
      // The dead process's lease runs out (ttl 10 s) before the restarted one may stream.
      await activeSubscriber(env, known, TAKEOVER_MS + 5_000);
      expect(await env.leaseHolderPid()).toBe(second.pid);
      const resumed = newSubscriptions(env, known);
      expect(
        resumed.map((s) => s.replayFrom),
        second.output(),
      ).toEqual([resumeFrom]);
      expect(resumed[0]?.replayFrom).toBeGreaterThanOrEqual(positionAtKill);

      await everythingEnqueued(ids);
      const { missing, mismatched } = missingOrMismatched(await env.changes(), ids);
      expect(missing).toEqual([]);
      expect(mismatched).toEqual([]);
    },
  );

  it(
    'two processes: one streams; kill -9 of it mid-burst, the other takes over within the lease time and no change is lost',
    { timeout: 60_000 },
    async () => {
      const processes = [env.startSubscriber(), env.startSubscriber()];
      const leaderPid = await activeSubscriber(env);
      await eventually(() => processes.every((p) => p.output().includes('subscriber started')), 15_000, 50);
      const leader = processes.find((p) => p.pid === leaderPid);
      const standby = processes.find((p) => p.pid !== leaderPid);
      if (!leader || !standby)
        throw new Error(`lease held by ${leaderPid}, not one of ${processes.map((p) => p.pid).join(', ')}`);
      // Exactly one client in the org: the standby never connects.
      expect(liveClients()).toBe(1);
      const warm = await warmUp();
      expect(liveClients()).toBe(1);

      const { ids, killedAt, positionAtKill, lastAtKill } = await burstAndKill(leader);
      // Taken once the leader is dead (see above): only the standby's subscription is new after it.
      const known = clientIds(env);
      expect(positionAtKill).toBeLessThan(lastAtKill);
      const resumeFrom = await expectedResumePosition();
      const during = String(
        env.org.store.create('Case', { Subject: 'while nobody leads', Description: 'after the kill' }).Id,
      );

      await activeSubscriber(env, known, TAKEOVER_MS + 1_000);
      expect(Date.now() - killedAt).toBeLessThan(TAKEOVER_MS);
      expect(await env.leaseHolderPid()).toBe(standby.pid);
      const resumed = newSubscriptions(env, known);
      expect(
        resumed.map((s) => s.replayFrom),
        standby.output(),
      ).toEqual([resumeFrom]);
      expect(resumed[0]?.replayFrom).toBeGreaterThanOrEqual(Math.max(warm, positionAtKill));

      await everythingEnqueued([...ids, during]);
      const { missing, mismatched } = missingOrMismatched(await env.changes(), [...ids, during]);
      expect(missing).toEqual([]);
      expect(mismatched).toEqual([]);
      // One live client: the new leader's (a dead CometD session lingers until it times out, but holds no
      // long-poll; a dead process's Subscribe call ends with its connection).
      await eventually(() => liveConnections() === 1, 5_000);
      expect(liveConnections()).toBe(1);
    },
  );
});
