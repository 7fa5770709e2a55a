/**
 * The sandbox org's CometD endpoint: faye's own NodeAdapter (long-polling only) with Salesforce's
 * rules layered on as server extensions (docs/salesforce.md#streaming-api-over-cometd).
 *
 * - `/cometd/<version>`; the version is mandatory and must be ≥ 37.0
 *   (docs/salesforce.md#endpoint-headers-and-cookies).
 * - The Authorization header is checked on every message (docs/salesforce.md#streaming-errors), the
 *   BAYEUX_BROWSER cookie set at handshake is required afterwards
 *   (docs/salesforce.md#endpoint-headers-and-cookies), and errors carry Salesforce's exact strings.
 * - Subscriptions honour `ext.replay` through {@link ReplayingEngine}
 *   (docs/salesforce.md#replay-ids-and-retention).
 *
 * Mounting: `attach(server)` takes over the `request` listeners of a plain `http.Server` and sends
 * `/cometd…` requests here, everything else to the previous listeners (a Fastify app's handler,
 * for instance). Or call `matches(url)` and `handle(req, res)` yourself.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import './faye-json.ts';
import faye from 'faye';
import type { TokenAuthority } from './contracts.ts';
import type { ChangeEventLog, GapChangeType } from './change-events.ts';
import { REPLAY_ALL_RETAINED, REPLAY_NEW_ONLY, ReplayingEngine, type SubscriptionInfo } from './streaming.ts';

/** Salesforce's idle long-poll time (docs/salesforce.md#key-numbers). */
export const DEFAULT_TIMEOUT_SECONDS = 110;
/** Time a client has to send its next `/meta/connect` after a reply (docs/salesforce.md#timeouts-and-reconnects). */
export const RECONNECT_DEADLINE_SECONDS = 40;
export const MIN_API_VERSION = 37;
/** Largest POST body Salesforce accepts on `/cometd` (docs/salesforce.md#key-numbers). */
export const MAX_REQUEST_BYTES = 32_768;
export const BROWSER_COOKIE = 'BAYEUX_BROWSER';

/** Exact wire strings (docs/salesforce.md#endpoint-headers-and-cookies, #streaming-errors). */
export const CometdErrors = {
  versionMandatory: "400::API version in the URI is mandatory. URI format: '/cometd/66.0'",
  versionUnsupported: "400::Unsupported API version. Only API versions '37.0' and later are supported.",
  handshakeDenied: '403::Handshake denied',
  requiresAuthentication: '401::Request requires authentication',
  authenticationInvalid: '401::Authentication invalid',
  unknownClient: '403::Unknown client',
  connectionLimit:
    '403::To protect all customers from excessive use and Denial of Service attacks, we limit the number of simultaneous connections per server.  Your request has been denied because this limit has been exceeded.  Please try your request again later.',
  dailyLimit: '403::Organization total events daily limit exceeded',
  noViewAllData: '403::User not allowed to subscribe CDC without View All Data permissions',
  restrictedChannel: '403::Restricted channel',
  channelDoesNotExist: (channel: string) => `400::The channel you requested to subscribe to does not exist ${channel}`,
  invalidReplayId: (replayId: number | string) =>
    `400::The replayId {${replayId}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`,
  invalidConnectionType: (type: string) => `400::Invalid connection type ${type}`,
  missingCookie: (clientId: string) =>
    `400::Client ${clientId} has established a session, but no ${BROWSER_COOKIE} cookie present`,
} as const;

export interface CometdEndpointOptions {
  log: ChangeEventLog;
  auth: TokenAuthority;
  /** Long-poll hold time, sent as `advice.timeout` (ms). Keep it small in tests. @defaultValue 110 */
  timeoutSeconds?: number;
  /** Reported in nothing yet; kept so the assembler can pass the org through. */
  orgId?: string;
}

/** Fault injection and inspection for tests and the control API. */
export interface StreamingControl {
  /**
   * The server forgets every current client (Hyperforce autoscale,
   * docs/salesforce.md#streaming-errors). Open long-polls return; each client's next `/meta/connect`
   * gets `403::Unknown client` with `advice {interval:0, reconnect:"handshake"}`, so faye handshakes
   * again and resubscribes.
   */
  injectUnknownClient(): void;
  /** Cut every open HTTP request (long-polls included) without a response: a network failure. */
  dropConnections(): void;
  /**
   * The next `count` replies that carry change events are lost in transit: the server hands the
   * events out (they count as delivered, and the next connect gets only newer ones) and the socket is
   * cut before the reply reaches the client — what a proxy, a load balancer or a client-side timeout
   * does to a long poll (docs/salesforce.md#transport-failures-lose-a-reply).
   */
  loseRepliesWithEvents(count: number): void;
  /** Delay every CometD request by `ms` before it is processed (0 turns it off). */
  latency(ms: number): void;
  /**
   * While on, `/meta/connect` and `/meta/subscribe` fail with
   * `403::Organization total events daily limit exceeded` (docs/salesforce.md#streaming-errors) and
   * advice `reconnect:"none"`: the subscription stays disconnected until the client is rebuilt. Open
   * long-polls are ended so the next connect sees it.
   */
  dailyLimitExceeded(on: boolean): void;
  /** While on, handshakes are denied with the per-server connection-limit failureReason (docs/salesforce.md#streaming-errors). */
  connectionLimitExceeded(on: boolean): void;
  /** While on, subscribing to `channel` fails with the View All Data error (docs/salesforce.md#streaming-errors, #subscriber-permissions). */
  denyChannel(channel: string, on: boolean): void;
  /**
   * Server-initiated `/meta/disconnect` (docs/salesforce.md#bayeux-message-exchange): every client
   * receives one on its current or next long-poll and is then forgotten, so its following connect gets
   * `403::Unknown client` and faye handshakes again.
   */
  serverDisconnect(): void;
  /** Drop every retained event, so stored replay ids become invalid (docs/salesforce.md#replay-ids-and-retention). */
  purgeRetention(): void;
  /** Append a gap event (docs/salesforce.md#gap-events); several recordIds make a merged gap event. */
  emitGap(entityName: string, changeType: GapChangeType, recordIds: string[]): void;
  /** Append an overflow event for one entity (docs/salesforce.md#overflow-events). */
  emitOverflow(entityName: string): void;
  counters(): StreamingCounters;
}

export interface StreamingCounters {
  /** `/meta/handshake` requests received, accepted or not. */
  handshakes: number;
  /** `/meta/connect` requests received, accepted or not. */
  connects: number;
  /** Change events handed to clients, counted once per channel delivery (as the allocation counts, docs/salesforce.md#cdc-channels). */
  eventsDelivered: number;
  subscriptions: SubscriptionInfo[];
  activeClients: number;
  /** Clients whose `/meta/connect` long-poll is held open right now. */
  openLongPolls: number;
  /** Replies with events cut on purpose by `loseRepliesWithEvents`. */
  repliesLost: number;
}

export interface CometdEndpoint {
  /** Whether a request URL belongs to this endpoint (`/cometd` or `/cometd/…`). */
  matches(url: string | undefined): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Route `/cometd…` requests of `server` here; other requests go to its existing listeners. */
  attach(server: HttpServer): void;
  readonly control: StreamingControl;
  close(): Promise<void>;
}

/** How to rewrite faye's reply to one message the incoming extension refused. */
interface Refusal {
  error: string;
  failureReason?: string;
  /** Replaces faye's advice; null removes it. */
  advice: faye.Advice | null;
  /** Salesforce keeps the clientId on some failed replies that faye strips. */
  clientId?: string;
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export function createCometdEndpoint(opts: CometdEndpointOptions): CometdEndpoint {
  const timeoutSeconds = opts.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const log = opts.log;
  let engine: ReplayingEngine | undefined;
  /** Each client's latest `/meta/connect` response (declared first: the engine reads it). */
  const heldConnects = new Map<string, ServerResponse>();
  const adapter = new faye.NodeAdapter({
    mount: '/cometd',
    timeout: timeoutSeconds,
    engine: ReplayingEngine.factory(
      {
        log,
        sessionTimeoutMs: (timeoutSeconds + RECONNECT_DEADLINE_SECONDS) * 1000,
        isLongPollAlive: (clientId) => {
          const res = heldConnects.get(clientId);
          return res !== undefined && !res.destroyed && res.socket?.destroyed !== true;
        },
      },
      (created) => (engine = created),
    ),
  });
  if (!engine) throw new Error('faye did not create the CometD engine');
  const sessions: ReplayingEngine = engine;

  const faults = {
    latencyMs: 0,
    dailyLimit: false,
    connectionLimit: false,
    deniedChannels: new Set<string>(),
    repliesToLose: 0,
  };
  const counts = { handshakes: 0, connects: 0, repliesLost: 0 };
  /** Refusals per HTTP request, keyed by message id and channel, applied on the way out. */
  const refusals = new WeakMap<IncomingMessage, Map<string, Refusal>>();
  /** The BAYEUX_BROWSER value each request carries or is being given. */
  const browserOf = new WeakMap<IncomingMessage, string>();
  /** The BAYEUX_BROWSER value bound to each client at handshake. */
  const clientBrowsers = new Map<string, string>();
  /** The client a pending `/meta/connect` request belongs to, to clean up cut long-polls. */
  const connectClientOf = new WeakMap<IncomingMessage, string>();
  const responseOf = new WeakMap<IncomingMessage, ServerResponse>();
  const inFlight = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();

  const replyKey = (m: faye.Message) => `${m.id ?? ''} ${m.channel}`;
  const refuse = (req: IncomingMessage, message: faye.Message, refusal: Refusal): void => {
    message.error = refusal.error;
    let forRequest = refusals.get(req);
    if (!forRequest) refusals.set(req, (forRequest = new Map<string, Refusal>()));
    forRequest.set(replyKey(message), refusal);
  };

  /** Salesforce checks the token on every message; the handshake reports it as a failureReason. */
  const authRefusal = (req: IncomingMessage, message: faye.Message): Refusal | undefined => {
    const check = opts.auth.check(headerValue(req.headers.authorization));
    if (check.ok) return undefined;
    const reason =
      check.reason === 'missing' ? CometdErrors.requiresAuthentication : CometdErrors.authenticationInvalid;
    if (message.channel === '/meta/handshake') {
      // A missing header gets no advice in Salesforce's table, so faye just retries the handshake.
      return {
        error: CometdErrors.handshakeDenied,
        failureReason: reason,
        advice: check.reason === 'missing' ? null : { reconnect: 'none' },
      };
    }
    return { error: reason, advice: { reconnect: 'none', interval: 0 }, clientId: message.clientId };
  };

  const cookieRefusal = (req: IncomingMessage, message: faye.Message): Refusal | undefined => {
    const clientId = message.clientId;
    if (!clientId) return undefined;
    const expected = clientBrowsers.get(clientId);
    // Clients the server does not know get faye's unknown-client reply instead.
    if (expected === undefined || parseCookies(req.headers.cookie).get(BROWSER_COOKIE) === expected) return undefined;
    return { error: CometdErrors.missingCookie(clientId), advice: null };
  };

  const subscribeRefusal = (message: faye.Message): Refusal | undefined => {
    const channel = typeof message.subscription === 'string' ? message.subscription : undefined;
    if (channel === undefined || !log.isKnownChannel(channel)) {
      return { error: CometdErrors.channelDoesNotExist(String(message.subscription)), advice: null };
    }
    if (faults.deniedChannels.has(channel)) return { error: CometdErrors.noViewAllData, advice: null };
    if (faults.dailyLimit) return { error: CometdErrors.dailyLimit, advice: null };
    const replayFrom = replayIdFor(message, channel);
    if (replayFrom === undefined)
      return { error: CometdErrors.invalidReplayId(String(replayMapOf(message)?.[channel])), advice: null };
    if (replayFrom !== REPLAY_NEW_ONLY && replayFrom !== REPLAY_ALL_RETAINED && !log.canReplayFrom(replayFrom)) {
      return { error: CometdErrors.invalidReplayId(replayFrom), advice: null };
    }
    if (message.clientId) sessions.expectReplay(message.clientId, channel, replayFrom);
    return undefined;
  };

  const salesforceRules: faye.ServerExtension = {
    incoming(message, req, callback) {
      if (!req) {
        callback(message);
        return;
      }
      let refusal: Refusal | undefined;
      switch (message.channel) {
        case '/meta/handshake':
          counts.handshakes += 1;
          refusal = authRefusal(req, message);
          if (!refusal && faults.connectionLimit) {
            refusal = {
              error: CometdErrors.handshakeDenied,
              failureReason: CometdErrors.connectionLimit,
              advice: { reconnect: 'none' },
            };
          }
          break;
        case '/meta/connect':
          counts.connects += 1;
          if (message.clientId) {
            connectClientOf.set(req, message.clientId);
            const res = responseOf.get(req);
            if (res) heldConnects.set(message.clientId, res);
          }
          refusal = authRefusal(req, message) ?? cookieRefusal(req, message);
          if (!refusal && message.connectionType !== 'long-polling') {
            refusal = { error: CometdErrors.invalidConnectionType(String(message.connectionType)), advice: null };
          }
          if (!refusal && faults.dailyLimit) {
            refusal = {
              error: CometdErrors.dailyLimit,
              advice: { reconnect: 'none', interval: 0 },
              clientId: message.clientId,
            };
          }
          break;
        case '/meta/subscribe':
          refusal = authRefusal(req, message) ?? cookieRefusal(req, message) ?? subscribeRefusal(message);
          break;
        case '/meta/unsubscribe':
        case '/meta/disconnect':
          refusal = authRefusal(req, message) ?? cookieRefusal(req, message);
          break;
        default:
          // Publishing on CDC channels is Salesforce's job, not a client's.
          refusal = { error: CometdErrors.restrictedChannel, advice: null };
      }
      if (refusal) refuse(req, message, refusal);
      callback(message);
    },

    outgoing(message, req, callback) {
      if (!req) {
        callback(message);
        return;
      }
      const refusal = message.successful === false ? refusals.get(req)?.get(replyKey(message)) : undefined;
      if (refusal) {
        message.error = refusal.error;
        if (refusal.failureReason) message.ext = { ...message.ext, sfdc: { failureReason: refusal.failureReason } };
        if (refusal.advice) message.advice = { ...refusal.advice };
        else delete message.advice;
        if (refusal.clientId) message.clientId = refusal.clientId;
      } else if (message.successful === false && /^401:[^:]*:Unknown client$/.test(message.error ?? '')) {
        // faye says `401:<id>:Unknown client`; Salesforce says this (docs/salesforce.md#streaming-errors).
        message.error = CometdErrors.unknownClient;
        message.advice = { interval: 0, reconnect: 'handshake' };
      }
      if (message.channel === '/meta/handshake' && message.successful === true && message.clientId) {
        const browser = browserOf.get(req);
        if (browser) clientBrowsers.set(message.clientId, browser);
        message.ext = { ...message.ext, replay: true, 'payload.format': true };
        message.supportedConnectionTypes = ['long-polling'];
        message.minimumVersion = '1.0';
        message.reestablish = false;
      }
      callback(message);
    },
  };
  adapter.addExtension(salesforceRules);
  adapter.bind('disconnect', (clientId) => {
    if (typeof clientId !== 'string') return;
    clientBrowsers.delete(clientId);
    heldConnects.delete(clientId);
  });

  const matches = (url: string | undefined): boolean => {
    const path = pathnameOf(url);
    return path === '/cometd' || path.startsWith('/cometd/');
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight.add(res);
    responseOf.set(req, res);
    res.on('close', () => {
      inFlight.delete(res);
      // A long-poll cut before its reply: end faye's connection for it now, or events flushed
      // into the dead response would be lost instead of waiting for the client's next connect.
      const clientId = connectClientOf.get(req);
      if (!res.writableFinished && clientId) sessions.endLongPoll(clientId);
    });

    const versionError = apiVersionError(pathnameOf(req.url));
    if (versionError) {
      rejectAllMessages(req, res, versionError);
      return;
    }
    if (req.method !== 'POST' && req.method !== 'OPTIONS') {
      res.writeHead(405, { Allow: 'POST' }).end();
      return;
    }
    if (Number(req.headers['content-length'] ?? 0) > MAX_REQUEST_BYTES) {
      res.writeHead(413, { 'Content-Type': 'text/plain' }).end('Maximum Request Size Exceeded');
      return;
    }
    let browser = parseCookies(req.headers.cookie).get(BROWSER_COOKIE);
    if (!browser) {
      browser = randomBytes(12).toString('base64url');
      res.setHeader('Set-Cookie', `${BROWSER_COOKIE}=${browser}; Path=/cometd; HttpOnly`);
    }
    browserOf.set(req, browser);
    loseReplyWithEventsWhenAsked(res);

    if (faults.latencyMs > 0) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        adapter.handle(req, res);
      }, faults.latencyMs);
      timers.add(timer);
      return;
    }
    adapter.handle(req, res);
  };

  /** faye's adapter answers with one `end(body)`: while replies are to be lost, one with events is dropped and the socket cut. */
  const loseReplyWithEventsWhenAsked = (res: ServerResponse): void => {
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      const body = args[0];
      if (faults.repliesToLose > 0 && typeof body === 'string' && body.includes('"channel":"/data/')) {
        faults.repliesToLose -= 1;
        counts.repliesLost += 1;
        res.socket?.destroy();
        return res;
      }
      return end(...args);
    }) as ServerResponse['end'];
  };

  const flushAll = () => {
    for (const clientId of sessions.clientIds()) sessions.endLongPoll(clientId);
  };

  const control: StreamingControl = {
    injectUnknownClient() {
      for (const clientId of sessions.clientIds()) sessions.destroyClient(clientId);
    },
    dropConnections() {
      for (const res of inFlight) res.socket?.destroy();
    },
    loseRepliesWithEvents(count) {
      faults.repliesToLose = Math.max(0, count);
    },
    latency(ms) {
      faults.latencyMs = Math.max(0, ms);
    },
    dailyLimitExceeded(on) {
      faults.dailyLimit = on;
      if (on) flushAll();
    },
    connectionLimitExceeded(on) {
      faults.connectionLimit = on;
    },
    denyChannel(channel, on) {
      if (on) faults.deniedChannels.add(channel);
      else faults.deniedChannels.delete(channel);
    },
    serverDisconnect() {
      for (const clientId of sessions.clientIds()) {
        sessions.sendFinalMessage(clientId, { channel: '/meta/disconnect', clientId, successful: true });
      }
    },
    purgeRetention() {
      log.purge();
    },
    emitGap(entityName, changeType, recordIds) {
      log.appendGap(entityName, changeType, recordIds);
    },
    emitOverflow(entityName) {
      log.appendOverflow(entityName);
    },
    counters() {
      return {
        handshakes: counts.handshakes,
        connects: counts.connects,
        eventsDelivered: sessions.eventsDelivered(),
        subscriptions: sessions.subscriptions(),
        activeClients: sessions.clientIds().length,
        openLongPolls: sessions.openLongPolls(),
        repliesLost: counts.repliesLost,
      };
    },
  };

  return {
    matches,
    handle,
    control,
    attach(server) {
      const previous = server.listeners('request') as RequestListener[];
      server.removeAllListeners('request');
      server.on('request', (req: IncomingMessage, res: ServerResponse) => {
        if (matches(req.url)) {
          handle(req, res);
          return;
        }
        for (const listener of previous) listener.call(server, req, res);
      });
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const res of inFlight) res.socket?.destroy();
      adapter.close();
    },
  };
}

function apiVersionError(path: string): string | undefined {
  const version = /^\/cometd\/(\d+\.\d+)\/?$/.exec(path)?.[1];
  if (version === undefined) return CometdErrors.versionMandatory;
  if (Number(version) < MIN_API_VERSION) return CometdErrors.versionUnsupported;
  return undefined;
}

/** Answer every Bayeux message of the request with one error (version problems, docs/salesforce.md#endpoint-headers-and-cookies). */
function rejectAllMessages(req: IncomingMessage, res: ServerResponse, error: string): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let messages: unknown[];
    try {
      const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      messages = Array.isArray(parsed) ? parsed : [parsed];
    } catch {
      messages = [{}];
    }
    const replies = messages.map((m) => {
      const message = (typeof m === 'object' && m !== null ? m : {}) as Partial<faye.Message>;
      return { channel: message.channel, id: message.id, successful: false, error };
    });
    res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify(replies));
  });
}

function replayMapOf(message: faye.Message): Record<string, unknown> | undefined {
  const replay = message.ext?.['replay'];
  return typeof replay === 'object' && replay !== null ? (replay as Record<string, unknown>) : undefined;
}

/** The replay id asked for `channel`: -1 when absent, undefined when not an integer. */
function replayIdFor(message: faye.Message, channel: string): number | undefined {
  const value = replayMapOf(message)?.[channel];
  if (value === undefined || value === null) return REPLAY_NEW_ONLY;
  return typeof value === 'number' && Number.isInteger(value) && value >= REPLAY_ALL_RETAINED ? value : undefined;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return cookies;
}

function pathnameOf(url: string | undefined): string {
  return new URL(url ?? '/', 'http://localhost').pathname;
}
