/**
 * Durable CDC positions, per integration and channel: the replay id of the last event that is
 * safely enqueued (never one merely received). A restart resumes from here.
 */
import type { Redis } from 'ioredis';
import { integrationKeys } from './keys.ts';
import { advanceReplay } from './scripts.ts';

export class ReplayStore {
  constructor(
    private readonly redis: Redis,
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

  /** Forget a channel's position (an invalid replay id: resubscribe at -1 and reconcile). */
  async reset(integration: string, channel: string): Promise<void> {
    await this.redis.hdel(integrationKeys(this.prefix, integration).replay(), channel);
  }
}
