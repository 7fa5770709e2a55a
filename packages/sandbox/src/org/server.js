/**
 * Assembles the simulated Salesforce org: one node HTTP server carrying the Fastify app (OAuth,
 * REST, Control API) and the CometD endpoint side by side, like one My Domain host.
 */
import http from 'node:http';
import Fastify from 'fastify';
import { ChangeEventLog } from "./change-events.js";
import { createCometdEndpoint } from "./cometd.js";
import { controlRoutes } from "./control.js";
import { createOAuthService, DEFAULT_INTEGRATION_USER, DEFAULT_USERS, } from "./oauth.js";
import { createRestApi } from "./rest.js";
import { createOrgStore } from "./store.js";
import { startPubsubEndpoint } from "./pubsub.js";
/** URI length limit; URI plus headers share the same budget (docs/salesforce.md#key-numbers). */
export const MAX_URI_BYTES = 16_384;
/** Bytes of the request line's URI plus every header line, as a front end would count them. */
function headerBytes(req) {
    let total = 0;
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
        total += Buffer.byteLength(req.rawHeaders[i] ?? '') + Buffer.byteLength(req.rawHeaders[i + 1] ?? '') + 4;
    }
    return total;
}
/** Streaming allocations as `/limits` reports them (docs/salesforce.md#api-limits-and-sforce-limit-info; Performance edition numbers, docs/salesforce.md#key-numbers). */
function streamingLimits(counters) {
    const delivered = { Max: 50_000, Remaining: Math.max(0, 50_000 - counters.eventsDelivered) };
    const clients = { Max: 2_000, Remaining: Math.max(0, 2_000 - counters.activeClients) };
    return { DailyDeliveredPlatformEvents: delivered, DurableStreamingApiConcurrentClients: clients };
}
export async function startSalesforceOrg(opts = {}) {
    const now = opts.now ?? Date.now;
    const users = opts.users && opts.users.length > 0 ? opts.users : [...DEFAULT_USERS];
    const integrationUser = users[0] ?? DEFAULT_INTEGRATION_USER;
    let baseUrl = '';
    const store = createOrgStore({
        now,
        orgId: integrationUser.orgId,
        defaultUserId: integrationUser.id,
        ...(opts.objects ? { objects: opts.objects } : {}),
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
    const pubsub = await startPubsubEndpoint({
        log: events,
        auth: oauth,
        orgId: integrationUser.orgId,
        ...(opts.host !== undefined ? { host: opts.host } : {}),
        ...(opts.pubsubKeepaliveMs !== undefined ? { keepaliveMs: opts.pubsubKeepaliveMs } : {}),
    });
    const rest = createRestApi({
        source: store,
        auth: oauth,
        baseUrl: () => baseUrl,
        now,
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
                if (cometd.matches(req.url))
                    cometd.handle(req, res);
                else
                    fastifyHandler(req, res);
            });
        },
    });
    const counters = () => ({
        rest: rest.control.counters(),
        oauth: oauth.control.counters(),
        events: { retained: events.retained().length, lastReplayId: events.lastReplayId() },
        streaming: cometd.control.counters(),
        pubsub: pubsub.control.counters(),
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
            streaming: cometd.control,
            counters,
        });
    }
    await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
    const address = app.server.address();
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    baseUrl = `http://${host}:${address.port}`;
    return {
        url: baseUrl,
        store,
        events,
        streaming: cometd.control,
        pubsubUrl: pubsub.url,
        pubsub: pubsub.control,
        oauth: oauth.control,
        rest: rest.control,
        counters,
        async close() {
            stopFollowing();
            // Open long-polls and Subscribe calls end first, or the servers would wait for them.
            await pubsub.close();
            await cometd.close();
            await app.close();
        },
    };
}
