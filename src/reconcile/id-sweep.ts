/**
 * The id sweep: records purged from the recycle bin (or hard-deleted) leave no trace that a
 * SystemModstamp query or queryAll can find (docs/salesforce.md#systemmodstamp-watermarks). At a lower
 * frequency than the watermark run, compare the ids in scope in Salesforce with the ids the source
 * holds, and REFRESH each held id that is no longer in scope: the worker's fetch finds it absent and
 * deletes its comment.
 *
 * A record created after the id scan but pushed before the comparison looks missing too; its REFRESH
 * finds it present and changes nothing. False positives cost a fetch, never a wrong delete.
 */
import type { RedisClient } from '../store/redis.ts';
import type { ObjectConfig } from '../config/index.ts';
import type { ChangeJob } from '../model/change.ts';
import { integrationKeys } from '../store/keys.ts';
import { scanIds } from './record-scan.ts';
import type { ReconcileDeps } from './reconcile-object.ts';

export interface SweepResult {
  /** Ids in scope in Salesforce. */
  inScope: number;
  /** Ids the source holds as present. */
  held: number;
  /** Held ids not in scope: enqueued for a REFRESH. */
  refreshed: number;
}

export interface SweepDeps extends ReconcileDeps {
  redis: RedisClient;
  /** The bridge's Redis key prefix. */
  prefix: string;
}

const HSCAN_COUNT = 1_000;

export async function sweepObject(object: ObjectConfig, deps: SweepDeps): Promise<SweepResult> {
  const startedAt = (deps.now ?? Date.now)();
  // 15-character prefixes: Salesforce treats 15- and 18-character forms as one record.
  const inScope = new Set<string>();
  for await (const ids of scanIds(deps.rest, {
    object: object.name,
    where: object.where,
    ...(deps.rowsPerQuery ? { rowsPerQuery: deps.rowsPerQuery } : {}),
    signal: deps.signal,
  })) {
    for (const id of ids) inScope.add(id.slice(0, 15));
  }

  const versionsKey = integrationKeys(deps.prefix, deps.integration.key).versions(object.name);
  const result: SweepResult = { inScope: inScope.size, held: 0, refreshed: 0 };
  let cursor = '0';
  do {
    const [next, flat] = await deps.redis.hscan(versionsKey, cursor, 'COUNT', HSCAN_COUNT);
    cursor = next;
    const missing: ChangeJob[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const recordId = flat[i] as string;
      // Stored as `version|p|hash|at|commentId` (RecordVersions): `p` is present, `d` deleted.
      if ((flat[i + 1] as string).split('|')[1] !== 'p') continue;
      result.held++;
      if (inScope.has(recordId.slice(0, 15))) continue;
      missing.push({
        integration: deps.integration.key,
        object: object.name,
        recordId,
        kind: 'REFRESH',
        origin: 'reconcile',
        enqueuedAt: startedAt,
      });
    }
    if (missing.length > 0) {
      await deps.queue.enqueue(missing, () => `sweep${startedAt}`);
      result.refreshed += missing.length;
    }
  } while (cursor !== '0');
  return result;
}
