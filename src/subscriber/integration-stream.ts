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
import type { Logger } from 'pino';
import type { SalesforceSession } from '../salesforce/session.ts';
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
import type { EventIngest } from './event-ingest.ts';
import { PubsubStream } from './pubsub-stream.ts';
import { StreamLifecycle } from './stream-lifecycle.ts';
import {
  DEFAULT_STREAM_TIMINGS,
  type ChannelState,
  type IntegrationStreamOptions,
  type RebuildReason,
  type StreamState,
  type StreamStats,
  type StreamTimings,
} from './stream-types.ts';

export {
  DEFAULT_STREAM_TIMINGS,
  type ChannelState,
  type IntegrationStreamOptions,
  type RebuildReason,
  type StreamState,
  type StreamStats,
  type StreamTimings,
};

/** The CometD transport (`salesforce.transport: cometd`). */
class CometdStream {
  readonly key: string;
  readonly #options: IntegrationStreamOptions;
  readonly #timings: StreamTimings;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #ingest: EventIngest;
  /** Channel → object, for the `mode: cdc` objects. */
  readonly #objects: ReadonlyMap<string, string>;
  readonly #channels = new Map<string, ChannelState>();
  readonly #life: StreamLifecycle;
  #client: CometdClient | undefined;
  #handshakes = 0;
  /** Last successful connect reply, or the client's creation (the stall watchdog counts from it). */
  #lastConnectAt = 0;
  /** Last successful connect reply of any client: the stream was live then. */
  #lastLiveAt: number | undefined;
  /** When the stream stopped being live, until a new client connects: what a -1 subscribe may have missed. */
  #liveUntil: number | undefined;
  #longPollTimeoutMs: number;
  #watchdog: NodeJS.Timeout | undefined;
  #channelRetry: NodeJS.Timeout | undefined;
  #resubscribeCheck: NodeJS.Timeout | undefined;
  readonly #counts = {
    clientsBuilt: 0,
    unknownClients: 0,
    rehandshakes: 0,
    replayResets: 0,
  };

  constructor(options: IntegrationStreamOptions) {
    this.#options = options;
    this.key = options.integration.key;
    this.#timings = { ...DEFAULT_STREAM_TIMINGS, ...options.timings };
    this.#logger = options.logger.child({ integration: this.key, component: 'stream' });
    this.#now = options.now ?? Date.now;
    this.#longPollTimeoutMs = this.#timings.longPollTimeoutMs;
    this.#life = new StreamLifecycle({
      ...options,
      timings: this.#timings,
      logger: this.#logger,
      transport: {
        kind: 'cometd',
        name: 'CometD',
        open: (refreshRejected) => this.#open(refreshRejected),
        retire: (graceful) => this.#retireClient(graceful),
        accessToken: () => this.#client?.accessToken,
      },
      onPressure: (state) => {
        if (state === 'full') {
          this.#logger.warn(
            { buffered: this.#ingest.buffered },
            'event buffer full: pausing consumption until the queue catches up',
          );
          this.#life.rebuild('backpressure', 0);
        }
      },
    });
    this.#ingest = this.#life.ingest;
    this.#objects = this.#life.objects;
  }

  /** The lifecycle: start, authorized, tokenRefreshed, pause, stop, abandon (stream-lifecycle.ts). */
  get life(): StreamLifecycle {
    return this.#life;
  }

  stats(): StreamStats {
    return this.#life.stats({ ...this.#counts, channels: Object.fromEntries(this.#channels) });
  }

  // ── client lifecycle ────────────────────────────────────────────────────────────────────────

  async #open(refreshRejected?: string): Promise<void> {
    const { tokens, replay, status, integration } = this.#options;
    const session: SalesforceSession =
      refreshRejected !== undefined ? await tokens.refresh(this.key, refreshRejected) : await tokens.session(this.key);
    if (this.#life.stopped) return;

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
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by stop() while this call awaited
    if (this.#life.stopped) return;

    this.#life.pausedBecause = undefined;
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
        serverDisconnected: () => this.#life.rebuild('server_disconnect', this.#life.backoffs.rebuild.next()),
        // A reply lost in transit may have held events the server will not send again: a new client
        // subscribes from what was received, so the replay fills the hole (docs/salesforce.md#transport-failures-lose-a-reply).
        transportDown: () => this.#life.rebuild('transport_down', this.#life.backoffs.rebuild.next()),
      },
    });
    this.#client = client;
    this.#counts.clientsBuilt += 1;
    for (const channel of this.#objects.keys()) {
      this.#channels.set(channel, 'pending');
      client.subscribe(channel);
    }
    this.#life.state = 'streaming';
    this.#startTimers();
    this.#logger.info(
      { channels: [...this.#objects.keys()], positions: Object.fromEntries(this.#replayPositions()) },
      'CometD client subscribing',
    );
  }

  #retireClient(graceful: boolean): void {
    this.#clearTimers();
    if (this.#client) this.#liveUntil ??= this.#lastLiveAt;
    this.#client?.retire({ graceful });
    this.#client = undefined;
  }

  #replayPositions(): Map<string, number> {
    const positions = new Map<string, number>();
    for (const channel of this.#objects.keys()) {
      const position = this.#ingest.position(channel);
      if (typeof position === 'number') positions.set(channel, position);
    }
    return positions;
  }

  // ── what the client reports ─────────────────────────────────────────────────────────────────

  #connected(client: CometdClient, timeoutMs: number | undefined): void {
    if (client !== this.#client) return;
    this.#lastConnectAt = this.#lastLiveAt = this.#now();
    this.#liveUntil = undefined;
    if (timeoutMs !== undefined && timeoutMs > 0) this.#longPollTimeoutMs = timeoutMs;
    this.#life.live();
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
    this.#life.rebuild('resubscribe', this.#life.backoffs.rebuild.next());
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
    if (client !== this.#client || this.#life.stopped) return;
    const channel = error.subscription;
    const object = channel === undefined ? undefined : this.#objects.get(channel);
    const log = { err: { type: error.name, message: error.message, code: error.code }, channel };

    if (error instanceof StreamAuthenticationError) {
      this.#logger.info(log, 'access token rejected by CometD: refreshing it and building a new client');
      // The first rebuild is immediate; repeated auth failures back off (no handshake storm, docs/salesforce.md#pitfall-6-handshake-storms).
      const first = this.#life.backoffs.rebuild.attempts === 0;
      const wait = this.#life.backoffs.rebuild.next();
      this.#life.rebuild('authentication', first ? 0 : wait, { refreshRejected: client.accessToken });
    } else if (error instanceof UnknownClientError) {
      this.#counts.unknownClients += 1;
      this.#logger.info(log, 'server forgot the client: faye handshakes again and resubscribes');
    } else if (error instanceof ReplayIdInvalidError && channel !== undefined && object !== undefined) {
      this.#channels.set(channel, 'pending');
      this.#life.run(() => this.#resetChannel(client, channel, object, error.replayId));
    } else if (error instanceof ChannelUnavailableError && channel !== undefined && object !== undefined) {
      this.#channels.set(channel, 'failed');
      this.#logger.error({ ...log, object, hint: error.hint }, 'object cannot stream; the others keep running');
      void this.#options.status.setError(object, `${error.wire}: ${error.hint ?? ''}`).catch(() => undefined);
    } else if (error instanceof DailyDeliveryLimitError) {
      const wait = this.#life.backoffs.dailyLimit.next();
      this.#logger.error(
        { ...log, retryInMs: wait },
        'daily CDC delivery allocation used up: disconnecting and reconciling later',
      );
      this.#life.rebuild('daily_limit', wait);
      const reason = `daily delivery limit exceeded; streaming again in ${Math.round(wait / 1000)} s`;
      this.#life
        .reconcileAll(reason)
        .catch((err: unknown) => this.#logger.error({ err }, 'could not request reconciliation'));
    } else if (error instanceof ConnectionLimitError) {
      const wait = this.#life.backoffs.connectionLimit.next();
      this.#logger.warn({ ...log, retryInMs: wait }, 'CometD connection limit: backing off');
      this.#life.rebuild('connection_limit', wait);
    } else if (channel !== undefined && object !== undefined) {
      // A transient subscribe failure: try that channel again on the same client.
      const wait = this.#life.backoffs.rebuild.next();
      this.#channels.set(channel, 'pending');
      this.#logger.warn({ ...log, retryInMs: wait }, 'subscribe failed: retrying');
      setTimeout(() => {
        if (this.#client === client) client.subscribe(channel);
      }, wait).unref();
    } else {
      const wait = this.#life.backoffs.rebuild.next();
      this.#logger.warn({ ...log, retryInMs: wait }, 'CometD failure: building a new client');
      this.#life.rebuild('transient', wait);
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
    if (!this.#client || this.#life.rebuilding || this.#ingest.behind) return;
    const silentFor = this.#now() - this.#lastConnectAt;
    if (silentFor <= this.#longPollTimeoutMs + this.#timings.stallMarginMs) return;
    this.#logger.warn({ silentForMs: silentFor }, 'no /meta/connect reply in time: the stream is stalled');
    this.#life.rebuild('stall', this.#life.backoffs.rebuild.next());
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

/**
 * One integration's stream over the transport its config names (docs/pubsub.md#choosing-a-transport):
 * CometD or Pub/Sub, with the same guarantees, stats and controls. The subscriber only ever sees this.
 */
export class IntegrationStream {
  readonly key: string;
  readonly transport: 'cometd' | 'pubsub';
  readonly #impl: CometdStream | PubsubStream;

  constructor(options: IntegrationStreamOptions) {
    this.key = options.integration.key;
    this.transport = options.integration.salesforce.transport;
    this.#impl =
      this.transport === 'pubsub'
        ? new PubsubStream({ ...options, timings: { ...DEFAULT_STREAM_TIMINGS, ...options.timings } })
        : new CometdStream(options);
  }

  get state(): StreamState {
    return this.#impl.life.state;
  }

  stats(): StreamStats {
    return this.#impl.stats();
  }

  /** Open the stream (resolves once the first client is built, or the stream is paused). */
  start(): Promise<void> {
    return this.#impl.life.start();
  }

  /** The token service says the integration is authorised (again): resume a paused stream. */
  authorized(): void {
    this.#impl.life.authorized();
  }

  /** Another process refreshed the token: move to it if our client still uses the old one. */
  tokenRefreshed(): Promise<void> {
    return this.#impl.life.tokenRefreshed();
  }

  /** No usable token any more (`needs_reauth`, `disconnected`): stop quietly until `authorized`. */
  pause(because: string): void {
    this.#impl.life.pause(because);
  }

  /** Stop consuming, then (with `flush`) enqueue and checkpoint what is buffered. */
  stop(options: { flush?: boolean } = {}): Promise<void> {
    return this.#impl.life.stop(options);
  }

  /** What a killed process leaves: no disconnect, no flush (tests of takeover use it). */
  abandon(): void {
    this.#impl.life.abandon();
  }
}
