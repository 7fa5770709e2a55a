/**
 * The bridge on Redis Sentinel (a primary, a replica, three sentinels): the pipeline runs end to end,
 * and a failover during a burst (the replica becomes primary) loses nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { burstThrough, startBridgeProcess, type BridgeProcess } from '../helpers/bridge-process.ts';
import { startRedisSentinel, type RedisSentinelUnderTest } from '../helpers/redis-topology.ts';
import { eventually } from '../helpers/redis.ts';

describe('Redis Sentinel', () => {
  let sentinel: RedisSentinelUnderTest | undefined;
  let running: BridgeProcess | undefined;

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
  }, 60_000);

  afterAll(async () => {
    await running?.close();
    await sentinel?.close();
  });

  it('runs the pipeline end to end; a failover during a burst loses nothing', async () => {
    const topology = sentinel;
    if (!topology) throw new Error('no sentinel');
    running = await startBridgeProcess(
      `  sentinel: { name: ${topology.name}, nodes: [${topology.sentinels.join(', ')}] }`,
    );
    const { url } = running;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    const primary = await topology.primaryPort();
    await burstThrough(running, async () => {
      expect(await topology.failover()).not.toBe(primary);
    });
    expect(running.cm.control.comments('acme', 'emails')).toHaveLength(100);
    await eventually(async () => (await fetch(`${url}/readyz`)).status === 200, 10_000, 100);
  }, 120_000);
});
