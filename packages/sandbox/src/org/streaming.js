/**
 * The faye engine behind the sandbox CometD endpoint: client sessions, subscriptions with replay
 * cursors, and a message queue per client.
 *
 * faye's own Memory engine can only publish to every subscriber of a channel. Salesforce replays
 * retained events to the one client that asked (docs/salesforce.md#replay-ids-and-retention), so this
 * engine replaces it (faye's `engine.type` option, the same hook faye-redis uses). Each subscription
 * keeps a cursor, the highest replay id queued for it. Replay and live delivery both go through the
 * cursor, and everything runs on one thread, so a client whose catch-up is being queued can neither
 * miss nor see twice a live event.
 */
import { randomBytes } from 'node:crypto';
/** `ext.replay` values (docs/salesforce.md#replay-ids-and-retention). */
export const REPLAY_NEW_ONLY = -1;
export const REPLAY_ALL_RETAINED = -2;
export class ReplayingEngine {
    proxy;
    opts;
    sessions = new Map();
    /** Replay requests validated by the subscribe extension, consumed by `subscribe()`. */
    pendingReplays = new Map();
    stopFollowing;
    delivered = 0;
    constructor(proxy, opts) {
        this.proxy = proxy;
        this.opts = opts;
        this.stopFollowing = opts.log.onAppend((event) => this.deliverLive(event));
    }
    /** Build the `engine` option of a faye NodeAdapter; `onCreate` receives the engine instance. */
    static factory(opts, onCreate) {
        return {
            type: {
                create(proxy) {
                    const engine = new ReplayingEngine(proxy, opts);
                    onCreate(engine);
                    return engine;
                },
            },
        };
    }
    // ── faye.Engine ───────────────────────────────────────────────────────────────────────────
    createClient(callback, context) {
        const clientId = randomBytes(16)
            .toString('base64url')
            .toLowerCase()
            .replace(/[^a-z0-9]/g, '')
            .slice(0, 26);
        this.sessions.set(clientId, { subscriptions: new Map(), queue: [], expiry: undefined, forgetAfterDelivery: false });
        this.ping(clientId);
        this.proxy.trigger('handshake', clientId);
        callback.call(context, clientId);
    }
    clientExists(clientId, callback, context) {
        callback.call(context, this.sessions.has(clientId));
    }
    destroyClient(clientId, callback, context) {
        const session = this.sessions.get(clientId);
        if (!session)
            return;
        clearTimeout(session.expiry);
        this.sessions.delete(clientId);
        for (const key of this.pendingReplays.keys())
            if (key.startsWith(`${clientId} `))
                this.pendingReplays.delete(key);
        this.proxy.trigger('disconnect', clientId);
        // The proxy answers the client's open long-poll, if any, when it hears `close`.
        this.proxy.trigger('close', clientId);
        callback?.call(context);
    }
    ping(clientId) {
        const session = this.sessions.get(clientId);
        if (!session)
            return;
        clearTimeout(session.expiry);
        session.expiry = setTimeout(() => this.destroyClient(clientId), this.opts.sessionTimeoutMs);
        session.expiry.unref();
    }
    subscribe(clientId, channel, callback, context) {
        const session = this.sessions.get(clientId);
        if (!session)
            return callback?.call(context, false);
        const key = `${clientId} ${channel}`;
        const replayFrom = this.pendingReplays.get(key) ?? REPLAY_NEW_ONLY;
        this.pendingReplays.delete(key);
        const subscription = { replayFrom, cursor: this.opts.log.lastReplayId() };
        session.subscriptions.set(channel, subscription);
        if (replayFrom !== REPLAY_NEW_ONLY) {
            const from = replayFrom === REPLAY_ALL_RETAINED ? Number.NEGATIVE_INFINITY : replayFrom;
            for (const event of this.opts.log.eventsAfter(from, channel)) {
                session.queue.push(toDelivery(channel, event));
            }
        }
        this.proxy.trigger('subscribe', clientId, channel);
        this.emptyQueue(clientId);
        callback?.call(context, true);
    }
    unsubscribe(clientId, channel, callback, context) {
        const removed = this.sessions.get(clientId)?.subscriptions.delete(channel) ?? false;
        if (removed)
            this.proxy.trigger('unsubscribe', clientId, channel);
        callback?.call(context, true);
    }
    /** Clients cannot publish on CDC channels; the endpoint refuses them before they get here. */
    publish() { }
    emptyQueue(clientId) {
        const session = this.sessions.get(clientId);
        if (!session || session.queue.length === 0 || !this.proxy.hasConnection(clientId))
            return;
        if (this.opts.isLongPollAlive && !this.opts.isLongPollAlive(clientId)) {
            // Keep the queue for the client's next connect.
            this.proxy.flushConnection(clientId);
            return;
        }
        const batch = session.queue.splice(0, this.opts.maxEventsPerReply ?? 1000);
        this.delivered += batch.filter((m) => m.data !== undefined).length;
        this.proxy.deliver(clientId, batch);
        if (session.forgetAfterDelivery && session.queue.length === 0)
            this.destroyClient(clientId);
    }
    disconnect() {
        this.stopFollowing();
        for (const session of this.sessions.values())
            clearTimeout(session.expiry);
        this.sessions.clear();
        this.pendingReplays.clear();
    }
    // ── Used by the CometD endpoint ────────────────────────────────────────────────────────────
    /** Remember the `ext.replay` value of a subscribe the endpoint has accepted. */
    expectReplay(clientId, channel, replayFrom) {
        if (!this.sessions.has(clientId))
            return;
        this.pendingReplays.set(`${clientId} ${channel}`, replayFrom);
    }
    /**
     * Send `message` (a server-initiated `/meta/disconnect`) on the client's current or next
     * long-poll, then forget the client.
     */
    sendFinalMessage(clientId, message) {
        const session = this.sessions.get(clientId);
        if (!session)
            return;
        session.queue.push(message);
        session.forgetAfterDelivery = true;
        this.emptyQueue(clientId);
    }
    /**
     * Answer the client's open long-poll now (with whatever is queued) and forget that connection,
     * so later events wait in the queue for the next `/meta/connect`.
     */
    endLongPoll(clientId) {
        if (this.proxy.hasConnection(clientId))
            this.proxy.flushConnection(clientId);
    }
    /** Clients whose `/meta/connect` is being held open right now. */
    openLongPolls() {
        return [...this.sessions.keys()].filter((id) => this.proxy.hasConnection(id)).length;
    }
    clientIds() {
        return [...this.sessions.keys()];
    }
    subscriptions() {
        const out = [];
        for (const [clientId, session] of this.sessions) {
            for (const [channel, sub] of session.subscriptions)
                out.push({ clientId, channel, replayFrom: sub.replayFrom });
        }
        return out;
    }
    /** Change events handed to long-poll responses so far. */
    eventsDelivered() {
        return this.delivered;
    }
    deliverLive(event) {
        for (const [clientId, session] of this.sessions) {
            let queued = false;
            for (const channel of event.channels) {
                const sub = session.subscriptions.get(channel);
                if (!sub || event.replayId <= sub.cursor)
                    continue;
                sub.cursor = event.replayId;
                session.queue.push(toDelivery(channel, event));
                queued = true;
            }
            if (queued)
                this.emptyQueue(clientId);
        }
    }
}
function toDelivery(channel, event) {
    return { channel, data: event.message };
}
