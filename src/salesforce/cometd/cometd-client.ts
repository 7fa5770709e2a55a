/**
 * One faye client on `<instanceUrl>/cometd/<apiVersion>`, built the way Salesforce needs it
 * (docs/salesforce.md#endpoint-headers-and-cookies, #recommended-subscriber-loop): long-polling only,
 * one message per POST, `Authorization: Bearer <token>` (set once: a new token means a new client,
 * docs/salesforce.md#jsforce-streaming-client), and two extensions:
 *
 * - replay: every `/meta/subscribe` carries the **whole** per-channel map of positions, read at send
 *   time, so faye's own resubscribes after a re-handshake resume where we are
 *   (docs/salesforce.md#replay-ids-and-retention, #pitfall-4-several-replay-extensions-on-one-client);
 * - meta watch: every meta reply is reported — successful connects (the stall watchdog), handshakes and
 *   subscribes (to verify resubscription), failures typed by their wire strings, and a server-initiated
 *   `/meta/disconnect`, which faye itself ignores (docs/salesforce.md#bayeux-message-exchange).
 *
 * Flow control: while `holdConnect` says the consumer is behind, the next `/meta/connect` waits
 * (at most `maxConnectHoldMs`, well inside the server's 40 s reconnect deadline,
 * docs/salesforce.md#timeouts-and-reconnects). Events are delivered only in connect replies, so the
 * undelivered ones stay with the server, not in this process.
 *
 * A client is used until something goes wrong, then retired and replaced: after `reconnect: none` faye
 * never talks again on that instance (docs/salesforce.md#faye-client-behaviour), and a retired client
 * must not deliver events that the new one will replay.
 */
import faye from 'faye';
import { abortInFlight, disableBatching, retiringScheduler } from './faye-internals.ts';
import { classifyCometdFailure, type CometdError } from './errors.ts';

/** `ext.replay` value for "only new events" (docs/salesforce.md#replay-ids-and-retention). */
export const REPLAY_NEW_ONLY = -1;

export interface CometdClientListener {
  /** A CDC delivery (`data` of the message: untrusted, validate it). */
  event(channel: string, data: unknown): void;
  /** A successful `/meta/connect` reply; `timeoutMs` is the server's long-poll advice, when sent. */
  connected(timeoutMs: number | undefined): void;
  /** A successful handshake (the first, or faye's own after `403::Unknown client`). */
  handshook(): void;
  /** A successful `/meta/subscribe` reply for `channel`. */
  subscribed(channel: string): void;
  /** A failed meta reply. For a subscribe, faye has already dropped the channel (docs/salesforce.md#faye-client-behaviour). */
  failed(error: CometdError): void;
  /** The server sent `/meta/disconnect` (API ≥ 64, Hyperforce): handshake again on a new client. */
  serverDisconnected(): void;
  /**
   * A request failed at the transport level (faye's `transport:down`): a network error, a non-JSON
   * reply, or a long poll aborted after 1.2 × the advised timeout. An aborted `/meta/connect` may have
   * carried events that the server counts as delivered, so the client must not go on from where faye
   * retries (docs/salesforce.md#transport-failures-lose-a-reply).
   */
  transportDown(): void;
}

export interface CometdClientOptions {
  instanceUrl: string;
  apiVersion: string;
  accessToken: string;
  /** Position per channel sent on every subscribe (channels absent from it get -1). */
  replayPositions: () => ReadonlyMap<string, number>;
  listener: CometdClientListener;
  /** Seconds a request may take before the server's advice arrives (faye waits 1.2×). @defaultValue 120 */
  requestTimeoutSeconds?: number;
  /** Seconds between faye's own handshake/transport retries. @defaultValue 5 */
  retrySeconds?: number;
  /** While the consumer is behind: a promise that settles once it has caught up; the next connect waits for it. */
  holdConnect?: () => Promise<void> | undefined;
  /** Longest wait of one connect for `holdConnect`, ms (below the server's 40 s deadline). @defaultValue 20000 */
  maxConnectHoldMs?: number;
}

/** Default longest hold of one `/meta/connect`: half the server's 40 s reconnect deadline. */
export const MAX_CONNECT_HOLD_MS = 20_000;

export class CometdClient {
  readonly url: string;
  readonly accessToken: string;
  readonly #client: faye.Client;
  readonly #listener: CometdClientListener;
  readonly #replayPositions: () => ReadonlyMap<string, number>;
  readonly #holdConnect: (() => Promise<void> | undefined) | undefined;
  readonly #maxConnectHoldMs: number;
  /** Channels in faye's registry: subscribing again would add a second listener, not a subscribe. */
  readonly #registered = new Set<string>();
  #retired = false;

  constructor(options: CometdClientOptions) {
    this.url = `${options.instanceUrl.replace(/\/+$/, '')}/cometd/${options.apiVersion}`;
    this.accessToken = options.accessToken;
    this.#listener = options.listener;
    this.#replayPositions = options.replayPositions;
    this.#holdConnect = options.holdConnect;
    this.#maxConnectHoldMs = options.maxConnectHoldMs ?? MAX_CONNECT_HOLD_MS;
    // `scheduler` is a faye client option our faye.d.ts does not declare.
    const clientOptions: faye.ClientOptions & { scheduler: unknown } = {
      timeout: options.requestTimeoutSeconds ?? 120,
      retry: options.retrySeconds ?? 5,
      scheduler: retiringScheduler(() => this.#retired),
    };
    this.#client = new faye.Client(this.url, clientOptions);
    this.#client.disable('websocket');
    this.#client.disable('autodisconnect');
    this.#client.setHeader('Authorization', `Bearer ${options.accessToken}`);
    disableBatching(this.#client);
    this.#client.bind('transport:down', () => {
      if (!this.#retired) this.#listener.transportDown();
    });
    this.#client.addExtension({
      outgoing: (message, callback) => this.#outgoing(message, callback),
      incoming: (message, callback) => this.#incoming(message, callback),
    });
  }

  get retired(): boolean {
    return this.#retired;
  }

  /** Subscribe to `channel` unless faye already holds it (faye handshakes first if needed). */
  subscribe(channel: string): void {
    if (this.#retired || this.#registered.has(channel)) return;
    this.#registered.add(channel);
    const subscription = this.#client.subscribe(channel, (data) => {
      if (!this.#retired) this.#listener.event(channel, data);
    });
    // Failures are reported from the wire reply by the meta watch; this only keeps faye quiet.
    subscription.errback(() => undefined);
  }

  /** Channels faye will resubscribe on its own after a re-handshake. */
  registeredChannels(): string[] {
    return [...this.#registered];
  }

  /**
   * Stop this client for good: nothing more is delivered or sent. `graceful` sends one
   * `/meta/disconnect` so the server frees the client slot; without it the client just vanishes
   * (what a killed process leaves behind).
   */
  retire({ graceful = true }: { graceful?: boolean } = {}): void {
    if (this.#retired) return;
    this.#retired = true;
    if (graceful) this.#client.disconnect();
    abortInFlight(this.#client, graceful ? ['/meta/disconnect'] : []);
  }

  #outgoing(message: faye.Message, callback: faye.MessageCallback): void {
    if (this.#retired && message.channel !== '/meta/disconnect') {
      callback(null);
      return;
    }
    if (message.channel === '/meta/subscribe') {
      const replay: Record<string, number> = {};
      for (const channel of this.#registered) replay[channel] = REPLAY_NEW_ONLY;
      for (const [channel, replayId] of this.#replayPositions()) replay[channel] = replayId;
      message.ext = { ...message.ext, replay };
    }
    const hold = message.channel === '/meta/connect' ? this.#holdConnect?.() : undefined;
    if (hold) {
      void this.#afterHold(hold).then(() => callback(this.#retired ? null : message));
      return;
    }
    callback(message);
  }

  /** Until `hold` settles or `maxConnectHoldMs` passes, whichever is first. */
  async #afterHold(hold: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#maxConnectHoldMs)));
    await Promise.race([hold.catch(() => undefined), limit]);
    clearTimeout(timer);
  }

  #incoming(message: faye.Message, callback: faye.MessageCallback): void {
    if (this.#retired) {
      // The reply to our own disconnect: the last thing this client will hear.
      if (message.channel === '/meta/disconnect') abortInFlight(this.#client);
      callback(null);
      return;
    }
    switch (message.channel) {
      case '/meta/handshake':
        if (message.successful) this.#notify(() => this.#listener.handshook());
        else this.#fail(message);
        break;
      case '/meta/connect':
        if (message.successful) {
          const timeout = message.advice?.timeout;
          this.#listener.connected(typeof timeout === 'number' ? timeout : undefined);
        } else this.#fail(message);
        break;
      case '/meta/subscribe': {
        const channel = typeof message.subscription === 'string' ? message.subscription : undefined;
        if (message.successful) {
          if (channel !== undefined) this.#notify(() => this.#listener.subscribed(channel));
        } else {
          if (channel !== undefined) this.#registered.delete(channel);
          this.#fail(message);
        }
        break;
      }
      case '/meta/disconnect':
        // We never sent one while active: the server ended the session.
        this.#notify(() => this.#listener.serverDisconnected());
        break;
      default:
        break;
    }
    callback(message);
  }

  #fail(message: faye.Message): void {
    const sfdc = message.ext?.['sfdc'];
    const failureReason =
      typeof sfdc === 'object' && sfdc !== null ? (sfdc as { failureReason?: unknown }).failureReason : undefined;
    const error = classifyCometdFailure({
      channel: message.channel,
      error: typeof message.error === 'string' ? message.error : 'no error text',
      failureReason: typeof failureReason === 'string' ? failureReason : undefined,
      subscription: typeof message.subscription === 'string' ? message.subscription : undefined,
      reconnect: message.advice?.reconnect,
    });
    this.#notify(() => this.#listener.failed(error));
  }

  /** Report after faye has processed the message: listeners may retire this client. */
  #notify(report: () => void): void {
    queueMicrotask(() => {
      if (!this.#retired) report();
    });
  }
}
