/**
 * Self-healing of the stream against the sandbox org's fault injection
 * (docs/salesforce.md#streaming-errors, #faye-client-behaviour,
 * docs/salesforce.md#recommended-subscriber-loop, #known-pitfalls). Every case ends with a change made
 * in the org arriving as a job: healed, not just reported.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { SubscriberRole } from '../../src/roles/subscriber.ts';
import { buildApp } from '../../src/server/app.ts';
import { completeFlow } from '../helpers/oauth.ts';
import { integrationKeys } from '../../src/store/keys.ts';
import { eventually } from '../helpers/redis.ts';
import {
  CASE_CHANNEL,
  EMAIL_CHANNEL,
  FAST,
  INTEGRATION,
  jobsInQueue,
  startSubscriberHarness,
  subscribed,
  TRANSPORTS,
  type SubscriberHarness,
} from './harness.ts';

const BOTH = [EMAIL_CHANNEL, CASE_CHANNEL];

/**
 * Let time pass to show that something does *not* happen (no handshake storm). The window spans
 * several long-polls and stall deadlines, so a storm would have shown by then.
 */
function observeFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function statsOf(role: SubscriberRole) {
  const stream = role.subscriber.stream(INTEGRATION);
  if (!stream) throw new Error('no stream in this role');
  return stream.stats();
}

describe.each(TRANSPORTS)('subscriber self-healing over %s', (transport) => {
  let h: SubscriberHarness;

  afterEach(async () => {
    await h.close();
  });

  const cometd = transport === 'cometd';
  /** Where a subscribe from no position starts. */
  const tip = cometd ? -1 : 'LATEST';
  /** Attempts to open a stream: CometD handshakes, or Pub/Sub Subscribe calls. */
  const streamAttempts = () =>
    cometd ? h.org.counters().streaming.handshakes : h.org.counters().pubsub.subscribeCalls;
  /** Connections held open: CometD long-polls, or Pub/Sub Subscribe calls. */
  const openConnections = () =>
    cometd
      ? h.org.counters().streaming.openLongPolls
      : Object.values(h.org.counters().pubsub.openStreams).reduce((sum, n) => sum + n, 0);
  /** Who has subscribed so far (CometD client ids; Pub/Sub calls by number), to tell later subscribes apart. */
  const subscribers = (): Set<string> =>
    new Set(
      cometd
        ? h.org.counters().streaming.subscriptions.map((s) => s.clientId)
        : h.org.counters().pubsub.starts.map((_, i) => String(i)),
    );
  /** Channels subscribed by anyone not in `known`. */
  const subscribedSince = (known: ReadonlySet<string>) =>
    cometd
      ? h.org
          .counters()
          .streaming.subscriptions.filter((s) => !known.has(s.clientId))
          .map((s) => s.channel)
      : h.org
          .counters()
          .pubsub.starts.filter((_, i) => !known.has(String(i)))
          .map((s) => s.topic);
  const denyChannel = (channel: string, on: boolean) =>
    cometd ? h.org.streaming.denyChannel(channel, on) : h.org.pubsub.denyTopic(channel, on);
  /** How each transport words a channel the integration user may not read. */
  const deniedError = cometd ? /View All Data/ : /PERMISSION_DENIED/;
  /** Nothing reaches the client, the connection left open: CometD replies held, Pub/Sub responses and keepalives withheld. */
  const stall = (on: boolean) => (cometd ? h.org.streaming.latency(on ? 4_000 : 0) : h.org.pubsub.stall(on));
  /** The server closes the stream: CometD's `/meta/disconnect`, Pub/Sub's calls ended normally. */
  const serverEndsStream = () => (cometd ? h.org.streaming.serverDisconnect() : h.org.pubsub.endStreams(grpcStatus.OK));
  /** The 24-hour delivery allocation: CometD's `403::…daily limit`, Pub/Sub's `RESOURCE_EXHAUSTED`. */
  const dailyLimit = (on: boolean) =>
    cometd ? h.org.streaming.dailyLimitExceeded(on) : h.org.pubsub.deliveryLimitExceeded(on);
  const limitReason = cometd ? /daily delivery limit/ : /allocation exceeded/;
  /** Too many clients: CometD refuses the handshake, Pub/Sub the Subscribe call (subscription limit). */
  const connectionLimit = (on: boolean) =>
    cometd ? h.org.streaming.connectionLimitExceeded(on) : h.org.pubsub.subscriptionLimitExceeded(on);
  /** Stream attempts one client makes: one handshake, or one Subscribe call per topic. */
  const attemptCalls = cometd ? 1 : BOTH.length;

  /** A streaming role whose Case channel has a stored position, with no reconciliation requested yet. */
  async function streamingWithCasePosition(): Promise<{ role: SubscriberRole; checkpoint: number }> {
    h = await startSubscriberHarness({}, transport);
    const role = await h.startRole();
    await subscribed(role, BOTH);
    h.org.store.create('Case', { Subject: 'gives Case a position' });
    await jobsInQueue(h, 1);
    const checkpoint = await eventually(() => h.position(CASE_CHANNEL));
    await h.redis.redis.del(integrationKeys(h.redis.prefix, INTEGRATION).reconcileRequests());
    return { role, checkpoint };
  }

  it('401 after the access token expires: refresh once, new client, no event lost', async () => {
    h = await startSubscriberHarness({}, transport);
    const role = await h.startRole();
    await subscribed(role, BOTH);
    const before = h.org.store.create('Case', { Subject: 'before expiry' });
    await jobsInQueue(h, 1);

    h.org.oauth.expireAccessTokens();
    const during = h.org.store.create('Case', { Subject: 'while the token is dead' });
    await eventually(() => (statsOf(role).rebuilds.authentication ?? 0) >= 1, 8_000);
    await subscribed(role, BOTH);
    const after = h.org.store.create('Case', { Subject: 'after refresh' });

    const jobs = await jobsInQueue(h, 3);
    expect(jobs.map((j) => j.recordId)).toEqual([before.Id, during.Id, after.Id]);
    expect(h.org.counters().oauth.grants.refresh_token).toBe(1);
    expect(statsOf(role).clientsBuilt).toBe(2);
  });

  it('revoked refresh token: the integration pauses as needs_reauth, with no handshake storm, and resumes once authorised', async () => {
    h = await startSubscriberHarness({}, transport);
    const role = await h.startRole();
    await subscribed(role, BOTH);

    h.org.oauth.revokeRefreshTokens();
    await eventually(() => statsOf(role).state === 'paused', 8_000);
    expect(statsOf(role).pausedBecause).toBe('needs_reauth');
    expect((await h.context.tokens.store.status(INTEGRATION)).state).toBe('needs_reauth');
    const attempts = streamAttempts();
    await observeFor(3_000);
    expect(streamAttempts()).toBe(attempts);
    expect(openConnections()).toBe(0);

    // An admin authorises again: the token event resumes the stream without a restart.
    const app = await buildApp(h.context);
    expect((await completeFlow(app)).statusCode).toBe(200);
    await app.close();
    await subscribed(role, BOTH);
    const c = h.org.store.create('Case', { Subject: 'after re-authorisation' });
    expect((await jobsInQueue(h, 1))[0]?.recordId).toBe(c.Id);
  });

  it('a token refreshed by another process moves the stream to it; disconnect pauses it', async () => {
    h = await startSubscriberHarness({}, transport);
    const role = await h.startRole();
    await subscribed(role, BOTH);
    const old = (await h.context.tokens.session(INTEGRATION)).accessToken;

    const oldSubscribers = subscribers();
    await h.context.tokens.refresh(INTEGRATION, old);
    await eventually(() => (statsOf(role).rebuilds.token_refreshed ?? 0) === 1);
    // The org saw the new client subscribe (the stream's own stats may still show the old client's).
    await eventually(() => BOTH.every((channel) => subscribedSince(oldSubscribers).includes(channel)), 8_000);
    await subscribed(role, BOTH);
    const c = h.org.store.create('Case', { Subject: 'on the new token' });
    expect((await jobsInQueue(h, 1))[0]?.recordId).toBe(c.Id);

    await h.context.tokens.disconnect(INTEGRATION);
    await eventually(() => statsOf(role).state === 'paused');
    expect(statsOf(role).pausedBecause).toBe('disconnected');
  });

  it('invalid replay id after retention passed while stopped: reset, resubscribe at the tip, reconcile from the last commit', async () => {
    h = await startSubscriberHarness({}, transport);
    const first = await h.startRole();
    await subscribed(first, BOTH);
    h.org.store.create('Case', { Subject: 'seen' });
    await jobsInQueue(h, 1);
    await eventually(() => h.position(CASE_CHANNEL));
    const lastCommit = await eventually(() => h.status.lastCommitAt('Case'));
    await first.close();

    h.org.store.create('Case', { Subject: 'missed, then purged' });
    h.org.events.purge();
    await h.redis.redis.del(integrationKeys(h.redis.prefix, INTEGRATION).reconcileRequests());

    const second = await h.startRole();
    await eventually(() => statsOf(second).replayResets === 1, 8_000);
    await subscribed(second, BOTH);
    const request = await eventually(() => h.reconcileRequest('Case'));
    expect(request.reason).toMatch(/no longer retained/);
    expect(Date.parse(request.since ?? '')).toBeLessThanOrEqual(lastCommit);
    expect((await h.reconcileRequest('EmailMessage'))?.reason ?? '').not.toMatch(/no longer retained/);
    expect(h.lastStart(CASE_CHANNEL)).toBe(tip);

    const fresh = h.org.store.create('Case', { Subject: 'after reset' });
    const jobs = await jobsInQueue(h, 2);
    expect(jobs[1]?.recordId).toBe(fresh.Id);
    expect(await eventually(async () => (await h.position(CASE_CHANNEL)) === h.org.events.lastReplayId())).toBe(true);
  });

  it('a denied channel shows as the object error while the other objects stream; it recovers when allowed', async () => {
    h = await startSubscriberHarness({}, transport);
    denyChannel(CASE_CHANNEL, true);
    const role = await h.startRole({ ...FAST, stream: { ...FAST.stream, channelRetryMs: 300 } });
    await subscribed(role, [EMAIL_CHANNEL]);
    const state = await eventually(async () => (await h.status.objectState('Case')).error);
    expect(state).toMatch(deniedError);

    const email = h.org.store.create('EmailMessage', { Subject: 'still streams', TextBody: 'x', Incoming: true });
    expect((await jobsInQueue(h, 1))[0]?.recordId).toBe(email.Id);

    denyChannel(CASE_CHANNEL, false);
    await subscribed(role, BOTH);
    await eventually(async () => (await h.status.objectState('Case')).error === undefined);
    const c = h.org.store.create('Case', { Subject: 'allowed again' });
    expect((await jobsInQueue(h, 2))[1]?.recordId).toBe(c.Id);
  });

  it('silent stall (nothing from the server beyond the long-poll or keepalive window): a new client, no loss', async () => {
    h = await startSubscriberHarness({}, transport);
    const role = await h.startRole();
    await subscribed(role, BOTH);
    const before = h.org.store.create('Case', { Subject: 'before the stall' });
    await jobsInQueue(h, 1);
    await eventually(() => h.position(CASE_CHANNEL));

    stall(true);
    const during = h.org.store.create('Case', { Subject: 'during the stall' });
    await eventually(() => (statsOf(role).rebuilds.stall ?? 0) >= 1, 10_000);
    stall(false);
    await subscribed(role, BOTH);
    const after = h.org.store.create('Case', { Subject: 'after' });
    const jobs = await jobsInQueue(h, 3, 10_000);
    expect(jobs.map((j) => j.recordId)).toEqual([before.Id, during.Id, after.Id]);
    expect(await h.changeIds()).toHaveLength(3);
  });

  it('the server ends the stream (/meta/disconnect, a Subscribe call ended): a new client resubscribes from the checkpoint', async () => {
    const { role, checkpoint } = await streamingWithCasePosition();
    const live = Date.now();

    serverEndsStream();
    const during = h.org.store.create('Case', { Subject: 'across the disconnect' });
    await eventually(() => (statsOf(role).rebuilds.server_disconnect ?? 0) >= 1);
    await subscribed(role, BOTH);
    expect((await jobsInQueue(h, 2))[1]?.recordId).toBe(during.Id);
    expect(await h.changeIds()).toHaveLength(2);
    expect(h.lastStart(CASE_CHANNEL)).toBeGreaterThanOrEqual(checkpoint);
    if (cometd) {
      // EmailMessage had no position, so it was resubscribed at -1: reconciled from before the outage.
      const request = await eventually(() => h.reconcileRequest('EmailMessage'));
      expect(Date.parse(request.since ?? '')).toBeLessThan(live);
    }
    expect(await h.reconcileRequest('Case')).toBeUndefined();
  });

  it('daily delivery limit: disconnect, request reconciliation, back off, then stream again', async () => {
    const { role } = await streamingWithCasePosition();

    dailyLimit(true);
    await eventually(() => (statsOf(role).rebuilds.daily_limit ?? 0) >= 1);
    const request = await eventually(() => h.reconcileRequest('Case'));
    expect(request.reason).toMatch(limitReason);
    expect((await h.status.objectState('EmailMessage')).error).toMatch(limitReason);
    const created = h.org.store.create('Case', { Subject: 'while over the limit' });

    dailyLimit(false);
    await subscribed(role, BOTH);
    expect((await jobsInQueue(h, 2))[1]?.recordId).toBe(created.Id);
    await eventually(async () => (await h.status.objectState('EmailMessage')).error === undefined);
  });

  it('connection limit (handshake, concurrent subscriptions): backs off with jitter instead of storming, then connects', async () => {
    h = await startSubscriberHarness({}, transport);
    connectionLimit(true);
    const role = await h.startRole();
    await eventually(() => (statsOf(role).rebuilds.connection_limit ?? 0) >= 2, 8_000);
    const start = streamAttempts();
    await observeFor(1_500);
    // Backoff 300–600 ms windows with full jitter: a handful of attempts (a Pub/Sub attempt opens
    // one call per topic), not faye's tight loop.
    expect(streamAttempts() - start).toBeLessThan(15 * attemptCalls);

    connectionLimit(false);
    await subscribed(role, BOTH);
    const c = h.org.store.create('Case', { Subject: 'connected at last' });
    expect((await jobsInQueue(h, 1))[0]?.recordId).toBe(c.Id);
  });
});

// Bayeux faults with no Pub/Sub counterpart: `403::Unknown client` (a Pub/Sub call has no server-side
// session to forget) and a long-poll reply lost in transit (gRPC delivers within a call or ends it with a
// status: pubsub-stream.test.ts covers UNAVAILABLE mid-stream).
describe('subscriber self-healing: CometD', () => {
  let h: SubscriberHarness;

  afterEach(async () => {
    await h.close();
  });

  it('403::Unknown client: faye handshakes again, every channel is resubscribed from our position, nothing lost or doubled', async () => {
    h = await startSubscriberHarness();
    const role = await h.startRole();
    await subscribed(role, BOTH);
    h.org.store.create('Case', { Subject: 'before' });
    await jobsInQueue(h, 1);
    const checkpoint = await eventually(() => h.position(CASE_CHANNEL));
    const handshakes = h.org.counters().streaming.handshakes;

    h.org.streaming.injectUnknownClient();
    const during = h.org.store.create('Case', { Subject: 'while forgotten' });
    await eventually(() => statsOf(role).rehandshakes >= 1, 8_000);
    await subscribed(role, BOTH);
    const after = h.org.store.create('EmailMessage', { Subject: 'after', TextBody: 'x', Incoming: true });

    const jobs = await jobsInQueue(h, 3);
    expect(jobs.map((j) => j.recordId)).toEqual(expect.arrayContaining([during.Id, after.Id]));
    expect(new Set(await h.changeIds()).size).toBe(3);
    expect(await h.changeIds()).toHaveLength(3);
    expect(statsOf(role).clientsBuilt).toBe(1);
    expect(statsOf(role).unknownClients).toBeGreaterThanOrEqual(1);
    expect(h.org.counters().streaming.handshakes - handshakes).toBeLessThanOrEqual(2);
    // The resubscribe carried the position (the whole map), not -1.
    const resubscribed = h.org.counters().streaming.subscriptions.find((s) => s.channel === CASE_CHANNEL);
    expect(resubscribed?.replayFrom).toBeGreaterThanOrEqual(checkpoint);
  });

  it('a reply with events lost in transit: a new client replays from what was received, nothing lost', async () => {
    h = await startSubscriberHarness();
    const role = await h.startRole();
    await subscribed(role, BOTH);
    const before = h.org.store.create('Case', { Subject: 'before the lost reply' });
    await jobsInQueue(h, 1);

    // The server hands these events out, then the reply never reaches the bridge; the next connect
    // would carry only newer events, so going on from faye's retry would skip them for good.
    h.org.streaming.loseRepliesWithEvents(1);
    const lost = h.org.store.create('Case', { Subject: 'in the lost reply' });
    await eventually(() => h.org.counters().streaming.repliesLost === 1);
    const after = h.org.store.create('Case', { Subject: 'after the lost reply' });

    const jobs = await jobsInQueue(h, 3, 15_000);
    expect(jobs.map((j) => j.recordId)).toEqual([before.Id, lost.Id, after.Id]);
    expect(statsOf(role).rebuilds.transport_down ?? 0).toBeGreaterThanOrEqual(1);
  });
});
