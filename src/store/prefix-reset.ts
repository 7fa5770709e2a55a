/**
 * Delete every key under a prefix, on every master of the topology. Only the demo uses it: its
 * sandbox org starts empty on every run, so tokens, positions and dead letters kept from an earlier
 * run describe an org that no longer exists (docs/runtime.md, "The demo").
 */
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './redis.ts';
import { escapeGlob } from './key-migration.ts';

/** Deletes `<prefix>:*`; returns how many keys went. */
export async function deleteKeysUnder(redis: RedisClient, prefix: string): Promise<number> {
  const nodes: Redis[] = redis instanceof Cluster ? redis.nodes('master') : [redis];
  let deleted = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${escapeGlob(prefix)}:*`, 'COUNT', 1000);
      cursor = next;
      // One key per UNLINK: keys of different hash slots may not share a command on a cluster.
      for (const key of keys) deleted += await node.unlink(key);
    } while (cursor !== '0');
  }
  return deleted;
}
