/**
 * The bridge on a real Redis Cluster (3 masters, each with a replica): each integration's keys and
 * queues share one slot, different integrations spread over the shards, the pipeline runs end to
 * end, and a master killed during a burst (its replica takes over) loses nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bridgeKeys, integrationKeys } from '../../src/store/keys.ts';
import { burstThrough, startBridgeProcess, type BridgeProcess } from '../helpers/bridge-process.ts';
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
    const topology = cluster;
    if (!topology) throw new Error('no cluster');
    running = await startBridgeProcess(`  cluster: [${topology.seeds.join(', ')}]`);
    const { url } = running;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // The master of the integration's slot dies while changes keep coming; its replica takes over.
    const master = await topology.masterOf(integrationKeys('sfcm', 'acme/emails').replay());
    await burstThrough(running, async () => {
      await topology.killMaster(master);
      expect(await topology.masterOf(integrationKeys('sfcm', 'acme/emails').replay())).not.toBe(master);
    });
    expect(running.cm.control.comments('acme', 'emails')).toHaveLength(100);
    await eventually(async () => (await fetch(`${url}/readyz`)).status === 200, 10_000, 100);
  }, 120_000);
});
