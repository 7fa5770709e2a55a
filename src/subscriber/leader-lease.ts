/**
 * A leader lease in Redis: one holder per key across all replicas. `SET key owner NX PX ttl`
 * takes it ({@link LeaderLease.tryAcquire}, called by the replica's share balancer when it wants
 * the integration); the holder renews it every `renewEveryMs` with a compare-and-expire (only while
 * the key still holds its own owner token, so a holder that lost it can never extend someone
 * else's). A holder that dies stops renewing, so the lease is free again within `ttlMs`.
 *
 * The owner token is the fencing token: a holder that cannot renew in time (Redis unreachable for
 * a whole ttl, a long GC pause) must assume it lost the lease and stop at once. What a stale holder
 * could still write is harmless: job ids are deterministic and checkpoints never move backwards.
 * The owner token is the replica id (docs/subscriber.md), so the lease says which replica streams.
 */
import type { RedisClient } from '../store/redis.ts';
import type { Logger } from 'pino';
import { releaseLock } from '../store/scripts.ts';

/**
 * Extend a lease only if we still hold it.
 * KEYS[1] lease key · ARGV[1] owner token · ARGV[2] ttl ms · returns 1 when extended, 0 when not ours.
 */
const RENEW_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

export interface LeaseTimings {
  /** Lease lifetime without renewal, ms. @defaultValue 10000 */
  ttlMs: number;
  /** Holder renews this often, ms (well inside the ttl). @defaultValue 3000 */
  renewEveryMs: number;
  /** A replica below its share tries to take free leases this often, ms (docs/subscriber.md). @defaultValue 2000 */
  standbyPollMs: number;
}

export const DEFAULT_LEASE_TIMINGS: LeaseTimings = { ttlMs: 10_000, renewEveryMs: 3_000, standbyPollMs: 2_000 };

export interface LeaseListener {
  /** We hold the lease now. */
  acquired(): void;
  /** We no longer hold it (taken over, expired, or not renewable in time): stop at once. */
  lost(): void;
}

export class LeaderLease {
  readonly #timings: LeaseTimings;
  #holding = false;
  #lastRenewedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Bumped by every acquire, release and loss: a renewal that awaited across one is void. */
  #term = 0;
  #renewal: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    /** The replica id: the value of the key while we hold it. */
    readonly owner: string,
    private readonly listener: LeaseListener,
    private readonly logger: Logger,
    timings: Partial<LeaseTimings> = {},
  ) {
    this.#timings = { ...DEFAULT_LEASE_TIMINGS, ...timings };
  }

  get holding(): boolean {
    return this.#holding;
  }

  /** Take the lease if nobody holds it; true when we hold it now. */
  async tryAcquire(): Promise<boolean> {
    if (this.#holding) return true;
    const term = this.#term;
    const taken = await this.redis.set(this.key, this.owner, 'PX', this.#timings.ttlMs, 'NX');
    if (taken !== 'OK') return false;
    if (term !== this.#term) {
      // Released or abandoned while the SET was in flight: give back what we just took.
      await releaseLock(this.redis, this.key, this.owner).catch(() => undefined);
      return false;
    }
    this.#holding = true;
    this.#term += 1;
    this.#lastRenewedAt = Date.now();
    this.#scheduleRenewal();
    this.logger.info({ lease: this.key }, 'lease acquired: this process streams the integration');
    this.listener.acquired();
    return true;
  }

  /** Stop renewing and give the lease up so another replica takes over at once. */
  async release(): Promise<void> {
    const wasHolding = this.#holding;
    this.#stop();
    await this.#renewal.catch(() => undefined);
    if (!wasHolding) return;
    await releaseLock(this.redis, this.key, this.owner).catch((err: unknown) =>
      this.logger.warn({ err }, 'could not release the lease; it expires on its own'),
    );
  }

  /** Stop without releasing (the lease expires after its ttl): what a crash leaves. */
  abandon(): void {
    this.#stop();
  }

  #stop(): void {
    this.#holding = false;
    this.#term += 1;
    clearTimeout(this.#timer);
  }

  #scheduleRenewal(): void {
    const term = this.#term;
    this.#timer = setTimeout(() => {
      this.#renewal = this.#renew(term).finally(() => {
        if (term === this.#term) this.#scheduleRenewal();
      });
    }, this.#timings.renewEveryMs);
    this.#timer.unref();
  }

  async #renew(term: number): Promise<void> {
    try {
      const renewed = (await this.redis.eval(RENEW_LEASE, 1, this.key, this.owner, this.#timings.ttlMs)) === 1;
      if (term !== this.#term) return;
      if (renewed) this.#lastRenewedAt = Date.now();
      else this.#lose('lease taken over or expired');
    } catch (err) {
      this.logger.warn({ err, lease: this.key }, 'lease renewal failed');
      // Give up before the ttl can run out under us: by then someone else may hold it.
      const deadline = this.#timings.ttlMs - this.#timings.renewEveryMs;
      if (term === this.#term && Date.now() - this.#lastRenewedAt >= deadline)
        this.#lose('lease not renewable within its ttl');
    }
  }

  #lose(why: string): void {
    this.#stop();
    this.logger.warn({ lease: this.key, why }, 'lease lost: stopping the stream');
    this.listener.lost();
  }
}
