/**
 * The lifecycle both transports' streams share (CometD in integration-stream.ts, Pub/Sub in
 * pubsub-stream.ts), with the parts every stream has whatever its transport: the `mode: cdc` objects
 * it streams and the {@link EventIngest} their events go through. A client is never repaired in place: it is retired, and a new one is opened
 * after an optional backoff and once the ingest has drained, so the resubscribe asks for exactly the
 * durable position. Steps run one after another; a step that fails schedules a rebuild with backoff,
 * or pauses the stream while no token is usable (`NotAuthorizedError`) until the token service says
 * `authorized`.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Backoff } from '../salesforce/cometd/backoff.ts';
import { NotAuthorizedError } from '../salesforce/errors.ts';
import type { Transport } from '../config/index.ts';
import { EventIngest } from './event-ingest.ts';
import type {
  IntegrationStreamOptions,
  RebuildReason,
  StreamState,
  StreamStats,
  StreamTimings,
} from './stream-types.ts';

/** What a stream's transport does for the lifecycle. */
export interface StreamTransport {
  /** Whose replay positions the ingest reads and writes. */
  readonly kind: Transport;
  /** What logs call the client: `CometD`, `Pub/Sub`. */
  readonly name: string;
  /** Open a new client; `refreshRejected` is an access token Salesforce rejected, to refresh first. */
  open(refreshRejected?: string): Promise<void>;
  /** Retire the current client and its timers, if any; `graceful: false` is what a killed process leaves. */
  retire(graceful: boolean): void;
  /** The access token of the current client; undefined without one. */
  accessToken(): string | undefined;
}

export interface StreamLifecycleOptions extends Omit<IntegrationStreamOptions, 'timings' | 'logger'> {
  transport: StreamTransport;
  timings: StreamTimings;
  /** The stream's own logger (its integration and transport bound). */
  logger: Logger;
  /** The ingest's buffer is full, or has drained after that: what the transport does about it. */
  onPressure: (state: 'full' | 'drained') => void;
}

export class StreamLifecycle {
  readonly key: string;
  /** Channel (topic) → object, for the `mode: cdc` objects. */
  readonly objects: ReadonlyMap<string, string>;
  readonly ingest: EventIngest;
  state: StreamState = 'starting';
  pausedBecause: string | undefined;
  readonly backoffs: { rebuild: Backoff; connectionLimit: Backoff; dailyLimit: Backoff };
  readonly rebuilds: Partial<Record<RebuildReason, number>> = {};
  readonly #options: StreamLifecycleOptions;
  #rebuilding = false;
  #stopped = false;
  #task: Promise<void> = Promise.resolve();
  #sleep = new AbortController();

  constructor(options: StreamLifecycleOptions) {
    this.#options = options;
    this.key = options.integration.key;
    this.objects = new Map(options.integration.objects.filter((o) => o.mode === 'cdc').map((o) => [o.channel, o.name]));
    const { timings } = options;
    this.ingest = new EventIngest({
      integration: this.key,
      objectsByChannel: this.objects,
      queue: options.queue,
      replay: options.replay,
      transport: options.transport.kind,
      deadLetters: options.deadLetters,
      status: options.status,
      logger: options.logger,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      maxBatch: timings.maxBatch,
      highWaterMark: timings.highWaterMark,
      onPressure: options.onPressure,
      ...(options.now ? { now: options.now } : {}),
    });
    const random = options.random ?? Math.random;
    this.backoffs = {
      rebuild: new Backoff(options.timings.rebuild, random),
      connectionLimit: new Backoff(options.timings.connectionLimit, random),
      dailyLimit: new Backoff(options.timings.dailyLimit, random),
    };
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** A client was retired and the next one is not open yet. */
  get rebuilding(): boolean {
    return this.#rebuilding;
  }

  /** The stream's stats: the lifecycle's and the ingest's, with what the transport counts itself. */
  stats(
    transportCounts: Pick<
      StreamStats,
      'clientsBuilt' | 'unknownClients' | 'rehandshakes' | 'replayResets' | 'channels'
    >,
  ): StreamStats {
    const { ingest } = this;
    return {
      state: this.state,
      pausedBecause: this.pausedBecause,
      rebuilds: { ...this.rebuilds },
      ...transportCounts,
      ingest: { ...ingest.stats },
      buffered: ingest.buffered,
    };
  }

  /** The client answered: the next failure starts its backoffs from the beginning. */
  live(): void {
    this.backoffs.rebuild.reset();
    this.backoffs.connectionLimit.reset();
    this.backoffs.dailyLimit.reset();
  }

  /** Open the stream (resolves once the first client is built, or the stream is paused). */
  async start(): Promise<void> {
    this.run(() => this.#options.transport.open());
    await this.#task;
  }

  /** The token service says the integration is authorised (again): resume a paused stream. */
  authorized(): void {
    if (this.state === 'paused') this.rebuild('authorized', 0);
  }

  /** Another process refreshed the token: move to it if our client still uses the old one. */
  async tokenRefreshed(): Promise<void> {
    const { transport, tokens } = this.#options;
    const key = this.key;
    const token = transport.accessToken();
    if (token === undefined || this.#rebuilding) return;
    const session = await tokens.session(key).catch(() => undefined);
    if (session && transport.accessToken() === token && session.accessToken !== token)
      this.rebuild('token_refreshed', 0);
  }

  /** No usable token any more (`needs_reauth`, `disconnected`): stop quietly until `authorized`. */
  pause(because: string): void {
    if (this.#stopped) return;
    this.#options.transport.retire(true);
    this.#sleep.abort();
    this.state = 'paused';
    this.pausedBecause = because;
    // A first run is not authorised yet: "again" would suggest something broke.
    if (because === 'unauthorized') this.#options.logger.info('stream waits until the integration is authorised');
    else this.#options.logger.warn({ because }, 'stream paused until the integration is authorised again');
  }

  /**
   * Stop consuming, then (with `flush`) enqueue and checkpoint what is buffered. Without `flush`
   * (a lost lease) buffered events are dropped here: the next leader replays them from the
   * durable position.
   */
  async stop({ flush = true }: { flush?: boolean } = {}): Promise<void> {
    this.#halt();
    this.#options.transport.retire(true);
    if (flush) await this.ingest.drained();
    this.ingest.close();
    await this.#task.catch(() => undefined);
  }

  /** What a killed process leaves: no disconnect, no flush (tests of takeover use it). */
  abandon(): void {
    this.#halt();
    this.#options.transport.retire(false);
    this.ingest.close();
  }

  /** Run `step` after whatever transition is in progress; failures schedule a rebuild. */
  run(step: () => Promise<void>): void {
    this.#task = this.#task.then(async () => {
      if (this.#stopped) return;
      try {
        await step();
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by stop() while this call awaited
        if (this.#stopped) return;
        if (error instanceof NotAuthorizedError) {
          this.pause(error.state);
          return;
        }
        const wait = this.backoffs.rebuild.next();
        this.#options.logger.warn(
          { err: error, retryInMs: wait },
          `could not open the ${this.#options.transport.name} stream; retrying`,
        );
        this.#rebuilding = false;
        this.rebuild('retry', wait);
      }
    });
  }

  /** Retire the client now, then (after `delayMs` and a drained buffer) open a new one. */
  rebuild(reason: RebuildReason, delayMs: number, options: { refreshRejected?: string } = {}): void {
    if (this.#stopped || this.#rebuilding) return;
    const { transport, status, logger } = this.#options;
    const { ingest, objects } = this;
    this.#rebuilding = true;
    this.rebuilds[reason] = (this.rebuilds[reason] ?? 0) + 1;
    transport.retire(true);
    logger.info({ reason, delayMs }, `rebuilding the ${transport.name} client`);
    for (const object of objects.values()) void status.countReconnect(object).catch(() => undefined);
    this.run(async () => {
      try {
        if (delayMs > 0) {
          this.state = 'backing_off';
          await this.#pause(delayMs);
        }
        // Resubscribe from a position that covers everything received so far.
        await ingest.drained();
        if (this.#stopped) return;
        await transport.open(options.refreshRejected);
      } finally {
        this.#rebuilding = false;
      }
    });
  }

  /** Every object reconciles from its last commit (a delivery allocation used up), and shows why. */
  async reconcileAll(reason: string): Promise<void> {
    const { status, timings } = this.#options;
    for (const object of this.objects.values()) {
      const lastCommit = await status.lastCommitAt(object);
      const since = lastCommit === undefined ? null : lastCommit - timings.reconcileMarginMs;
      await status.requestReconcile(object, since, reason);
      await status.setError(object, reason);
    }
  }

  #halt(): void {
    this.#stopped = true;
    this.state = 'stopped';
    this.#sleep.abort();
  }

  /** Sleep that `stop()`/`pause()` cut short. */
  async #pause(ms: number): Promise<void> {
    this.#sleep = new AbortController();
    await delay(ms, undefined, { signal: this.#sleep.signal }).catch(() => undefined);
  }
}
