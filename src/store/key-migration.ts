/**
 * One-time move of a single Redis from the untagged key layout to the hash-tagged one
 * (docs/redis.md, "Upgrading from the untagged layout"). Every key keeps its value and TTL (RENAME);
 * a key whose new name already exists is left where it is and counted, never overwritten.
 */
import type { Redis } from 'ioredis';
import { currentNameOfLegacyKey } from './keys.ts';

export interface KeyMigrationReport {
  renamed: number;
  /** Old keys left in place because their new name already held a value. */
  kept: string[];
}

/** Client names of the bridge's processes (see createRedis), other than `own`, connected to this Redis now. */
export async function otherBridgeClients(redis: Redis, own: string): Promise<string[]> {
  const list = String(await redis.call('CLIENT', 'LIST'));
  return list
    .split('\n')
    .map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith('sf-cm-bridge:') && name !== own);
}

export async function migrateKeyLayout(
  redis: Redis,
  legacyPrefix: string,
  prefix: string,
): Promise<KeyMigrationReport> {
  const report: KeyMigrationReport = { renamed: 0, kept: [] };
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(legacyPrefix)}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const target = currentNameOfLegacyKey(legacyPrefix, prefix, key);
      if (target === undefined || target === key) continue;
      if ((await redis.renamenx(key, target)) === 1) report.renamed++;
      else report.kept.push(key);
    }
  } while (cursor !== '0');
  return report;
}

/** SCAN patterns treat `* ? [ ] \` as special; a prefix is matched literally. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
