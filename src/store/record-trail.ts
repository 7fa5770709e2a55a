/**
 * The last thing that happened to each record, for "where is record X?": which change reached a
 * worker (kind, origin, replay id, when it was enqueued), when it was processed and the outcome.
 * One multi-field HSET per object per batch, each entry a compact `|`-separated string (written for
 * every change, read once in a while). With the record's pushed version (record-versions.ts) and
 * its dead letters, it answers the admin's lookup.
 */
import type { RedisClient } from './redis.ts';
import { z } from 'zod';
import { ReplayIdSchema, type ChangeJob } from '../model/change.ts';
import { integrationKeys } from './keys.ts';

export const TrailEntrySchema = z.object({
  /** When the worker processed it (ISO). */
  at: z.string(),
  outcome: z.enum(['pushed', 'deleted', 'unchanged', 'stale', 'dead_lettered']),
  kind: z.string(),
  origin: z.string(),
  enqueuedAt: z.string(),
  replayId: ReplayIdSchema.optional(),
  channel: z.string().optional(),
});
export type TrailEntry = z.infer<typeof TrailEntrySchema>;

export class RecordTrail {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly integration: string,
    private readonly now: () => number = Date.now,
  ) {}

  async write(
    entries: ReadonlyArray<{
      object: string;
      recordId: string;
      outcome: TrailEntry['outcome'];
      change: ChangeJob | undefined;
    }>,
  ): Promise<void> {
    if (entries.length === 0) return;
    const at = this.now();
    const byObject = new Map<string, Record<string, string>>();
    for (const { object, recordId, outcome, change } of entries) {
      const fields = byObject.get(object) ?? {};
      fields[recordId] = [
        at,
        outcome,
        change?.kind ?? 'unknown',
        change?.origin ?? 'unknown',
        change?.enqueuedAt ?? 0,
        change?.replayId ?? '',
        change?.channel ?? '',
      ].join('|');
      byObject.set(object, fields);
    }
    const keys = integrationKeys(this.prefix, this.integration);
    const pipeline = this.redis.pipeline();
    for (const [object, fields] of byObject) pipeline.hset(keys.trail(object), fields);
    await pipeline.exec();
  }

  async read(object: string, recordId: string): Promise<TrailEntry | undefined> {
    const raw = await this.redis.hget(integrationKeys(this.prefix, this.integration).trail(object), recordId);
    if (raw === null) return undefined;
    const [at, outcome, kind, origin, enqueuedAt, replayId, channel] = raw.split('|');
    if (!Number.isFinite(Number(at)) || !Number.isFinite(Number(enqueuedAt))) return undefined;
    const parsed = TrailEntrySchema.safeParse({
      at: new Date(Number(at)).toISOString(),
      outcome,
      kind,
      origin,
      enqueuedAt: new Date(Number(enqueuedAt)).toISOString(),
      ...(replayId ? { replayId: replayId.startsWith('0x') ? replayId : Number(replayId) } : {}),
      ...(channel ? { channel } : {}),
    });
    return parsed.success ? parsed.data : undefined;
  }
}
