/**
 * Durable CDC positions, per integration and channel: the replay id of the last event that is
 * safely enqueued (never one merely received). A restart resumes from here.
 */
import type { RedisClient } from './redis.ts';
import { z } from 'zod';
import { integrationKeys } from './keys.ts';
import { advanceReplay } from './scripts.ts';

/**
 * An enqueue in flight: the job ids being written and the positions they complete. Written before
 * the jobs, cleared after the checkpoint; found at start-up, it tells whether the jobs made it.
 */
export const PendingEnqueueSchema = z.object({
  jobIds: z.array(z.string()),
  positions: z.record(z.string(), z.number()),
});
export type PendingEnqueue = z.infer<typeof PendingEnqueueSchema>;

export class ReplayStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  /** channel → replay id; channels never checkpointed are absent. */
  async positions(integration: string): Promise<Map<string, number>> {
    const hash = await this.redis.hgetall(integrationKeys(this.prefix, integration).replay());
    return new Map(Object.entries(hash).map(([channel, value]) => [channel, Number(value)]));
  }

  async position(integration: string, channel: string): Promise<number | undefined> {
    const value = await this.redis.hget(integrationKeys(this.prefix, integration).replay(), channel);
    return value === null ? undefined : Number(value);
  }

  /** Called after the events up to `replayId` are in the queue. */
  checkpoint(integration: string, channel: string, replayId: number): Promise<boolean> {
    return advanceReplay(this.redis, integrationKeys(this.prefix, integration).replay(), channel, replayId);
  }

  async setPending(integration: string, pending: PendingEnqueue): Promise<void> {
    await this.redis.set(integrationKeys(this.prefix, integration).pendingEnqueue(), JSON.stringify(pending));
  }

  async pending(integration: string): Promise<PendingEnqueue | undefined> {
    const raw = await this.redis.get(integrationKeys(this.prefix, integration).pendingEnqueue());
    const parsed = raw === null ? undefined : PendingEnqueueSchema.safeParse(JSON.parse(raw));
    return parsed?.success ? parsed.data : undefined;
  }

  async clearPending(integration: string): Promise<void> {
    await this.redis.del(integrationKeys(this.prefix, integration).pendingEnqueue());
  }

  /** Forget a channel's position (an invalid replay id: resubscribe at -1 and reconcile). */
  async reset(integration: string, channel: string): Promise<void> {
    await this.redis.hdel(integrationKeys(this.prefix, integration).replay(), channel);
  }
}
