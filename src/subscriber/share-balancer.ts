/**
 * The replica's part in sharing the integrations (docs/subscriber.md): every tick it reports itself
 * live in the deployment-wide membership set, reads the live replicas, and moves towards its fair
 * share ({@link planShare}): below it, it takes free integrations; above it for `settleMs`, it hands
 * its excess over gracefully (flush, checkpoint, release), and the replica below its share takes
 * them. The per-integration lease stays the fencing: taking is `SET NX`, so no integration is ever
 * streamed twice, whatever two replicas believe about the membership.
 */
import type { Logger } from 'pino';
import type { RedisClient } from '../store/redis.ts';
import { replicaHeartbeat } from '../store/scripts.ts';
import { planShare } from './fair-share.ts';

/** One integration as the balancer sees it. */
export interface SharedIntegration {
  readonly key: string;
  /** This replica streams it (holds its lease). */
  readonly holding: boolean;
  /** Take it if no replica streams it; true when this replica streams it now. */
  take(): Promise<boolean>;
  /** Stop streaming it gracefully (flush = enqueue + checkpoint), then release its lease. */
  handOver(): Promise<void>;
}

export interface ShareTimings {
  /** Heartbeat, and try free integrations while below the share, this often, ms. @defaultValue the lease's standbyPollMs (2000) */
  tickMs: number;
  /** A replica not heard from for this long is gone, ms. @defaultValue 3 × tickMs */
  memberTtlMs: number;
  /** Hand over only what stayed above the share this long (a joining or flapping replica does not cause churn), ms. @defaultValue 2 × tickMs */
  settleMs: number;
}

export function shareTimings(tickMs: number, overrides: Partial<ShareTimings> = {}): ShareTimings {
  return { tickMs, memberTtlMs: 3 * tickMs, settleMs: 2 * tickMs, ...overrides };
}

export class ShareBalancer {
  readonly #integrations: ReadonlyMap<string, SharedIntegration>;
  readonly #handingOver = new Map<string, Promise<void>>();
  #replicas: readonly string[] = [];
  #ticks = 0;
  #excessSince: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(
    private readonly redis: RedisClient,
    /** The membership (`bridgeKeys(prefix).subscriberReplicas()` and `.subscriberReplicasJoined()`). */
    private readonly membership: { live: string; joined: string },
    readonly replica: string,
    integrations: readonly SharedIntegration[],
    private readonly logger: Logger,
    private readonly timings: ShareTimings,
  ) {
    this.#integrations = new Map(integrations.map((integration) => [integration.key, integration]));
  }

  /** The live replicas as of the last heartbeat (this one included). */
  get replicas(): readonly string[] {
    return this.#replicas;
  }

  /** Report this replica live now; it takes integrations from the next tick on, once replicas starting with it are seen. */
  start(): Promise<void> {
    this.#tick = this.#step();
    return this.#tick.finally(() => this.#schedule());
  }

  /** Stop balancing, let handovers finish, and leave the membership (before the leases go, so the others' shares grow first). */
  async close(): Promise<void> {
    this.#stop();
    await this.#tick.catch(() => undefined);
    await Promise.all(this.#handingOver.values());
    const { live, joined } = this.membership;
    await Promise.all([this.redis.zrem(live, this.replica), this.redis.zrem(joined, this.replica)]).catch(
      (err: unknown) => this.logger.warn({ err }, 'could not leave the replica set; the entry expires on its own'),
    );
  }

  /** Stop without leaving (the entry expires after the member ttl): what a crash leaves. */
  abandon(): void {
    this.#stop();
  }

  #stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#tick = this.#step().finally(() => this.#schedule());
    }, this.timings.tickMs);
    this.#timer.unref();
  }

  async #step(): Promise<void> {
    try {
      const { live, joined } = this.membership;
      const replicas = await replicaHeartbeat(this.redis, live, joined, this.replica, this.timings.memberTtlMs);
      if (this.#stopped) return;
      this.#ticks += 1;
      if (replicas.join(' ') !== this.#replicas.join(' '))
        this.logger.info({ replica: this.replica, replicas }, 'subscriber replicas changed');
      this.#replicas = replicas;
      if (this.#ticks > 1) await this.#rebalance(replicas);
    } catch (err) {
      this.logger.warn({ err }, 'replica heartbeat failed; sharing paused until Redis answers');
    }
  }

  async #rebalance(replicas: readonly string[]): Promise<void> {
    const held = new Set<string>();
    for (const [key, integration] of this.#integrations)
      if (integration.holding && !this.#handingOver.has(key)) held.add(key);
    const plan = planShare({ self: this.replica, replicas, integrations: [...this.#integrations.keys()], held });

    if (plan.release.length === 0) this.#excessSince = undefined;
    else {
      this.#excessSince ??= Date.now();
      if (Date.now() - this.#excessSince >= this.timings.settleMs) {
        this.#excessSince = undefined;
        this.logger.info(
          { share: plan.share, handOver: plan.release },
          'above the fair share: handing integrations over',
        );
        for (const key of plan.release) this.#handOver(key);
      }
    }

    let missing = plan.share - held.size;
    const candidates = plan.candidates.filter((key) => !this.#handingOver.has(key));
    for (let next = 0; missing > 0 && next < candidates.length && !this.#stopped;) {
      const batch = candidates.slice(next, next + missing);
      next += batch.length;
      const taken = await Promise.all(batch.map((key) => this.#take(key)));
      missing -= taken.filter(Boolean).length;
    }
  }

  async #take(key: string): Promise<boolean> {
    try {
      return (await this.#integrations.get(key)?.take()) ?? false;
    } catch (err) {
      this.logger.warn({ err, integration: key }, 'could not try the lease');
      return false;
    }
  }

  #handOver(key: string): void {
    const integration = this.#integrations.get(key);
    if (!integration) return;
    const done = integration
      .handOver()
      .catch((err: unknown) =>
        this.logger.warn({ err, integration: key }, 'handover failed; the lease expires on its own'),
      )
      .finally(() => this.#handingOver.delete(key));
    this.#handingOver.set(key, done);
  }
}
