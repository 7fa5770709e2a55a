/**
 * The subscriber: the integrations with a `mode: cdc` object are shared between the live subscriber
 * replicas ({@link ShareBalancer}, docs/subscriber.md); for each one it takes, it holds the leader
 * lease and runs the integration's {@link IntegrationStream}. Token events from any process steer
 * the streams: `authorized` resumes a paused one, `refreshed` moves it to the new token,
 * `needs_reauth` and `disconnected` pause it.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisClient } from '../store/redis.ts';
import type { Logger } from 'pino';
import type { MetricsRecorder } from '../metrics/recorder.ts';
import type { BridgeConfig, IntegrationConfig } from '../config/index.ts';
import type { ChangeQueue } from '../queue/change-queue.ts';
import type { DeadLetterStore } from '../store/dead-letters.ts';
import { bridgeKeys, integrationKeys } from '../store/keys.ts';
import { ReplayStore } from '../store/replay-store.ts';
import type { TokenEvent, TokenService } from '../auth/token-service.ts';
import { IntegrationStream, type StreamTimings } from './integration-stream.ts';
import { DEFAULT_LEASE_TIMINGS, LeaderLease, type LeaseTimings } from './leader-lease.ts';
import { StreamStatus } from './stream-status.ts';
import { ShareBalancer, shareTimings, type SharedIntegration, type ShareTimings } from './share-balancer.ts';

export interface SubscriberDeps {
  config: BridgeConfig;
  logger: Logger;
  redis: RedisClient;
  tokens: TokenService;
  /** Each integration's change queue, built once by the process. */
  queues: ReadonlyMap<string, ChangeQueue>;
  deadLetters: DeadLetterStore;
  metrics?: MetricsRecorder;
}

export interface SubscriberOptions {
  /** Lease timings (tests shorten them). */
  lease?: Partial<LeaseTimings>;
  /** Sharing timings. @defaultValue derived from `lease.standbyPollMs` (see {@link shareTimings}) */
  share?: Partial<ShareTimings>;
  /** Stream timings and backoffs (tests shorten them). */
  stream?: Partial<StreamTimings>;
  /** Jitter source. @defaultValue Math.random */
  random?: () => number;
}

/** One integration in this process: its lease, and its stream while we hold the lease. */
class IntegrationSlot implements SharedIntegration {
  readonly lease: LeaderLease;
  readonly queue: ChangeQueue;
  stream: IntegrationStream | undefined;

  constructor(
    readonly integration: IntegrationConfig,
    private readonly deps: SubscriberDeps,
    private readonly options: SubscriberOptions,
    replica: string,
  ) {
    const { redis, config, logger } = deps;
    const queue = deps.queues.get(integration.key);
    if (!queue) throw new Error(`no change queue for ${integration.key}`);
    this.queue = queue;
    this.lease = new LeaderLease(
      redis,
      integrationKeys(config.redis.prefix, integration.key).subscriberLease(),
      replica,
      { acquired: () => this.#lead(), lost: () => void this.#standDown() },
      logger.child({ integration: integration.key }),
      options.lease,
    );
  }

  get key(): string {
    return this.integration.key;
  }

  get holding(): boolean {
    return this.lease.holding;
  }

  take(): Promise<boolean> {
    return this.lease.tryAcquire();
  }

  /** Graceful: stop consuming, flush (enqueue + checkpoint), disconnect, then release the lease. */
  async handOver(): Promise<void> {
    const stream = this.stream;
    this.stream = undefined;
    await stream?.stop({ flush: true });
    await this.lease.release();
  }

  #lead(): void {
    const { redis, config, logger, tokens } = this.deps;
    const prefix = config.redis.prefix;
    this.stream = new IntegrationStream({
      integration: this.integration,
      tokens,
      queue: this.queue,
      replay: new ReplayStore(redis, prefix),
      deadLetters: this.deps.deadLetters,
      status: new StreamStatus(redis, prefix, this.integration.key),
      logger,
      ...(this.deps.metrics ? { metrics: this.deps.metrics } : {}),
      ...(this.options.stream ? { timings: this.options.stream } : {}),
      ...(this.options.random ? { random: this.options.random } : {}),
    });
    void this.stream.start();
  }

  /** Lost the lease: stop at once; the new leader replays what we had not checkpointed. */
  async #standDown(): Promise<void> {
    const stream = this.stream;
    this.stream = undefined;
    await stream?.stop({ flush: false });
  }

  onTokenEvent(event: TokenEvent): void {
    const stream = this.stream;
    if (!stream) return;
    switch (event.kind) {
      case 'authorized':
        stream.authorized();
        break;
      case 'refreshed':
        void stream.tokenRefreshed();
        break;
      case 'needs_reauth':
      case 'disconnected':
        stream.pause(event.kind);
        break;
    }
  }

  async close(): Promise<void> {
    await this.handOver();
    await this.queue.close();
  }

  abandon(): void {
    this.stream?.abandon();
    this.stream = undefined;
    this.lease.abandon();
  }
}

export class Subscriber {
  /** This replica's id (`host:pid:random`): its entry in the replica set and the value of the leases it holds. */
  readonly replica = `${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
  readonly #deps: SubscriberDeps;
  readonly #slots = new Map<string, IntegrationSlot>();
  readonly #balancer: ShareBalancer;
  #unsubscribe: (() => Promise<void>) | undefined;

  constructor(deps: SubscriberDeps, options: SubscriberOptions = {}) {
    this.#deps = deps;
    for (const integration of deps.config.integrations) {
      if (!integration.objects.some((o) => o.mode === 'cdc')) continue;
      this.#slots.set(integration.key, new IntegrationSlot(integration, deps, options, this.replica));
    }
    const pollMs = options.lease?.standbyPollMs ?? DEFAULT_LEASE_TIMINGS.standbyPollMs;
    const bridge = bridgeKeys(deps.config.redis.prefix);
    this.#balancer = new ShareBalancer(
      deps.redis,
      { live: bridge.subscriberReplicas(), joined: bridge.subscriberReplicasJoined() },
      this.replica,
      [...this.#slots.values()],
      deps.logger,
      shareTimings(pollMs, options.share),
    );
  }

  /** Listen to token events, then join the replicas sharing the integrations. */
  async start(): Promise<void> {
    this.#unsubscribe = await this.#deps.tokens.subscribe((event) =>
      this.#slots.get(event.integration)?.onTokenEvent(event),
    );
    await this.#balancer.start();
    this.#deps.logger.info({ replica: this.replica, integrations: [...this.#slots.keys()] }, 'subscriber started');
  }

  /** The integrations this replica streams now. */
  streaming(): string[] {
    return [...this.#slots.values()].filter((slot) => slot.holding).map((slot) => slot.key);
  }

  /** The running stream of `integration` in this process (undefined while standing by). */
  stream(integration: string): IntegrationStream | undefined {
    return this.#slots.get(integration)?.stream;
  }

  isLeader(integration: string): boolean {
    return this.#slots.get(integration)?.lease.holding ?? false;
  }

  /** Leave the replica set first (the others' shares grow), then hand every integration over. */
  async close(): Promise<void> {
    await this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await this.#balancer.close();
    await Promise.all([...this.#slots.values()].map((slot) => slot.close()));
  }

  /** Stop everything at once, releasing nothing: what `kill -9` leaves behind (takeover tests). */
  async abandon(): Promise<void> {
    this.#balancer.abandon();
    for (const slot of this.#slots.values()) slot.abandon();
    await this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await Promise.all([...this.#slots.values()].map((slot) => slot.queue.close()));
  }
}
