/**
 * Assembles the simulated Salesforce org: one node HTTP server carrying the Fastify app (OAuth,
 * REST, Control API) and the CometD endpoint side by side, like one My Domain host.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { ObjectMeta } from './contracts.ts';
import { ChangeEventLog } from './change-events.ts';
import { createCometdEndpoint, type StreamingControl, type StreamingCounters } from './cometd.ts';
import { controlRoutes } from './control.ts';
import {
  createOAuthService,
  DEFAULT_INTEGRATION_USER,
  DEFAULT_USERS,
  type ConnectedAppConfig,
  type OAuthControl,
  type OAuthCounters,
  type OrgUser,
} from './oauth.ts';
import type { BulkQueryControl } from './bulk.ts';
import { createRestApi, type RestControl, type RestCounters } from './rest.ts';
import { createOrgStore, type OrgStoreWithEvents } from './store.ts';

/** URI length limit; URI plus headers share the same budget (docs/salesforce.md#key-numbers). */
export const MAX_URI_BYTES = 16_384;

export interface SalesforceOrgOptions {
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @defaultValue 0 */
  port?: number;
  /** @defaultValue [DEFAULT_CONNECTED_APP] */
  connectedApps?: ConnectedAppConfig[];
  /** The first user is the org's integration user (auto-approve, store default). @defaultValue DEFAULT_USERS */
  users?: OrgUser[];
  /** Approve authorize requests without the login page. @defaultValue false */
  autoApprove?: boolean;
  /** @defaultValue 2 h */
  accessTokenTtlMs?: number;
  /** @defaultValue 15 min */
  authorizationCodeTtlMs?: number;
  /** CDC retention. @defaultValue 72 h */
  retentionMs?: number;
  /** Long-poll hold of `/meta/connect`, seconds. @defaultValue 110 */
  cometdTimeoutSeconds?: number;
  /** @defaultValue 100,000 */
  dailyApiLimit?: number;
  /** Cap on query pages below Salesforce's 2,000, to force paging in tests. @defaultValue 2000 */
  maxBatchSize?: number;
  /** Object metadata. @defaultValue the sandbox's default objects */
  objects?: ObjectMeta[];
  /** The 2-char pod in record Ids (several orgs side by side each take their own). @defaultValue `'5f'` */
  idPod?: string;
  /** Serve the Control API under /_sandbox/sf. @defaultValue true */
  controlApi?: boolean;
  /** Clock (epoch ms) shared by store, tokens, REST and events. @defaultValue Date.now */
  now?: () => number;
}

export interface SalesforceOrgCounters {
  rest: RestCounters;
  oauth: OAuthCounters;
  events: { retained: number; lastReplayId: number };
  streaming: StreamingCounters;
}

export interface SimulatedSalesforceOrg {
  /** Base URL, e.g. `http://127.0.0.1:41234`: login host and instance_url alike. */
  url: string;
  store: OrgStoreWithEvents;
  events: ChangeEventLog;
  /** CometD fault injection and counters (`/cometd/<version>`). */
  streaming: StreamingControl;
  oauth: OAuthControl;
  rest: RestControl;
  /** Bulk API 2.0 query jobs: timing, failures, which result pages were read. */
  bulk: BulkQueryControl;
  counters(): SalesforceOrgCounters;
  close(): Promise<void>;
}

/** Bytes of the request line's URI plus every header line, as a front end would count them. */
function headerBytes(req: http.IncomingMessage): number {
  let total = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    total += Buffer.byteLength(req.rawHeaders[i] ?? '') + Buffer.byteLength(req.rawHeaders[i + 1] ?? '') + 4;
  }
  return total;
}

/** Streaming allocations as `/limits` reports them (docs/salesforce.md#api-limits-and-sforce-limit-info; Performance edition numbers, docs/salesforce.md#key-numbers). */
function streamingLimits(counters: StreamingCounters): Record<string, { Max: number; Remaining: number }> {
  const delivered = { Max: 50_000, Remaining: Math.max(0, 50_000 - counters.eventsDelivered) };
  const clients = { Max: 2_000, Remaining: Math.max(0, 2_000 - counters.activeClients) };
  return { DailyDeliveredPlatformEvents: delivered, DurableStreamingApiConcurrentClients: clients };
}

export async function startSalesforceOrg(opts: SalesforceOrgOptions = {}): Promise<SimulatedSalesforceOrg> {
  const now = opts.now ?? Date.now;
  const users = opts.users && opts.users.length > 0 ? opts.users : [...DEFAULT_USERS];
  const integrationUser = users[0] ?? DEFAULT_INTEGRATION_USER;
  let baseUrl = '';

  const store = createOrgStore({
    now,
    orgId: integrationUser.orgId,
    defaultUserId: integrationUser.id,
    ...(opts.objects ? { objects: opts.objects } : {}),
    ...(opts.idPod !== undefined ? { idPod: opts.idPod } : {}),
  });
  const events = new ChangeEventLog({
    objects: store.objects(),
    now,
    ...(opts.retentionMs !== undefined ? { retentionMs: opts.retentionMs } : {}),
  });
  const stopFollowing = events.follow(store);

  const oauth = createOAuthService({
    baseUrl: () => baseUrl,
    now,
    users,
    ...(opts.connectedApps ? { connectedApps: opts.connectedApps } : {}),
    ...(opts.autoApprove !== undefined ? { autoApprove: opts.autoApprove } : {}),
    ...(opts.accessTokenTtlMs !== undefined ? { accessTokenTtlMs: opts.accessTokenTtlMs } : {}),
    ...(opts.authorizationCodeTtlMs !== undefined ? { authorizationCodeTtlMs: opts.authorizationCodeTtlMs } : {}),
  });
  const cometd = createCometdEndpoint({
    log: events,
    auth: oauth,
    orgId: integrationUser.orgId,
    ...(opts.cometdTimeoutSeconds !== undefined ? { timeoutSeconds: opts.cometdTimeoutSeconds } : {}),
  });
  const rest = createRestApi({
    source: store,
    auth: oauth,
    baseUrl: () => baseUrl,
    now,
    userId: integrationUser.id,
    extraLimits: () => streamingLimits(cometd.control.counters()),
    ...(opts.dailyApiLimit !== undefined ? { dailyApiLimit: opts.dailyApiLimit } : {}),
    ...(opts.maxBatchSize !== undefined ? { maxBatchSize: opts.maxBatchSize } : {}),
  });

  const app = Fastify({
    logger: false,
    routerOptions: { ignoreTrailingSlash: true },
    serverFactory: (fastifyHandler) => {
      // Room for over-long URIs to reach our own 414 instead of node's parser error.
      return http.createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
        const uriBytes = Buffer.byteLength(req.url ?? '');
        if (uriBytes > MAX_URI_BYTES) {
          res.writeHead(414, { 'content-type': 'text/plain' }).end('URI Too Long');
          return;
        }
        if (uriBytes + headerBytes(req) > MAX_URI_BYTES) {
          res.writeHead(431, { 'content-type': 'text/plain' }).end('Request Header Fields Too Large');
          return;
        }
        if (cometd.matches(req.url)) cometd.handle(req, res);
        else fastifyHandler(req, res);
      });
    },
  });

  const counters = (): SalesforceOrgCounters => ({
    rest: rest.control.counters(),
    oauth: oauth.control.counters(),
    events: { retained: events.retained().length, lastReplayId: events.lastReplayId() },
    streaming: cometd.control.counters(),
  });

  // Every response is dated by the org's own clock, as Salesforce's are: the bridge reads "now" on
  // Salesforce's clock from it, and a test may set that clock apart from the host's.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('date', new Date(now()).toUTCString());
  });

  // The org's route groups, in one place.
  await app.register(oauth.routes);
  await app.register(rest.routes, { prefix: '/services/data' });
  if (opts.controlApi ?? true) {
    await app.register(controlRoutes, {
      prefix: '/_sandbox/sf',
      store,
      events,
      oauth: oauth.control,
      rest: rest.control,
      bulk: rest.bulk,
      streaming: cometd.control,
      counters,
    });
  }

  await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `http://${host}:${address.port}`;

  return {
    url: baseUrl,
    store,
    events,
    streaming: cometd.control,
    oauth: oauth.control,
    rest: rest.control,
    bulk: rest.bulk,
    counters,
    async close() {
      stopFollowing();
      // Open long-polls end first, or the HTTP server would wait for them.
      await cometd.close();
      await app.close();
    },
  };
}
