/**
 * Test harness for the sandbox CometD endpoint: a plain http.Server with the endpoint attached, a
 * store feeding a change event log, a stub TokenAuthority, and real faye long-polling clients.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import faye from 'faye';
import type { AuthCheck, TokenAuthority } from '../src/org/contracts.ts';
import { ChangeEventLog, type ChangeEventMessage } from '../src/org/change-events.ts';
import { createCometdEndpoint, type CometdEndpoint } from '../src/org/cometd.ts';
import { createOrgStore, type OrgStoreWithEvents } from '../src/org/store.ts';

/** Accepts `good-token` (Bearer or OAuth) until revoked. */
export class StubTokenAuthority implements TokenAuthority {
  readonly valid = new Set(['good-token']);
  check(header: string | undefined): AuthCheck {
    if (!header) return { ok: false, reason: 'missing' };
    const token = /^(?:Bearer|OAuth) (.+)$/.exec(header)?.[1];
    if (!token || !this.valid.has(token)) return { ok: false, reason: 'invalid' };
    return { ok: true, userId: '0055f000005mc66AAA', orgId: '00D5f000000SbxAAAQ', token };
  }
}

export interface Harness {
  store: OrgStoreWithEvents;
  log: ChangeEventLog;
  endpoint: CometdEndpoint;
  auth: StubTokenAuthority;
  /** Base URL, e.g. `http://127.0.0.1:PORT`. */
  baseUrl: string;
  /** `${baseUrl}/cometd/62.0` */
  url: string;
  /** A faye client already wired with Authorization, the replay map and a meta-message log. */
  client(opts?: ClientOptions): TestClient;
  close(): Promise<void>;
}

export interface HarnessOptions {
  retentionMs?: number;
  now?: () => number;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const store = createOrgStore(opts.now ? { now: opts.now } : {});
  const log = new ChangeEventLog({
    objects: store.objects(),
    ...(opts.retentionMs !== undefined ? { retentionMs: opts.retentionMs } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  log.follow(store);
  const auth = new StubTokenAuthority();
  const endpoint = createCometdEndpoint({ log, auth, timeoutSeconds: 2 });
  const server: Server = createServer((_req, res) => {
    res.writeHead(404).end('not cometd');
  });
  endpoint.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const url = `${baseUrl}/cometd/62.0`;
  const clients: TestClient[] = [];
  return {
    store,
    log,
    endpoint,
    auth,
    baseUrl,
    url,
    client(clientOpts = {}) {
      const c = new TestClient(clientOpts.url ?? url, clientOpts);
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      await endpoint.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ClientOptions {
  url?: string;
  /** Sent as `Authorization: Bearer <token>`; undefined sends no header. @defaultValue 'good-token' */
  token?: string | null;
  /** Initial `ext.replay` map. */
  replay?: Record<string, number>;
}

export interface Delivery {
  channel: string;
  data: ChangeEventMessage;
}

/**
 * A faye Client the way the bridge builds one: long-polling only, Authorization header, an
 * outgoing extension that sends the whole replay map on every `/meta/subscribe`, and an incoming
 * extension that records meta replies (faye hides failed ones from listeners).
 */
export class TestClient {
  readonly faye: faye.Client;
  readonly replay: Record<string, number>;
  /** Every meta message received, in order. */
  readonly meta: faye.Message[] = [];
  /** Every event delivered to a subscription made with `subscribe()`. */
  readonly deliveries: Delivery[] = [];

  constructor(url: string, opts: ClientOptions) {
    this.replay = { ...opts.replay };
    this.faye = new faye.Client(url, { timeout: 5, retry: 0.2 });
    this.faye.disable('websocket');
    this.faye.disable('autodisconnect');
    const token = opts.token === undefined ? 'good-token' : opts.token;
    if (token !== null) this.faye.setHeader('Authorization', `Bearer ${token}`);
    this.faye.addExtension({
      outgoing: (message, callback) => {
        if (message.channel === '/meta/subscribe') message.ext = { ...message.ext, replay: { ...this.replay } };
        callback(message);
      },
      incoming: (message, callback) => {
        if (message.channel.startsWith('/meta/')) this.meta.push(structuredClone(message));
        callback(message);
      },
    });
  }

  subscribe(channel: string): faye.Subscription {
    const sub = this.faye.subscribe(channel);
    sub.withChannel((ch, data) => {
      this.deliveries.push({ channel: ch, data: data as ChangeEventMessage });
    });
    return sub;
  }

  /**
   * Resolves once the subscription is acknowledged. Rejects with the exact wire `error` of the failed
   * `/meta/subscribe` reply: faye's errback gets it parsed, and `Error.parse` strips the `400::` prefix
   * whenever the text happens to fit Bayeux's error grammar (docs/salesforce.md#faye-client-behaviour).
   */
  async subscribed(channel: string): Promise<faye.Subscription> {
    const sub = this.subscribe(channel);
    await new Promise<void>((resolve, reject) => {
      sub.then(
        () => resolve(),
        (err: unknown) => {
          const reply = this.metaReplies('/meta/subscribe').findLast(
            (m) => m.subscription === channel && m.successful === false,
          );
          reject(new Error(reply?.error ?? (err as faye.BayeuxError).message));
        },
      );
    });
    return sub;
  }

  metaReplies(channel: string): faye.Message[] {
    return this.meta.filter((m) => m.channel === channel);
  }

  close(): void {
    this.faye.disconnect();
  }
}

/** Poll `probe` until it returns a value other than undefined/false, or fail after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
