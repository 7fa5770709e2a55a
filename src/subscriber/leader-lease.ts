/**
 * A leader lease in Redis: one holder per key across all replicas. `SET key owner NX PX ttl`
 * takes it; the holder renews it every `renewEveryMs` with a compare-and-expire (only while the
 * key still holds its own owner token, so a holder that lost it can never extend someone else's);
 * a standby tries every `standbyPollMs`, so after a holder dies another takes over within
 * `ttlMs + standbyPollMs`.
 *
 * The owner token is the fencing token: a holder that cannot renew in time (Redis unreachable for
 * a whole ttl, a long GC pause) must assume it lost the lease and stop at once. What a stale holder
 * could still write is harmless: job ids are deterministic and checkpoints never move backwards.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
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
  /** Standby tries to take the lease this often, ms. @defaultValue 2000 */
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
  readonly owner: string;
  readonly #timings: LeaseTimings;
  #holding = false;
  #lastRenewedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #tick: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly listener: LeaseListener,
    private readonly logger: Logger,
    timings: Partial<LeaseTimings> = {},
  ) {
    this.#timings = { ...DEFAULT_LEASE_TIMINGS, ...timings };
    this.owner = `${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
  }

  get holding(): boolean {
    return this.#holding;
  }

  /** Start competing for the lease (the first attempt runs now). */
  start(): Promise<void> {
    this.#schedule(0);
    return this.#tick;
  }

  /** Stop renewing and give the lease up so a standby takes over at once. */
  async release(): Promise<void> {
    this.#stop();
    await this.#tick.catch(() => undefined);
    if (!this.#holding) return;
    this.#holding = false;
    await releaseLock(this.redis, this.key, this.owner).catch((err: unknown) =>
      this.logger.warn({ err }, 'could not release the lease; it expires on its own'),
    );
  }

  /** Stop without releasing (the lease expires after its ttl): what a crash leaves. */
  abandon(): void {
    this.#stop();
    this.#holding = false;
  }

  #stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#tick = this.#step().finally(() =>
        this.#schedule(this.#holding ? this.#timings.renewEveryMs : this.#timings.standbyPollMs),
      );
    }, ms);
    this.#timer.unref();
  }

  async #step(): Promise<void> {
    if (this.#stopped) return;
    try {
      if (this.#holding) {
        const renewed = (await this.redis.eval(RENEW_LEASE, 1, this.key, this.owner, this.#timings.ttlMs)) === 1;
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by close() while this call awaited
        if (this.#stopped) return;
        if (renewed) this.#lastRenewedAt = Date.now();
        else this.#lose('lease taken over or expired');
      } else {
        const taken = await this.redis.set(this.key, this.owner, 'PX', this.#timings.ttlMs, 'NX');
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by close() while this call awaited
        if (this.#stopped || taken !== 'OK') return;
        this.#holding = true;
        this.#lastRenewedAt = Date.now();
        this.logger.info({ lease: this.key }, 'lease acquired: this process streams the integration');
        this.listener.acquired();
      }
    } catch (err) {
      this.logger.warn({ err, lease: this.key }, 'lease renewal failed');
      // Give up before the ttl can run out under us: by then someone else may hold it.
      const deadline = this.#timings.ttlMs - this.#timings.renewEveryMs;
      if (this.#holding && Date.now() - this.#lastRenewedAt >= deadline)
        this.#lose('lease not renewable within its ttl');
    }
  }

  #lose(why: string): void {
    this.#holding = false;
    this.logger.warn({ lease: this.key, why }, 'lease lost: stopping the stream');
    this.listener.lost();
  }
}
