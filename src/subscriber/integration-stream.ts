/**
 * One integration's CDC stream: a CometD client subscribed to the channels of its `mode: cdc` objects,
 * feeding an {@link EventIngest}, and the self-healing around it (docs/salesforce.md#streaming-errors,
 * #recommended-subscriber-loop, #known-pitfalls).
 *
 * | what happened                                   | what the stream does                                          |
 * |-------------------------------------------------|---------------------------------------------------------------|
 * | `401::Authentication invalid`, handshake denied | refresh the token once, build a new client, resubscribe from the stored ids |
 * | `403::Unknown client`                           | faye handshakes and resubscribes; we verify every channel comes back |
 * | invalid replay id on subscribe                  | reset that channel, resubscribe at -1, request a reconciliation from its last commit |
 * | channel missing / not permitted                 | the object shows the error; the others keep streaming; retried later |
 * | daily delivery limit                            | disconnect, request reconciliation, back off long             |
 * | connection limit                                | disconnect, back off with jitter                              |
 * | no `/meta/connect` reply for timeout + margin   | silent stall: build a new client                              |
 * | server `/meta/disconnect`                        | build a new client                                            |
 * | buffer a flush behind (queue writes lag)         | hold the next `/meta/connect` until a flush catches up (≤ 20 s) |
 * | buffer full (queue writes lag)                  | disconnect; resubscribe once the buffer has drained           |
 * | no usable token (`NotAuthorizedError`)           | pause quietly until the token service says `authorized`       |
 *
 * A client is never repaired in place: it is retired and a new one is built after the buffer has
 * drained, so the resubscribe asks for exactly the durable position.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { MetricsRecorder } from '../metrics/recorder.ts';
import type { IntegrationConfig } from '../config/index.ts';
import type { DeadLetterStore } from '../store/dead-letters.ts';
import type { ReplayStore } from '../store/replay-store.ts';
import { NotAuthorizedError } from '../salesforce/errors.ts';
import type { SalesforceSession, SessionSource } from '../salesforce/session.ts';
import { Backoff, type BackoffPolicy } from '../salesforce/cometd/backoff.ts';
import { CometdClient } from '../salesforce/cometd/cometd-client.ts';
import {
  ChannelUnavailableError,
  ConnectionLimitError,
  DailyDeliveryLimitError,
  ReplayIdInvalidError,
  StreamAuthenticationError,
  UnknownClientError,
  type CometdError,
} from '../salesforce/cometd/errors.ts';
import { EventIngest, type ChangeJobSink, type IngestStats } from './event-ingest.ts';
import type { StreamStatus } from './stream-status.ts';

export interface StreamTimings {
  /** faye request timeout before the server advises one, seconds. @defaultValue 120 */
  requestTimeoutSeconds: number;
  /** faye's own handshake/transport retry, seconds. @defaultValue 5 */
  retrySeconds: number;
  /** Long-poll time assumed until a connect reply advises one, ms (docs/salesforce.md#key-numbers). @defaultValue 110000 */
  longPollTimeoutMs: number;
  /** How much longer than the long-poll timeout a stream may go without a connect reply, ms (docs/salesforce.md#recommended-subscriber-loop: 150 s in all). @defaultValue 40000 */
  stallMarginMs: number;
  /** How often the stall watchdog looks, ms. @defaultValue 5000 */
  watchdogIntervalMs: number;
  /** Reconciliations requested at first start reach back this far before the subscribe, ms. @defaultValue 60000 */
  reconcileMarginMs: number;
  /** After a re-handshake, channels not confirmed within this time are subscribed again, ms. @defaultValue 15000 */
  resubscribeCheckMs: number;
  /** Channels that were missing or denied are tried again this often, ms. @defaultValue 600000 */
  channelRetryMs: number;
  /** Rebuilds after auth failures, stalls, disconnects and transient errors. @defaultValue 1 s … 60 s */
  rebuild: BackoffPolicy;
  /** Per-server or org connection limit: minutes (docs/salesforce.md#streaming-errors). @defaultValue 30 s … 10 min */
  connectionLimit: BackoffPolicy;
  /** Daily delivery allocation used up: stay away long. @defaultValue 15 min … 1 h */
  dailyLimit: BackoffPolicy;
  /** Events per enqueue round trip. @defaultValue 2000 */
  maxBatch: number;
  /** Buffered events at which consumption pauses. @defaultValue 20000 */
  highWaterMark: number;
}

export const DEFAULT_STREAM_TIMINGS: StreamTimings = {
  requestTimeoutSeconds: 120,
  retrySeconds: 5,
  longPollTimeoutMs: 110_000,
  stallMarginMs: 40_000,
  watchdogIntervalMs: 5_000,
  reconcileMarginMs: 60_000,
  resubscribeCheckMs: 15_000,
  channelRetryMs: 600_000,
  rebuild: { baseMs: 1_000, ceilingMs: 60_000 },
  connectionLimit: { baseMs: 30_000, ceilingMs: 600_000 },
  dailyLimit: { baseMs: 900_000, ceilingMs: 3_600_000 },
  maxBatch: 2_000,
  highWaterMark: 20_000,
};

export type StreamState = 'starting' | 'streaming' | 'backing_off' | 'paused' | 'stopped';
export type RebuildReason =
  | 'authentication'
  | 'token_refreshed'
  | 'authorized'
  | 'stall'
  | 'server_disconnect'
  | 'connection_limit'
  | 'daily_limit'
  | 'backpressure'
  | 'resubscribe'
  | 'transient'
  | 'transport_down'
  | 'retry';
export type ChannelState = 'pending' | 'active' | 'failed';

export interface StreamStats {
  state: StreamState;
  /** Why the stream is paused (`needs_reauth`, `unauthorized`, `disconnected`). */
  pausedBecause: string | undefined;
  clientsBuilt: number;
  rebuilds: Partial<Record<RebuildReason, number>>;
  unknownClients: number;
  rehandshakes: number;
  replayResets: number;
  channels: Record<string, ChannelState>;
  ingest: IngestStats;
  buffered: number;
}

export interface IntegrationStreamOptions {
  integration: IntegrationConfig;
  tokens: SessionSource;
  queue: ChangeJobSink;
  replay: ReplayStore;
  deadLetters: DeadLetterStore;
  status: StreamStatus;
  logger: Logger;
  metrics?: MetricsRecorder;
  timings?: Partial<StreamTimings>;
  /** Uniform in [0, 1) for backoff jitter. @defaultValue Math.random */
  random?: () => number;
  /** @defaultValue Date.now */
  now?: () => number;
}

export class IntegrationStream {
  readonly key: string;
  readonly #options: IntegrationStreamOptions;
  readonly #timings: StreamTimings;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #ingest: EventIngest;
  /** Channel → object, for the `mode: cdc` objects. */
  readonly #objects: ReadonlyMap<string, string>;
  readonly #channels = new Map<string, ChannelState>();
  readonly #backoffs: { rebuild: Backoff; connectionLimit: Backoff; dailyLimit: Backoff };
  #client: CometdClient | undefined;
  #handshakes = 0;
  /** Last successful connect reply, or the client's creation (the stall watchdog counts from it). */
  #lastConnectAt = 0;
  /** Last successful connect reply of any client: the stream was live then. */
  #lastLiveAt: number | undefined;
  /** When the stream stopped being live, until a new client connects: what a -1 subscribe may have missed. */
  #liveUntil: number | undefined;
  #longPollTimeoutMs: number;
  #state: StreamState = 'starting';
  #pausedBecause: string | undefined;
  #rebuilding = false;
  #stopped = false;
  #task: Promise<void> = Promise.resolve();
  #sleep = new AbortController();
  #watchdog: NodeJS.Timeout | undefined;
  #channelRetry: NodeJS.Timeout | undefined;
  #resubscribeCheck: NodeJS.Timeout | undefined;
  readonly #counts = {
    clientsBuilt: 0,
    unknownClients: 0,
    rehandshakes: 0,
    replayResets: 0,
    rebuilds: {} as Partial<Record<RebuildReason, number>>,
  };

  constructor(options: IntegrationStreamOptions) {
    this.#options = options;
    this.key = options.integration.key;
    this.#timings = { ...DEFAULT_STREAM_TIMINGS, ...options.timings };
    this.#logger = options.logger.child({ integration: this.key, component: 'stream' });
    this.#now = options.now ?? Date.now;
    this.#longPollTimeoutMs = this.#timings.longPollTimeoutMs;
    this.#objects = new Map(
      options.integration.objects.filter((o) => o.mode === 'cdc').map((o) => [o.channel, o.name]),
    );
    const random = options.random ?? Math.random;
    this.#backoffs = {
      rebuild: new Backoff(this.#timings.rebuild, random),
      connectionLimit: new Backoff(this.#timings.connectionLimit, random),
      dailyLimit: new Backoff(this.#timings.dailyLimit, random),
    };
    this.#ingest = new EventIngest({
      integration: this.key,
      objectsByChannel: this.#objects,
      queue: options.queue,
      replay: options.replay,
      deadLetters: options.deadLetters,
      status: options.status,
      logger: this.#logger,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      maxBatch: this.#timings.maxBatch,
      highWaterMark: this.#timings.highWaterMark,
      onPressure: (state) => {
        if (state === 'full') {
          this.#logger.warn(
            { buffered: this.#ingest.buffered },
            'event buffer full: pausing consumption until the queue catches up',
          );
          this.#rebuild('backpressure', 0);
        }
      },
      now: this.#now,
    });
  }

  get state(): StreamState {
    return this.#state;
  }

  stats(): StreamStats {
    return {
      state: this.#state,
      pausedBecause: this.#pausedBecause,
      clientsBuilt: this.#counts.clientsBuilt,
      rebuilds: { ...this.#counts.rebuilds },
      unknownClients: this.#counts.unknownClients,
      rehandshakes: this.#counts.rehandshakes,
      replayResets: this.#counts.replayResets,
      channels: Object.fromEntries(this.#channels),
      ingest: { ...this.#ingest.stats },
      buffered: this.#ingest.buffered,
    };
  }

  /** Open the stream (resolves once the first client is built, or the stream is paused). */
  async start(): Promise<void> {
    this.#run(async () => this.#open());
    await this.#task;
  }

  /** The token service says the integration is authorised (again): resume a paused stream. */
  authorized(): void {
    if (this.#state === 'paused') this.#rebuild('authorized', 0);
  }

  /** Another process refreshed the token: move to it if our client still uses the old one. */
  async tokenRefreshed(): Promise<void> {
    const client = this.#client;
    if (!client || this.#rebuilding) return;
    const session = await this.#options.tokens.session(this.key).catch(() => undefined);
    if (session && this.#client === client && session.accessToken !== client.accessToken)
      this.#rebuild('token_refreshed', 0);
  }

  /** No usable token any more (`needs_reauth`, `disconnected`): stop quietly until `authorized`. */
  pause(because: string): void {
    if (this.#stopped) return;
    this.#retireClient();
    this.#sleep.abort();
    this.#state = 'paused';
    this.#pausedBecause = because;
    // A first run is not authorised yet: "again" would suggest something broke.
    if (because === 'unauthorized') this.#logger.info('stream waits until the integration is authorised');
    else this.#logger.warn({ because }, 'stream paused until the integration is authorised again');
  }

  /**
   * Stop consuming, then (with `flush`) enqueue and checkpoint what is buffered. Without `flush`
   * (a lost lease) buffered events are dropped here: the next leader replays them from the
   * durable position.
   */
  async stop({ flush = true }: { flush?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    this.#state = 'stopped';
    this.#sleep.abort();
    this.#retireClient();
    if (flush) await this.#ingest.drained();
    this.#ingest.close();
    await this.#task.catch(() => undefined);
  }

  /** What a killed process leaves: no disconnect, no flush (tests of takeover use it). */
  abandon(): void {
    this.#stopped = true;
    this.#state = 'stopped';
    this.#sleep.abort();
    this.#clearTimers();
    this.#client?.retire({ graceful: false });
    this.#client = undefined;
    this.#ingest.close();
  }

  // ── client lifecycle ────────────────────────────────────────────────────────────────────────

  /** Run `step` after whatever transition is in progress; failures schedule a rebuild. */
  #run(step: () => Promise<void>): void {
    this.#task = this.#task.then(async () => {
      if (this.#stopped) return;
      try {
        await step();
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by close() while this call awaited
        if (this.#stopped) return;
        if (error instanceof NotAuthorizedError) {
          this.pause(error.state);
          return;
        }
        const wait = this.#backoffs.rebuild.next();
        this.#logger.warn({ err: error, retryInMs: wait }, 'could not open the stream; retrying');
        this.#rebuilding = false;
        this.#rebuild('retry', wait);
      }
    });
  }

  /** Retire the client now, then (after `delayMs` and a drained buffer) open a new one. */
  #rebuild(reason: RebuildReason, delayMs: number, options: { refreshRejected?: string } = {}): void {
    if (this.#stopped || this.#rebuilding) return;
    this.#rebuilding = true;
    this.#counts.rebuilds[reason] = (this.#counts.rebuilds[reason] ?? 0) + 1;
    this.#retireClient();
    this.#logger.info({ reason, delayMs }, 'rebuilding the CometD client');
    for (const object of this.#objects.values())
      void this.#options.status.countReconnect(object).catch(() => undefined);
    this.#run(async () => {
      try {
        if (delayMs > 0) {
          this.#state = 'backing_off';
          await this.#pause(delayMs);
        }
        // Resubscribe from a position that covers everything received so far.
        await this.#ingest.drained();
        if (this.#stopped) return;
        await this.#open(options.refreshRejected);
      } finally {
        this.#rebuilding = false;
      }
    });
  }

  async #open(refreshRejected?: string): Promise<void> {
    const { tokens, replay, status, integration } = this.#options;
    const session: SalesforceSession =
      refreshRejected !== undefined ? await tokens.refresh(this.key, refreshRejected) : await tokens.session(this.key);
    if (this.#stopped) return;

    await this.#ingest.recoverPending();
    const stored = await replay.positions(this.key);
    const subscribeAt = this.#now();
    for (const [channel, object] of this.#objects) {
      const position = stored.get(channel);
      this.#ingest.setPosition(channel, position);
      if (position === undefined && this.#ingest.position(channel) === undefined) {
        // No position yet: -1 misses what happens before and around the subscribe, and, after an
        // outage, what happened since the stream was last live.
        const since = Math.min(subscribeAt, this.#liveUntil ?? subscribeAt) - this.#timings.reconcileMarginMs;
        await status.requestReconcile(
          object,
          since,
          'subscribed without a stored position: changes made before the stream was live',
        );
        this.#logger.info(
          { object, since: new Date(since).toISOString() },
          'reconciliation requested for a subscription at -1',
        );
      }
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by close() while this call awaited
    if (this.#stopped) return;

    this.#pausedBecause = undefined;
    this.#handshakes = 0;
    this.#lastConnectAt = this.#now();
    const client = new CometdClient({
      instanceUrl: session.instanceUrl,
      apiVersion: integration.salesforce.apiVersion,
      accessToken: session.accessToken,
      requestTimeoutSeconds: this.#timings.requestTimeoutSeconds,
      retrySeconds: this.#timings.retrySeconds,
      replayPositions: () => this.#replayPositions(),
      // Back-pressure: while the ingest is a flush behind, the next connect (the next events) waits.
      holdConnect: () => this.#ingest.readable(),
      listener: {
        event: (channel, data) => this.#ingest.accept(channel, data),
        connected: (timeoutMs) => this.#connected(client, timeoutMs),
        handshook: () => this.#handshook(client),
        subscribed: (channel) => this.#subscribed(channel),
        failed: (error) => this.#failed(client, error),
        serverDisconnected: () => this.#rebuild('server_disconnect', this.#backoffs.rebuild.next()),
        // A reply lost in transit may have held events the server will not send again: a new client
        // subscribes from what was received, so the replay fills the hole (docs/salesforce.md#transport-failures-lose-a-reply).
        transportDown: () => this.#rebuild('transport_down', this.#backoffs.rebuild.next()),
      },
    });
    this.#client = client;
    this.#counts.clientsBuilt += 1;
    for (const channel of this.#objects.keys()) {
      this.#channels.set(channel, 'pending');
      client.subscribe(channel);
    }
    this.#state = 'streaming';
    this.#startTimers();
    this.#logger.info(
      { channels: [...this.#objects.keys()], positions: Object.fromEntries(this.#replayPositions()) },
      'CometD client subscribing',
    );
  }

  #retireClient(): void {
    this.#clearTimers();
    if (this.#client) this.#liveUntil ??= this.#lastLiveAt;
    this.#client?.retire();
    this.#client = undefined;
  }

  #replayPositions(): Map<string, number> {
    const positions = new Map<string, number>();
    for (const channel of this.#objects.keys()) {
      const position = this.#ingest.position(channel);
      if (position !== undefined) positions.set(channel, position);
    }
    return positions;
  }

  /** Sleep that `stop()`/`pause()` cut short. */
  async #pause(ms: number): Promise<void> {
    this.#sleep = new AbortController();
    await delay(ms, undefined, { signal: this.#sleep.signal }).catch(() => undefined);
  }

  // ── what the client reports ─────────────────────────────────────────────────────────────────

  #connected(client: CometdClient, timeoutMs: number | undefined): void {
    if (client !== this.#client) return;
    this.#lastConnectAt = this.#lastLiveAt = this.#now();
    this.#liveUntil = undefined;
    if (timeoutMs !== undefined && timeoutMs > 0) this.#longPollTimeoutMs = timeoutMs;
    this.#backoffs.rebuild.reset();
    this.#backoffs.connectionLimit.reset();
    this.#backoffs.dailyLimit.reset();
  }

  #handshook(client: CometdClient): void {
    if (client !== this.#client) return;
    this.#handshakes += 1;
    if (this.#handshakes === 1) return;
    // faye re-handshook on its own (403::Unknown client) and resubscribes what its registry holds.
    this.#counts.rehandshakes += 1;
    for (const channel of this.#objects.keys())
      if (this.#channels.get(channel) !== 'failed') this.#channels.set(channel, 'pending');
    clearTimeout(this.#resubscribeCheck);
    this.#resubscribeCheck = setTimeout(() => this.#verifyResubscribed(client), this.#timings.resubscribeCheckMs);
    this.#resubscribeCheck.unref();
  }

  /** After a re-handshake every channel must be confirmed again; re-add dropped ones, rebuild if stuck. */
  #verifyResubscribed(client: CometdClient): void {
    if (client !== this.#client) return;
    const pending = [...this.#channels].filter(([, state]) => state === 'pending').map(([channel]) => channel);
    if (pending.length === 0) return;
    const registered = new Set(client.registeredChannels());
    const dropped = pending.filter((channel) => !registered.has(channel));
    if (dropped.length === pending.length) {
      this.#logger.warn({ channels: dropped }, 'channels missing after a re-handshake: subscribing again');
      for (const channel of dropped) client.subscribe(channel);
      return;
    }
    this.#logger.warn({ channels: pending }, 'resubscription not confirmed after a re-handshake');
    this.#rebuild('resubscribe', this.#backoffs.rebuild.next());
  }

  #subscribed(channel: string): void {
    const object = this.#objects.get(channel);
    if (object === undefined) return;
    const previous = this.#channels.get(channel);
    this.#channels.set(channel, 'active');
    this.#logger.info({ channel, position: this.#ingest.position(channel) ?? -1, previous }, 'subscribed');
    void this.#options.status.clearError(object).catch(() => undefined);
  }

  #failed(client: CometdClient, error: CometdError): void {
    if (client !== this.#client || this.#stopped) return;
    const channel = error.subscription;
    const object = channel === undefined ? undefined : this.#objects.get(channel);
    const log = { err: { type: error.name, message: error.message, code: error.code }, channel };

    if (error instanceof StreamAuthenticationError) {
      this.#logger.info(log, 'access token rejected by CometD: refreshing it and building a new client');
      // The first rebuild is immediate; repeated auth failures back off (no handshake storm, docs/salesforce.md#pitfall-6-handshake-storms).
      const first = this.#backoffs.rebuild.attempts === 0;
      const wait = this.#backoffs.rebuild.next();
      this.#rebuild('authentication', first ? 0 : wait, { refreshRejected: client.accessToken });
    } else if (error instanceof UnknownClientError) {
      this.#counts.unknownClients += 1;
      this.#logger.info(log, 'server forgot the client: faye handshakes again and resubscribes');
    } else if (error instanceof ReplayIdInvalidError && channel !== undefined && object !== undefined) {
      this.#channels.set(channel, 'pending');
      this.#run(() => this.#resetChannel(client, channel, object, error.replayId));
    } else if (error instanceof ChannelUnavailableError && channel !== undefined && object !== undefined) {
      this.#channels.set(channel, 'failed');
      this.#logger.error({ ...log, object, hint: error.hint }, 'object cannot stream; the others keep running');
      void this.#options.status.setError(object, `${error.wire}: ${error.hint ?? ''}`).catch(() => undefined);
    } else if (error instanceof DailyDeliveryLimitError) {
      const wait = this.#backoffs.dailyLimit.next();
      this.#logger.error(
        { ...log, retryInMs: wait },
        'daily CDC delivery allocation used up: disconnecting and reconciling later',
      );
      this.#rebuild('daily_limit', wait);
      const reason = `daily delivery limit exceeded; streaming again in ${Math.round(wait / 1000)} s`;
      this.#reconcileAll(reason).catch((err: unknown) =>
        this.#logger.error({ err }, 'could not request reconciliation'),
      );
    } else if (error instanceof ConnectionLimitError) {
      const wait = this.#backoffs.connectionLimit.next();
      this.#logger.warn({ ...log, retryInMs: wait }, 'CometD connection limit: backing off');
      this.#rebuild('connection_limit', wait);
    } else if (channel !== undefined && object !== undefined) {
      // A transient subscribe failure: try that channel again on the same client.
      const wait = this.#backoffs.rebuild.next();
      this.#channels.set(channel, 'pending');
      this.#logger.warn({ ...log, retryInMs: wait }, 'subscribe failed: retrying');
      setTimeout(() => {
        if (this.#client === client) client.subscribe(channel);
      }, wait).unref();
    } else {
      const wait = this.#backoffs.rebuild.next();
      this.#logger.warn({ ...log, retryInMs: wait }, 'CometD failure: building a new client');
      this.#rebuild('transient', wait);
    }
  }

  /** The stored id fell out of retention: forget it, resubscribe at -1, reconcile the gap (docs/salesforce.md#replay-ids-and-retention, #recommended-subscriber-loop). */
  async #resetChannel(client: CometdClient, channel: string, object: string, replayId: number): Promise<void> {
    const { replay, status } = this.#options;
    this.#counts.replayResets += 1;
    await replay.reset(this.key, channel);
    this.#ingest.setPosition(channel, undefined);
    const lastCommit = await status.lastCommitAt(object);
    const since = lastCommit === undefined ? null : lastCommit - this.#timings.reconcileMarginMs;
    await status.requestReconcile(object, since, `replay id ${replayId} was no longer retained`);
    this.#logger.warn(
      { channel, object, replayId, since: since === null ? null : new Date(since).toISOString() },
      'replay id expired: resubscribing at -1 and reconciling',
    );
    if (this.#client === client) client.subscribe(channel);
  }

  async #reconcileAll(reason: string): Promise<void> {
    const { status } = this.#options;
    for (const object of this.#objects.values()) {
      const lastCommit = await status.lastCommitAt(object);
      const since = lastCommit === undefined ? null : lastCommit - this.#timings.reconcileMarginMs;
      await status.requestReconcile(object, since, reason);
      await status.setError(object, reason);
    }
  }

  // ── timers ───────────────────────────────────────────────────────────────────────────────────

  #startTimers(): void {
    this.#clearTimers();
    this.#watchdog = setInterval(() => this.#checkStall(), this.#timings.watchdogIntervalMs);
    this.#watchdog.unref();
    this.#channelRetry = setInterval(() => this.#retryFailedChannels(), this.#timings.channelRetryMs);
    this.#channelRetry.unref();
  }

  #clearTimers(): void {
    clearInterval(this.#watchdog);
    clearInterval(this.#channelRetry);
    clearTimeout(this.#resubscribeCheck);
    this.#watchdog = this.#channelRetry = this.#resubscribeCheck = undefined;
  }

  /** Silent stall (docs/salesforce.md#pitfall-8-streams-stop-without-an-error): no connect reply for longer than the long-poll could take. */
  #checkStall(): void {
    // A connect held back by the ingest (back-pressure) is no stall: the hold is bounded (cometd-client.ts).
    if (!this.#client || this.#rebuilding || this.#ingest.behind) return;
    const silentFor = this.#now() - this.#lastConnectAt;
    if (silentFor <= this.#longPollTimeoutMs + this.#timings.stallMarginMs) return;
    this.#logger.warn({ silentForMs: silentFor }, 'no /meta/connect reply in time: the stream is stalled');
    this.#rebuild('stall', this.#backoffs.rebuild.next());
  }

  #retryFailedChannels(): void {
    const client = this.#client;
    if (!client) return;
    for (const [channel, state] of this.#channels) {
      if (state !== 'failed') continue;
      this.#channels.set(channel, 'pending');
      client.subscribe(channel);
    }
  }
}
