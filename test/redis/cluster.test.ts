/**
 * The bridge on a real Redis Cluster (3 masters, each with a replica): each integration's keys and
 * queues share one slot, different integrations spread over the shards, the pipeline runs end to
 * end, and a master killed during a burst (its replica takes over) loses nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bridgeKeys, integrationKeys } from '../../src/store/keys.ts';
import { startBridgeProcess, type BridgeProcess } from '../helpers/bridge-process.ts';
import { startRedisCluster, type RedisClusterUnderTest } from '../helpers/redis-topology.ts';
import { eventually } from '../helpers/redis.ts';

describe('Redis Cluster', () => {
  let cluster: RedisClusterUnderTest | undefined;
  let running: BridgeProcess | undefined;

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  }, 60_000);

  afterAll(async () => {
    await running?.close();
    await cluster?.close();
  });

  it("keeps each integration's keys and queues in one slot, and spreads integrations over the masters", async () => {
    const topology = cluster;
    if (!topology) throw new Error('no cluster');
    const bridge = bridgeKeys('sfcm');
    const slotsOf = async (integration: string) => {
      const keys = integrationKeys('sfcm', integration);
      const names = [
        keys.tokens(),
        keys.replay(),
        keys.versions('Case'),
        keys.locks('Case'),
        keys.readinessProbe(),
        // BullMQ's own keys are `<queue prefix>:<queue name>:<suffix>`.
        `${bridge.queuePrefix()}:${bridge.changeQueueName(integration)}:wait`,
        `${bridge.queuePrefix()}:${bridge.reconcileQueueName(integration)}:events`,
      ];
      return new Set(await Promise.all(names.map((name) => topology.slotOf(name))));
    };
    const integrations = Array.from({ length: 12 }, (_, i) => `acme/integration-${i}`);
    const slots = await Promise.all(integrations.map(slotsOf));
    for (const slot of slots) expect(slot.size).toBe(1);
    const masters = new Set(
      await Promise.all(
        integrations.map((integration) => topology.masterOf(integrationKeys('sfcm', integration).tokens())),
      ),
    );
    expect(masters.size).toBe(3);
  });

  it('runs the pipeline end to end; a master killed during a burst loses nothing', async () => {
    if (!cluster) throw new Error('no cluster');
    running = await startBridgeProcess(`  cluster: [${cluster.seeds.join(', ')}]`);
    const { org, url, commentText } = running;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    const before = Array.from({ length: 20 }, (_, i) =>
      String(org.store.create('Case', { Subject: `before ${i}`, Description: 'before' }).Id),
    );
    await eventually(() => before.every((id) => commentText(id) !== undefined), 20_000, 100);

    // The burst: changes keep coming while the master of the integration's slot dies.
    const master = await cluster.masterOf(integrationKeys('sfcm', 'acme/emails').replay());
    const during: string[] = [];
    const burst = (async () => {
      for (let i = 0; i < 60; i++) {
        during.push(String(org.store.create('Case', { Subject: `during ${i}`, Description: 'during' }).Id));
        if (i % 10 === 0) for (const id of before.slice(0, 5)) org.store.update(id, { Description: `updated ${i}` });
        // Paced, so the master dies while the burst is still coming.
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
    })();
    await cluster.killMaster(master);
    await burst;
    expect(await cluster.masterOf(integrationKeys('sfcm', 'acme/emails').replay())).not.toBe(master);

    const after = Array.from({ length: 20 }, (_, i) =>
      String(org.store.create('Case', { Subject: `after ${i}`, Description: 'after' }).Id),
    );
    await eventually(
      () =>
        [...during, ...after].every((id) => commentText(id) !== undefined) &&
        before.slice(0, 5).every((id) => commentText(id) === 'updated 50'),
      45_000,
      200,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${running?.bridge.output() ?? ''}`);
    });
    expect(running.cm.control.comments('acme', 'emails')).toHaveLength(100);
    await eventually(async () => (await fetch(`${url}/readyz`)).status === 200, 10_000, 100);
  }, 120_000);
});
