/**
 * Durable CDC positions, per integration and channel: the replay id of the last event that is
 * safely enqueued (never one merely received). A restart resumes from here.
 *
 * Each transport keeps its own positions (docs/pubsub.md#replay-positions): CometD's integer ids in
 * one hash, Pub/Sub's opaque `0x…` ids in another, so a transport switch never sends one kind to
 * the other service.
 */
import type { RedisClient } from './redis.ts';
import { z } from 'zod';
import type { Transport } from '../config/index.ts';
import { ReplayIdSchema, type ReplayId } from '../model/change.ts';
import { integrationKeys } from './keys.ts';
import { advanceReplay } from './scripts.ts';

/**
 * An enqueue in flight: the job ids being written and the positions they complete. Written before
 * the jobs, cleared after the checkpoint; found at start-up, it tells whether the jobs made it.
 */
export const PendingEnqueueSchema = z.object({
  jobIds: z.array(z.string()),
  positions: z.record(z.string(), ReplayIdSchema),
  /** Whose positions these are. @defaultValue cometd (written before Pub/Sub existed) */
  transport: z.enum(['cometd', 'pubsub']).optional(),
});
export type PendingEnqueue = z.infer<typeof PendingEnqueueSchema>;

/** One transport's positions of every integration. */
export interface TransportPositions {
  readonly transport: Transport;
  /** channel → replay id; channels never checkpointed are absent. */
  positions(integration: string): Promise<Map<string, ReplayId>>;
  /** Called after the events up to `replayId` are in the queue. */
  checkpoint(integration: string, channel: string, replayId: ReplayId): Promise<boolean>;
  /** Forget a channel's position (an invalid replay id: resubscribe at the tip and reconcile). */
  reset(integration: string, channel: string): Promise<void>;
}

export class ReplayStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  /** channel → CometD replay id; channels never checkpointed are absent. */
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

  /** topic → Pub/Sub replay id (`0x…`). */
  async pubsubPositions(integration: string): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.redis.hgetall(integrationKeys(this.prefix, integration).pubsubReplay())));
  }

  /**
   * Pub/Sub ids are opaque, so unlike CometD's they cannot be compared: the last write wins. Flushes
   * of one stream run in arrival order, and a stream that lost its lease writes nothing more.
   */
  async checkpointPubsub(integration: string, channel: string, replayId: string): Promise<boolean> {
    await this.redis.hset(integrationKeys(this.prefix, integration).pubsubReplay(), channel, replayId);
    return true;
  }

  /** The positions of one transport, behind one interface. */
  transport(transport: Transport): TransportPositions {
    if (transport === 'pubsub') {
      return {
        transport,
        positions: (integration) => this.pubsubPositions(integration),
        checkpoint: (integration, channel, replayId) => this.checkpointPubsub(integration, channel, String(replayId)),
        reset: async (integration, channel) => {
          await this.redis.hdel(integrationKeys(this.prefix, integration).pubsubReplay(), channel);
        },
      };
    }
    return {
      transport,
      positions: (integration) => this.positions(integration),
      checkpoint: (integration, channel, replayId) => this.checkpoint(integration, channel, Number(replayId)),
      reset: (integration, channel) => this.reset(integration, channel),
    };
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

  /** Forget a channel's CometD position (an invalid replay id: resubscribe at -1 and reconcile). */
  async reset(integration: string, channel: string): Promise<void> {
    await this.redis.hdel(integrationKeys(this.prefix, integration).replay(), channel);
  }
}
