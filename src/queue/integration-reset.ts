/**
 * Moving an integration to another Salesforce org starts it from a clean position
 * (docs/security.md, "Org pinning"): the old org's replay positions, watermarks, record versions,
 * trail, backfill progress and dead letters mean nothing in the new org, and its waiting change
 * jobs name records the new org does not have.
 *
 * Comments already in the source are left alone: with the record versions gone, the id sweep
 * holds no id of the old org, so it never takes the old org's records for deleted ones.
 */
import type { RedisClient } from '../store/redis.ts';
import type { IntegrationConfig } from '../config/index.ts';
import type { ChangeQueue } from './change-queue.ts';
import { integrationKeys } from '../store/keys.ts';

export async function resetIntegrationPosition(
  redis: RedisClient,
  prefix: string,
  integration: IntegrationConfig,
  queue: ChangeQueue | undefined,
): Promise<void> {
  const keys = integrationKeys(prefix, integration.key);
  const perObject = integration.objects.flatMap((object) => [
    keys.objectState(object.name),
    keys.versions(object.name),
    keys.trail(object.name),
    keys.watermark(object.name),
    keys.backfill(object.name),
  ]);
  // Waiting and delayed jobs first, so no worker picks up an old-org record after the keys are gone.
  await queue?.queue.drain(true);
  await redis.del(
    keys.replay(),
    keys.pubsubReplay(),
    keys.pendingEnqueue(),
    keys.reconcileRequests(),
    keys.deadLetters(),
    keys.deadLetterIndex(),
    keys.apiUsage(),
    ...perObject,
  );
}
