/**
 * The last thing that happened to each record, for "where is record X?": which change reached a
 * worker (kind, origin, replay id, when it was enqueued), when it was processed and the outcome.
 * One multi-field HSET per object per batch. With the record's pushed version (record-versions.ts)
 * and its dead letters, it answers the admin's lookup.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { ChangeJob } from './change-job.ts';
import { integrationKeys } from './keys.ts';

export const TrailEntrySchema = z.object({
  /** When the worker processed it (ISO). */
  at: z.string(),
  outcome: z.enum(['pushed', 'deleted', 'unchanged', 'stale', 'dead_lettered']),
  kind: z.string(),
  origin: z.string(),
  enqueuedAt: z.string(),
  replayId: z.number().optional(),
  channel: z.string().optional(),
});
export type TrailEntry = z.infer<typeof TrailEntrySchema>;

export class RecordTrail {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly integration: string,
    private readonly now: () => number = Date.now,
  ) {}

  async write(entries: ReadonlyArray<{ object: string; recordId: string; outcome: TrailEntry['outcome']; change: ChangeJob | undefined }>): Promise<void> {
    if (entries.length === 0) return;
    const at = new Date(this.now()).toISOString();
    const byObject = new Map<string, Record<string, string>>();
    for (const { object, recordId, outcome, change } of entries) {
      const entry: TrailEntry = {
        at,
        outcome,
        kind: change?.kind ?? 'unknown',
        origin: change?.origin ?? 'unknown',
        enqueuedAt: new Date(change?.enqueuedAt ?? 0).toISOString(),
        ...(change?.replayId !== undefined ? { replayId: change.replayId } : {}),
        ...(change?.channel !== undefined ? { channel: change.channel } : {}),
      };
      const fields = byObject.get(object) ?? {};
      fields[recordId] = JSON.stringify(entry);
      byObject.set(object, fields);
    }
    const keys = integrationKeys(this.prefix, this.integration);
    const pipeline = this.redis.pipeline();
    for (const [object, fields] of byObject) pipeline.hset(keys.trail(object), fields);
    await pipeline.exec();
  }

  async read(object: string, recordId: string): Promise<TrailEntry | undefined> {
    const raw = await this.redis.hget(integrationKeys(this.prefix, this.integration).trail(object), recordId);
    const parsed = raw === null ? undefined : TrailEntrySchema.safeParse(JSON.parse(raw));
    return parsed?.success ? parsed.data : undefined;
  }
}
