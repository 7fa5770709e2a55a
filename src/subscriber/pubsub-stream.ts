/**
 * One integration's CDC stream over the Pub/Sub API (`salesforce.transport: pubsub`,
 * docs/pubsub.md): one Subscribe call per topic of its `mode: cdc` objects, feeding the same
 * {@link EventIngest} as CometD, so a position is stored only after its events are in the queue.
 *
 * | what happened                                   | what the stream does                                          |
 * |-------------------------------------------------|---------------------------------------------------------------|
 * | `UNAUTHENTICATED`                               | refresh the token once, build a new client, resubscribe from the stored ids |
 * | replay id corrupted / not retained              | forget it, subscribe at LATEST, request a reconciliation from the last commit |
 * | `PERMISSION_DENIED`, `NOT_FOUND`                | the object shows the error; the others keep streaming; retried later |
 * | subscription limit                              | back off with jitter, then subscribe again                    |
 * | other `RESOURCE_EXHAUSTED` (allocations)         | back off long, request reconciliation                         |
 * | no response for 270 s + margin                  | silent stall: build a new client                              |
 * | call ended by the server, `UNAVAILABLE`, others | build a new client with backoff                               |
 * | queue writes a flush behind                     | hold the next top-up until the ingest catches up              |
 * | buffer full (queue writes lag)                  | stop asking for events; ask again once it has drained         |
 * | no usable token (`NotAuthorizedError`)           | pause quietly until the token service says `authorized`       |
 *
 * Flow control (docs/pubsub.md#flow-control): each call asks for 100 events at once and tops up as
 * soon as half are delivered, so requests stay ahead of consumption; a queue more than a flush behind
 * holds the top-ups, which bounds memory without disconnecting. Keepalives move the stored position
 * (docs/pubsub.md#keepalives).
 */
import type { Logger } from 'pino';
import type { SalesforceSession } from '../salesforce/session.ts';
import { SchemaCache } from '../salesforce/pubsub/avro.ts';
import { changeEventData } from '../salesforce/pubsub/change-event.ts';
import { PubsubCallError, SUBSCRIPTION_LIMIT_EXCEEDED } from '../salesforce/pubsub/errors.ts';
import {
  MAX_NUM_REQUESTED,
  PubsubClient,
  type FetchResponse,
  type PubsubSubscription,
  type SubscribeFrom,
} from '../salesforce/pubsub/pubsub-client.ts';
import { replayIdBytes, replayIdText } from '../salesforce/pubsub/replay-id.ts';
import type { TransportPositions } from '../store/replay-store.ts';
import type { EventIngest } from './event-ingest.ts';
import { StreamLifecycle } from './stream-lifecycle.ts';
import type { ChannelState, IntegrationStreamOptions, StreamStats, StreamTimings } from './stream-types.ts';

/** Top up a call's requests once fewer than this many are outstanding. */
const TOP_UP_BELOW = MAX_NUM_REQUESTED / 2;

interface TopicCall {
  subscription: PubsubSubscription;
  /** Requested and not yet delivered. */
  outstanding: number;
  /** Responses are handled one after the other (decoding may fetch a schema). */
  handled: Promise<void>;
  /** A top-up waits for the ingest to catch up. */
  held: boolean;
}

export class PubsubStream {
  readonly key: string;
  readonly #options: IntegrationStreamOptions;
  readonly #timings: StreamTimings;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #ingest: EventIngest;
  readonly #positions: TransportPositions;
  /** Topic → object, for the `mode: cdc` objects (topics are the CometD channel names). */
  readonly #objects: ReadonlyMap<string, string>;
  readonly #channels = new Map<string, ChannelState>();
  readonly #calls = new Map<string, TopicCall>();
  readonly #life: StreamLifecycle;
  readonly #schemas: SchemaCache;
  #client: PubsubClient | undefined;
  #lastResponseAt = 0;
  #lastLiveAt: number | undefined;
  #liveUntil: number | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #channelRetry: NodeJS.Timeout | undefined;
  readonly #counts = {
    clientsBuilt: 0,
    replayResets: 0,
  };

  constructor(options: IntegrationStreamOptions & { timings: StreamTimings }) {
    this.#options = options;
    this.key = options.integration.key;
    this.#timings = options.timings;
    this.#logger = options.logger.child({ integration: this.key, component: 'stream', transport: 'pubsub' });
    this.#now = options.now ?? Date.now;
    this.#positions = options.replay.transport('pubsub');
    this.#schemas = new SchemaCache((schemaId) => {
      if (!this.#client) return Promise.reject(new Error('no Pub/Sub client'));
      return this.#client.getSchema(schemaId);
    });
    this.#life = new StreamLifecycle({
      ...options,
      timings: this.#timings,
      logger: this.#logger,
      transport: {
        kind: 'pubsub',
        name: 'Pub/Sub',
        open: (refreshRejected) => this.#open(refreshRejected),
        retire: () => this.#retireClient(),
        accessToken: () => this.#client?.accessToken,
      },
      onPressure: (state) => {
        if (state === 'full')
          this.#logger.warn({ buffered: this.#ingest.buffered }, 'event buffer full: no more requests until it drains');
        else for (const topic of this.#calls.keys()) this.#topUp(topic);
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
    return this.#life.stats({
      ...this.#counts,
      unknownClients: 0,
      rehandshakes: 0,
      channels: Object.fromEntries(this.#channels),
    });
  }

  // ── client lifecycle ────────────────────────────────────────────────────────────────────────

  async #open(refreshRejected?: string): Promise<void> {
    const { tokens, replay, status, integration } = this.#options;
    const session: SalesforceSession =
      refreshRejected !== undefined ? await tokens.refresh(this.key, refreshRejected) : await tokens.session(this.key);
    if (this.#life.stopped) return;

    await this.#ingest.recoverPending();
    const stored = await this.#positions.positions(this.key);
    const cometdPositions = await replay.positions(this.key);
    const subscribeAt = this.#now();
    for (const [topic, object] of this.#objects) {
      const position = stored.get(topic);
      this.#ingest.setPosition(topic, position);
      if (position !== undefined || this.#ingest.position(topic) !== undefined) continue;
      // No Pub/Sub position: LATEST misses what happens before and around the subscribe. After a
      // switch from CometD, reach back to the last event CometD enqueued (docs/pubsub.md#switching-transports).
      const switched = cometdPositions.has(topic) ? await status.lastCommitAt(object) : undefined;
      const since =
        Math.min(subscribeAt, this.#liveUntil ?? subscribeAt, switched ?? subscribeAt) -
        this.#timings.reconcileMarginMs;
      await status.requestReconcile(
        object,
        since,
        switched !== undefined
          ? 'switched from CometD to Pub/Sub: changes since the last CometD event'
          : 'subscribed without a stored position: changes made before the stream was live',
      );
      this.#logger.info(
        { object, since: new Date(since).toISOString() },
        'reconciliation requested for a subscription at LATEST',
      );
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by stop() while this call awaited
    if (this.#life.stopped) return;

    this.#life.pausedBecause = undefined;
    this.#lastResponseAt = this.#now();
    const client = new PubsubClient({
      url: integration.salesforce.pubsubUrl,
      accessToken: session.accessToken,
      instanceUrl: session.instanceUrl,
      tenantId: session.orgId,
    });
    this.#client = client;
    this.#counts.clientsBuilt += 1;
    for (const topic of this.#objects.keys()) this.#subscribe(client, topic);
    this.#life.state = 'streaming';
    this.#startTimers();
    this.#logger.info(
      { topics: [...this.#objects.keys()], endpoint: integration.salesforce.pubsubUrl },
      'Pub/Sub client subscribing',
    );
  }

  #subscribe(client: PubsubClient, topic: string): void {
    const position = this.#ingest.position(topic);
    const bytes = typeof position === 'string' ? replayIdBytes(position) : undefined;
    const from: SubscribeFrom = bytes ? { after: bytes } : { preset: 'LATEST' };
    this.#channels.set(topic, 'pending');
    const call: TopicCall = {
      outstanding: MAX_NUM_REQUESTED,
      handled: Promise.resolve(),
      held: false,
      subscription: client.subscribe(topic, from, MAX_NUM_REQUESTED, {
        accepted: () => this.#accepted(client, topic),
        response: (response) => this.#response(client, topic, call, response),
        ended: (error) => this.#ended(client, topic, error),
      }),
    };
    this.#calls.set(topic, call);
  }

  #retireClient(): void {
    this.#clearTimers();
    if (this.#client) this.#liveUntil ??= this.#lastLiveAt;
    this.#calls.clear();
    this.#client?.close();
    this.#client = undefined;
  }

  // ── what the calls report ───────────────────────────────────────────────────────────────────

  #accepted(client: PubsubClient, topic: string): void {
    if (client !== this.#client) return;
    const object = this.#objects.get(topic);
    this.#channels.set(topic, 'active');
    this.#logger.info({ topic, position: this.#ingest.position(topic) ?? 'LATEST' }, 'subscribed');
    if (object !== undefined) void this.#options.status.clearError(object).catch(() => undefined);
  }

  #response(client: PubsubClient, topic: string, call: TopicCall, response: FetchResponse): void {
    if (client !== this.#client) return;
    this.#lastResponseAt = this.#lastLiveAt = this.#now();
    this.#liveUntil = undefined;
    this.#life.live();
    call.outstanding = Math.max(0, call.outstanding - response.events.length);
    call.handled = call.handled.then(async () => {
      try {
        for (const consumed of response.events) {
          const data = await changeEventData(consumed, this.#schemas);
          if (client !== this.#client) return;
          this.#ingest.accept(topic, data);
        }
        if (response.events.length === 0 && response.latestReplayId.length > 0 && client === this.#client)
          this.#ingest.acceptPosition(topic, replayIdText(response.latestReplayId));
        this.#topUp(topic);
      } catch (error) {
        // A schema could not be fetched: the events of this response were not accepted, so the
        // position stays before them and a new client replays them.
        if (client !== this.#client) return;
        this.#failed(client, topic, error instanceof PubsubCallError ? error : undefined, error);
      }
    });
  }

  /**
   * Keep requests ahead of consumption, unless the queue lags: while more than a flush is buffered the
   * top-up waits for the ingest to catch up (what holding the next connect is over CometD), so the
   * backlog stays with the server; a full buffer asks for nothing until it has drained.
   */
  #topUp(topic: string): void {
    const call = this.#calls.get(topic);
    if (!call || call.held || call.outstanding >= TOP_UP_BELOW) return;
    const lagging = this.#ingest.readable();
    if (lagging) {
      call.held = true;
      void lagging.then(() => {
        call.held = false;
        if (this.#calls.get(topic) === call) this.#topUp(topic);
      });
      return;
    }
    if (this.#ingest.buffered >= this.#timings.highWaterMark) return;
    const more = MAX_NUM_REQUESTED - call.outstanding;
    call.outstanding += more;
    call.subscription.request(more);
  }

  #ended(client: PubsubClient, topic: string, error: PubsubCallError | undefined): void {
    if (client !== this.#client || this.#life.stopped) return;
    this.#failed(client, topic, error, error);
  }

  #failed(client: PubsubClient, topic: string, error: PubsubCallError | undefined, cause: unknown): void {
    const object = this.#objects.get(topic);
    const log = {
      err: error ? { type: error.name, message: error.message, errorCode: error.errorCode, rpcId: error.rpcId } : cause,
      topic,
    };
    if (!error) {
      const wait = this.#life.backoffs.rebuild.next();
      this.#logger.warn({ ...log, retryInMs: wait }, 'Pub/Sub call ended: building a new client');
      this.#life.rebuild(cause === undefined ? 'server_disconnect' : 'transient', wait);
      return;
    }
    switch (error.kind) {
      case 'authentication': {
        this.#logger.info(log, 'access token rejected by Pub/Sub: refreshing it and building a new client');
        const first = this.#life.backoffs.rebuild.attempts === 0;
        const wait = this.#life.backoffs.rebuild.next();
        this.#life.rebuild('authentication', first ? 0 : wait, { refreshRejected: client.accessToken });
        return;
      }
      case 'replay_invalid':
        if (object === undefined) return;
        this.#channels.set(topic, 'pending');
        this.#calls.delete(topic);
        this.#life.run(() => this.#resetTopic(client, topic, object));
        return;
      case 'topic_unavailable':
        this.#channels.set(topic, 'failed');
        this.#calls.delete(topic);
        this.#logger.error({ ...log, object, hint: error.hint }, 'object cannot stream; the others keep running');
        if (object !== undefined) void this.#options.status.setError(object, error.message).catch(() => undefined);
        return;
      case 'limit': {
        if (error.errorCode === SUBSCRIPTION_LIMIT_EXCEEDED) {
          const wait = this.#life.backoffs.connectionLimit.next();
          this.#logger.warn({ ...log, retryInMs: wait }, 'Pub/Sub subscription limit: backing off');
          this.#life.rebuild('connection_limit', wait);
          return;
        }
        const wait = this.#life.backoffs.dailyLimit.next();
        this.#logger.error(
          { ...log, retryInMs: wait },
          'Pub/Sub allocation used up: disconnecting and reconciling later',
        );
        this.#life.rebuild('daily_limit', wait);
        const reason = `Pub/Sub allocation exceeded; streaming again in ${Math.round(wait / 1000)} s`;
        this.#life
          .reconcileAll(reason)
          .catch((err: unknown) => this.#logger.error({ err }, 'could not request reconciliation'));
        return;
      }
      case 'transient': {
        const wait = this.#life.backoffs.rebuild.next();
        this.#logger.warn({ ...log, retryInMs: wait }, 'Pub/Sub failure: building a new client');
        this.#life.rebuild('transient', wait);
        return;
      }
    }
  }

  /** The stored id is no longer valid: forget it, subscribe at LATEST, reconcile the gap (docs/pubsub.md#replay-positions). */
  async #resetTopic(client: PubsubClient, topic: string, object: string): Promise<void> {
    const { status } = this.#options;
    const replayId = this.#ingest.position(topic);
    this.#counts.replayResets += 1;
    await this.#positions.reset(this.key, topic);
    this.#ingest.setPosition(topic, undefined);
    const lastCommit = await status.lastCommitAt(object);
    const since = lastCommit === undefined ? null : lastCommit - this.#timings.reconcileMarginMs;
    await status.requestReconcile(
      object,
      since,
      `Pub/Sub replay id ${String(replayId)} was invalid or no longer retained`,
    );
    this.#logger.warn(
      { topic, object, replayId, since: since === null ? null : new Date(since).toISOString() },
      'replay id rejected: subscribing at LATEST and reconciling',
    );
    if (this.#client === client) this.#subscribe(client, topic);
  }

  // ── timers ───────────────────────────────────────────────────────────────────────────────────

  #startTimers(): void {
    this.#clearTimers();
    this.#watchdog = setInterval(() => this.#checkStall(), this.#timings.watchdogIntervalMs);
    this.#watchdog.unref();
    this.#channelRetry = setInterval(() => this.#retryFailedTopics(), this.#timings.channelRetryMs);
    this.#channelRetry.unref();
  }

  #clearTimers(): void {
    clearInterval(this.#watchdog);
    clearInterval(this.#channelRetry);
    this.#watchdog = this.#channelRetry = undefined;
  }

  /** Salesforce answers at least every 270 s (a keepalive): longer silence is a dead call. */
  #checkStall(): void {
    if (!this.#client || this.#life.rebuilding) return;
    const silentFor = this.#now() - this.#lastResponseAt;
    if (silentFor <= this.#timings.pubsubSilenceMs) return;
    this.#logger.warn({ silentForMs: silentFor }, 'no Pub/Sub response in time: the stream is stalled');
    this.#life.rebuild('stall', this.#life.backoffs.rebuild.next());
  }

  #retryFailedTopics(): void {
    const client = this.#client;
    if (!client) return;
    for (const [topic, state] of this.#channels) if (state === 'failed') this.#subscribe(client, topic);
  }
}
