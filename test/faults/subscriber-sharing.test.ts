/**
 * Subscriber replicas share the integrations (issue 14 item 3; docs/subscriber.md), with real
 * `sf-cm-bridge subscriber` processes at the role's default timings (lease ttl 10 s, tick 2 s,
 * member ttl 6 s, settle 4 s): 3 replicas and 30 integrations, all authorised against one sandbox
 * org, so every Case commit reaches all 30 streams. Once stable each replica streams ≤ ⌈N/R⌉+1;
 * `kill -9` of one mid-burst: its integrations resume on the others within 15 s from their stored
 * positions and no change is lost; a new replica takes its share, and only its share moves; a
 * replica stopped with SIGTERM hands its integrations over before it exits.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimulatedSalesforceOrg } from '@sf-cm-bridge/sandbox/org';
import { ChangeQueue } from '../../src/queue/change-queue.ts';
import { integrationKeys } from '../../src/store/keys.ts';
import { ReplayStore } from '../../src/store/replay-store.ts';
import { fairShare } from '../../src/subscriber/fair-share.ts';
import { bridgeConfigYaml } from '../helpers/bridge.ts';
import { adminBrowser, salesforceApproves } from '../helpers/oauth.ts';
import { eventually, testRedis, type TestRedis } from '../helpers/redis.ts';
import {
  CASE_CHANNEL,
  CASE_ONLY,
  clientIds,
  commitBurst,
  missingOrMismatched,
  newSubscriptions,
  queuedChanges,
  spawnSubscriber,
  startFaultOrg,
  withApp,
  type SubscriberProcess,
} from './helpers.ts';

const N = 30;
const NAMES = Array.from({ length: N }, (_, i) => `shard-${String(i).padStart(2, '0')}`);
const INTEGRATIONS = NAMES.map((name) => `acme/${name}`);
/** The issue's bound for a dead replica's integrations to stream again. */
const TAKEOVER_MS = 15_000;
const CHUNKS = 10;
const PER_CHUNK = 20;

type Transport = 'cometd' | 'pubsub';

/** The config of 30 integrations `acme/shard-NN`, each streaming Case from the same org. */
function shardedConfigYaml(org: SimulatedSalesforceOrg, prefix: string, transport: Transport): string {
  const [head, block] = bridgeConfigYaml(org.url, prefix, {
    objects: CASE_ONLY,
    transport: transport === 'pubsub' ? { kind: 'pubsub', url: org.pubsubUrl } : { kind: 'cometd' },
  }).split('\nintegrations:\n');
  if (block === undefined) throw new Error('unexpected config layout');
  const blocks = NAMES.map((name) =>
    block.replace('name: emails', `name: ${name}`).replace('source: emails', `source: ${name}`),
  );
  return `${head}\nintegrations:\n${blocks.join('')}`;
}

describe.each(['cometd', 'pubsub'] as const)('subscriber replicas share the integrations (%s)', (transport) => {
  let org: SimulatedSalesforceOrg;
  let redis: TestRedis;
  let dir: string;
  let configFile: string;
  let replay: ReplayStore;
  let queues: Map<string, ChangeQueue>;
  const processes: SubscriberProcess[] = [];

  beforeEach(async () => {
    // 5 s long-polls: faye aborts a /meta/connect after 1.2 × the advised timeout, which 30 streams
    // in 3 processes on a loaded machine can miss at 1 s, losing that reply's events (docs/subscriber.md, Limits).
    org = await startFaultOrg(5);
    redis = testRedis();
    dir = mkdtempSync(join(tmpdir(), 'sfcm-sharding-'));
    configFile = join(dir, 'bridge.yaml');
    const yaml = shardedConfigYaml(org, redis.prefix, transport);
    writeFileSync(configFile, yaml);

    // The admin authorises each integration once, through the real app.
    await withApp(yaml, configFile, redis, async (app) => {
      const browser = await adminBrowser(app);
      for (const name of NAMES) {
        const start = await browser.get(`/integrations/acme/${name}/oauth2/authenticate`);
        expect(start.statusCode).toBe(302);
        const callback = await salesforceApproves(String(start.headers.location));
        expect((await browser.get(callback.pathname + callback.search)).statusCode).toBe(200);
      }
    });
    replay = new ReplayStore(redis.redis, redis.prefix);
    queues = new Map(INTEGRATIONS.map((key) => [key, new ChangeQueue(redis.redis, redis.prefix, key)]));
  });

  afterEach(async () => {
    for (const running of processes) running.kill('SIGKILL');
    await Promise.all(processes.map((running) => running.exited));
    processes.length = 0;
    await Promise.all([...queues.values()].map((queue) => queue.close()));
    await redis.cleanup();
    await org.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function start(): SubscriberProcess {
    const running = spawnSubscriber(configFile);
    processes.push(running);
    return running;
  }

  /** Integration → pid of the replica holding its lease (from the owner token `host:pid:random`). */
  async function owners(): Promise<Map<string, number | undefined>> {
    const values = await Promise.all(
      INTEGRATIONS.map((key) => redis.redis.get(integrationKeys(redis.prefix, key).subscriberLease())),
    );
    return new Map(INTEGRATIONS.map((key, i) => [key, pidOf(values[i])]));
  }

  function held(by: Map<string, number | undefined>, pid: number): string[] {
    return [...by].filter(([, owner]) => owner === pid).map(([key]) => key);
  }

  /** Every integration held by one of `live`, none by more than ⌈N/R⌉+1: the owners then. */
  async function shared(live: SubscriberProcess[], timeoutMs: number): Promise<Map<string, number | undefined>> {
    const bound = fairShare(N, live.length) + 1;
    return eventually(
      async () => {
        const now = await owners();
        const pids = new Set(live.map((p) => p.pid));
        const everyHeld = [...now.values()].every((pid) => pid !== undefined && pids.has(pid));
        return everyHeld && live.every((p) => held(now, p.pid).length <= bound) ? now : undefined;
      },
      timeoutMs,
      200,
    ).catch(async (error: unknown) => {
      const now = await owners();
      const counts = live.map((p) => `${p.pid}: ${held(now, p.pid).length}`).join(', ');
      throw new Error(`${String(error)}; holdings ${counts}\n${live.map((p) => p.output().slice(-3_000)).join('\n')}`);
    });
  }

  /** An integration's stored Case position as the org's replay id (Pub/Sub's `0x…` read as the sandbox's 8 bytes). */
  async function position(key: string): Promise<number | undefined> {
    if (transport === 'cometd') return replay.position(key, CASE_CHANNEL);
    const stored = (await replay.pubsubPositions(key)).get(CASE_CHANNEL);
    return stored === undefined ? undefined : Number(stored);
  }

  /** Every integration's Case position has reached the org's last event. */
  function allCaughtUp(timeoutMs: number): Promise<true> {
    const behind = async () => {
      const last = org.events.lastReplayId();
      const positions = await Promise.all(INTEGRATIONS.map((key) => position(key)));
      return INTEGRATIONS.map((key, i) => `${key}@${positions[i]}`).filter((_, i) => positions[i] !== last);
    };
    return eventually(async () => (await behind()).length === 0 || undefined, timeoutMs, 200).catch(
      async (error: unknown) => {
        const now = await owners();
        const lagging = (await behind()).map((entry) => `${entry} (pid ${now.get(entry.split('@')[0] ?? '')})`);
        throw new Error(
          `${String(error)}: behind ${org.events.lastReplayId()}: ${lagging.join(', ')}\n${processes.map((p) => `${p.pid}: ${p.output().slice(-2_000)}`).join('\n')}`,
        );
      },
    );
  }

  /** The position a new holder must resume from: the stored one, or the crashed enqueue's if all its jobs made it. */
  async function resumePosition(key: string): Promise<number | undefined> {
    const stored = await position(key);
    const pending = await replay.pending(key);
    const queue = queues.get(key);
    const crashed = pending?.positions[CASE_CHANNEL];
    if (pending && queue && crashed !== undefined && (await queue.allExist(pending.jobIds))) return Number(crashed);
    return stored;
  }

  it(
    '3 replicas, 30 integrations: ≤ ⌈N/R⌉+1 each; kill -9 of one mid-burst moves its integrations within 15 s with no loss; a newcomer takes only its share; SIGTERM hands over',
    { timeout: 150_000 },
    async () => {
      const replicas = [start(), start(), start()];
      const stable = await shared(replicas, 45_000);
      for (const p of replicas) expect(held(stable, p.pid).length).toBeLessThanOrEqual(fairShare(N, 3) + 1);

      // Every stream works: once all 30 have subscribed, one Case reaches every integration's queue.
      await eventually(() => newSubscriptions({ org, transport }, new Set()).length >= N, 30_000, 200).catch(
        (error: unknown) => {
          throw new Error(`${String(error)}: ${newSubscriptions({ org, transport }, new Set()).length} subscriptions`);
        },
      );
      org.store.create('Case', { Subject: 'warm-up', Description: 'gives every integration a position' });
      await allCaughtUp(30_000);

      // A burst across all integrations; the victim dies once the burst is flowing.
      const [victim, ...survivors] = replicas as [SubscriberProcess, SubscriberProcess, SubscriberProcess];
      const committedThrough: number[] = [];
      const burst = commitBurst(
        org,
        'burst',
        CHUNKS,
        PER_CHUNK,
        (c) => (committedThrough[c] = org.events.lastReplayId()),
      );
      await eventually(
        async () => {
          const second = committedThrough[1];
          if (second === undefined) return false;
          const positions = await Promise.all(INTEGRATIONS.map((key) => position(key)));
          return positions.some((position) => (position ?? 0) >= second);
        },
        20_000,
        20,
      );
      const orphans = held(await owners(), victim.pid);
      expect(orphans.length).toBeGreaterThan(0);
      const known = clientIds({ org, transport });
      victim.kill('SIGKILL');
      const killedAt = Date.now();
      await victim.exited;
      const expectedFrom = await Promise.all(orphans.map((key) => resumePosition(key)));
      const ids = await burst;
      // Killed mid-burst: the orphans had not yet enqueued all of it.
      expect(Math.min(...expectedFrom.map((position) => position ?? -1))).toBeLessThan(org.events.lastReplayId());

      // The survivors take the orphans and subscribe within 15 s (the lease ttl runs out first), ≤ ⌈N/2⌉+1 each.
      const afterDeath = await shared(survivors, TAKEOVER_MS + 5_000);
      await eventually(() => newSubscriptions({ org, transport }, known).length >= orphans.length, TAKEOVER_MS, 100);
      expect(Date.now() - killedAt).toBeLessThan(TAKEOVER_MS);
      for (const p of survivors) expect(held(afterDeath, p.pid).length).toBeLessThanOrEqual(fairShare(N, 2) + 1);
      // Only the orphans moved.
      for (const [key, pid] of stable) if (pid !== victim.pid) expect(afterDeath.get(key)).toBe(pid);

      // Each orphan resumed from its stored position (new subscriptions may include survivors' own reconnects).
      const resumedFrom = newSubscriptions({ org, transport }, known).map((s) => s.replayFrom);
      for (const position of expectedFrom) {
        const at = resumedFrom.indexOf(position ?? -1);
        expect(
          at,
          `resubscribed from ${JSON.stringify(resumedFrom)}, expected ${JSON.stringify(expectedFrom)}`,
        ).not.toBe(-1);
        resumedFrom.splice(at, 1);
      }

      // Nothing lost: every burst change is in every integration's queue, no two different changes per record.
      await allCaughtUp(30_000);
      for (const key of INTEGRATIONS) {
        const { missing, mismatched } = missingOrMismatched(await queuedChanges(queues.get(key) as ChangeQueue), ids);
        expect(
          { key, missing, mismatched },
          `orphan: ${orphans.includes(key)}, owner ${stable.get(key)} → ${afterDeath.get(key)}`,
        ).toEqual({ key, missing: [], mismatched: [] });
      }

      // A newcomer takes its share; only what it takes changes hands.
      const newcomer = start();
      const live = [...survivors, newcomer];
      const afterJoin = await eventually(
        async () => {
          const now = await owners();
          return held(now, newcomer.pid).length === N / 3 ? now : undefined;
        },
        45_000,
        200,
      );
      const balanced = await shared(live, 5_000);
      for (const p of live) expect(held(balanced, p.pid).length).toBeLessThanOrEqual(fairShare(N, 3) + 1);
      const moved = INTEGRATIONS.filter((key) => afterJoin.get(key) !== afterDeath.get(key));
      expect(moved.every((key) => afterJoin.get(key) === newcomer.pid)).toBe(true);
      expect(moved.length).toBe(held(afterJoin, newcomer.pid).length);

      // The handed-over streams go on where they stopped: a change after the handover reaches every queue.
      const after = String(org.store.create('Case', { Subject: 'after the join', Description: 'after' }).Id);
      await allCaughtUp(30_000);

      // A graceful stop (SIGTERM) releases its leases before it exits (they would take ≥ 7 s to expire), and the others take them.
      const [leaving, ...staying] = live as [SubscriberProcess, SubscriberProcess, SubscriberProcess];
      leaving.kill('SIGTERM');
      expect(await leaving.exited).toBe(0);
      expect(held(await owners(), leaving.pid)).toEqual([]);
      await shared(staying, 10_000);
      const last = String(org.store.create('Case', { Subject: 'after the stop', Description: 'last' }).Id);
      await allCaughtUp(30_000);
      for (const key of INTEGRATIONS) {
        const { missing } = missingOrMismatched(await queuedChanges(queues.get(key) as ChangeQueue), [after, last]);
        expect({ key, missing }).toEqual({ key, missing: [] });
      }
    },
  );
});

function pidOf(owner: string | null | undefined): number | undefined {
  const pid = owner?.split(':')[1];
  return pid === undefined ? undefined : Number(pid);
}
