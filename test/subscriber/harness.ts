/**
 * A subscriber wired to a sandbox org with an authorised integration: real Redis (own prefix),
 * real OAuth tokens, real CometD, short long-polls and fast backoffs so self-healing is quick.
 */
import type { JobType, Queue } from 'bullmq';
import pino from 'pino';
import { loadConfigText, type BridgeConfig } from '../../src/config/index.ts';
import { createLogger, SecretScrubber } from '../../src/logging.ts';
import { changeJobId, type ChangeBatch, type ChangeJob, type ReplayId } from '../../src/model/change.ts';
import { eventJobDiscriminator } from '../../src/salesforce/cometd/change-event.ts';
import { ChangeQueue } from '../../src/queue/change-queue.ts';
import { DeadLetterStore } from '../../src/store/dead-letters.ts';
import { integrationKeys } from '../../src/store/keys.ts';
import { ReplayStore } from '../../src/store/replay-store.ts';
import { createContext, type BridgeContext } from '../../src/roles/context.ts';
import { startSubscriberRole, type SubscriberRole } from '../../src/roles/subscriber.ts';
import type { SubscriberOptions } from '../../src/subscriber/subscriber.ts';
import type { ReconcileRequest } from '../../src/model/reconcile-request.ts';
import { StreamStatus } from '../../src/subscriber/stream-status.ts';
import { startSalesforceOrg, type SalesforceOrgOptions, type SimulatedSalesforceOrg } from '@sf-cm-bridge/sandbox/org';
import { buildApp } from '../../src/server/app.ts';
import { Shutdown } from '../../src/shutdown.ts';
import { bridgeConfigYaml, CLIENT_ID, CLIENT_SECRET, PUBLIC_URL } from '../helpers/bridge.ts';
import { completeFlow, INTEGRATION } from '../helpers/oauth.ts';
import { eventually, testRedis, type TestRedis } from '../helpers/redis.ts';

export { INTEGRATION };
export const EMAIL_CHANNEL = '/data/EmailMessageChangeEvent';
export const CASE_CHANNEL = '/data/CaseChangeEvent';

/** Timings for tests: 1 s long-polls (the org's), a stall after 2.5 s of silence, ms backoffs. */
export const FAST: SubscriberOptions = {
  lease: { ttlMs: 2_000, renewEveryMs: 400, standbyPollMs: 200 },
  stream: {
    requestTimeoutSeconds: 5,
    retrySeconds: 0.2,
    longPollTimeoutMs: 1_000,
    stallMarginMs: 1_500,
    watchdogIntervalMs: 100,
    reconcileMarginMs: 1_000,
    resubscribeCheckMs: 2_000,
    channelRetryMs: 60_000,
    rebuild: { baseMs: 50, ceilingMs: 400 },
    connectionLimit: { baseMs: 300, ceilingMs: 600 },
    dailyLimit: { baseMs: 600, ceilingMs: 900 },
    // The org's Pub/Sub keepalive comes every 500 ms (PUBSUB_KEEPALIVE_MS).
    pubsubSilenceMs: 2_500,
  },
};

/** Both transports, for `describe.each` over the streaming suites. */
export const TRANSPORTS = ['cometd', 'pubsub'] as const;
export type TestTransport = (typeof TRANSPORTS)[number];
/** The sandbox org's Pub/Sub keepalive period in these tests. */
export const PUBSUB_KEEPALIVE_MS = 500;

const OBJECTS = `      EmailMessage:
        comment: { body: TextBody }
      Case:
        comment: { body: Description, subject: Subject }
      CaseComment:
        mode: poll
        comment: { body: CommentBody }`;

const ALL_STATES: JobType[] = ['waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized'];

export interface SubscriberHarness {
  org: SimulatedSalesforceOrg;
  config: BridgeConfig;
  context: BridgeContext;
  redis: TestRedis;
  replay: ReplayStore;
  status: StreamStatus;
  deadLetters: DeadLetterStore;
  /** The integration's change queue, to inspect what the subscriber enqueued. */
  queue: Queue<ChangeBatch>;
  /** Start a subscriber role (its own Redis connection and context: another "process"). */
  startRole(options?: SubscriberOptions): Promise<SubscriberRole>;
  /** Every change in the queue (all batch jobs, flattened), in replay order. */
  jobs(): Promise<ChangeJob[]>;
  /** BullMQ job ids of the batches. */
  jobIds(): Promise<string[]>;
  /** Deterministic ids of every change in the queue, sorted (duplicates kept). */
  changeIds(): Promise<string[]>;
  transport: TestTransport;
  /**
   * The channel's stored position as the org's replay id: CometD's as stored, Pub/Sub's read from its
   * bytes (the sandbox's 8-byte big-endian encoding; the bridge itself never reads them).
   */
  position(channel: string): Promise<number | undefined>;
  /** The org's replay id as this transport carries it: the number over CometD, `0x…` (its 8 bytes) over Pub/Sub. */
  replayIdOf(orgReplayId: number): ReplayId;
  /** Store `orgReplayId` as the channel's position of this transport (as a checkpoint would). */
  plantPosition(channel: string, orgReplayId: number): Promise<void>;
  /** Stream clients the org holds: CometD sessions, or Pub/Sub Subscribe calls on the busiest topic. */
  activeClients(): number;
  /** Where the latest subscribe to `channel` started: the replay id (as a number), -1/LATEST, -2/EARLIEST. */
  lastStart(channel: string): number | string | undefined;
  reconcileRequest(object: string): Promise<ReconcileRequest | undefined>;
  close(): Promise<void>;
}

export async function startSubscriberHarness(
  org: Partial<SalesforceOrgOptions> = {},
  transport: TestTransport = 'cometd',
): Promise<SubscriberHarness> {
  const sf = await startSalesforceOrg({
    autoApprove: true,
    cometdTimeoutSeconds: 1,
    pubsubKeepaliveMs: PUBSUB_KEEPALIVE_MS,
    connectedApps: [
      {
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        redirectUris: [`${PUBLIC_URL}/external/salesforce/oauth2/callback`],
        rotateRefreshTokens: false,
      },
    ],
    ...org,
  });
  const redis = testRedis();
  const config = loadConfigText(
    bridgeConfigYaml(sf.url, redis.prefix, {
      objects: OBJECTS,
      transport: transport === 'pubsub' ? { kind: 'pubsub', url: sf.pubsubUrl } : { kind: 'cometd' },
    }),
    'subscriber-test.yaml',
    {},
  );
  const scrubber = new SecretScrubber();
  const quiet = process.env.TEST_LOG ? createLogger({ scrubber, level: 'debug' }) : pino({ level: 'silent' });
  const makeContext = () => createContext({ config, logger: quiet, redis: redis.connect(), scrubber });
  const context = makeContext();

  const app = await buildApp(context);
  const callback = await completeFlow(app);
  await app.close();
  if (callback.statusCode !== 200) throw new Error(`authorisation failed: ${callback.statusCode} ${callback.body}`);

  const changeQueue = new ChangeQueue(redis.redis, redis.prefix, INTEGRATION);
  const roles: SubscriberRole[] = [];
  const replay = new ReplayStore(redis.redis, redis.prefix);
  const replayIdOf = (orgReplayId: number): ReplayId =>
    transport === 'cometd' ? orgReplayId : `0x${orgReplayId.toString(16).padStart(16, '0')}`;
  return {
    org: sf,
    config,
    context,
    redis,
    replay,
    status: new StreamStatus(redis.redis, redis.prefix, INTEGRATION),
    deadLetters: new DeadLetterStore(redis.redis, redis.prefix),
    queue: changeQueue.queue,
    async startRole(options = FAST) {
      const role = await startSubscriberRole(makeContext(), new Shutdown(quiet), options);
      roles.push(role);
      return role;
    },
    async jobs() {
      const jobs = await changeQueue.queue.getJobs(ALL_STATES);
      return jobs.flatMap((job) => job.data.changes).sort((a, b) => Number(a.replayId ?? 0) - Number(b.replayId ?? 0));
    },
    async changeIds() {
      const jobs = await changeQueue.queue.getJobs(ALL_STATES);
      return jobs
        .flatMap((job) => job.data.changes.map((change) => changeJobId(change, eventJobDiscriminator(change))))
        .sort();
    },
    async jobIds() {
      const jobs = await changeQueue.queue.getJobs(ALL_STATES);
      return jobs.map((job) => job.id ?? '').sort();
    },
    transport,
    activeClients() {
      if (transport === 'cometd') return sf.counters().streaming.activeClients;
      return Math.max(0, ...Object.values(sf.counters().pubsub.openStreams));
    },
    lastStart(channel) {
      if (transport === 'cometd')
        return sf
          .counters()
          .streaming.subscriptions.filter((s) => s.channel === channel)
          .at(-1)?.replayFrom;
      return sf
        .counters()
        .pubsub.starts.filter((s) => s.topic === channel)
        .at(-1)?.from;
    },
    async position(channel) {
      if (transport === 'cometd') return replay.position(INTEGRATION, channel);
      const stored = (await replay.pubsubPositions(INTEGRATION)).get(channel);
      return stored === undefined ? undefined : Number(stored);
    },
    replayIdOf,
    async plantPosition(channel, orgReplayId) {
      const positions = replay.transport(transport);
      await positions.reset(INTEGRATION, channel);
      await positions.checkpoint(INTEGRATION, channel, replayIdOf(orgReplayId));
    },
    async reconcileRequest(object) {
      const raw = await redis.redis.hget(integrationKeys(redis.prefix, INTEGRATION).reconcileRequests(), object);
      return raw === null ? undefined : (JSON.parse(raw) as ReconcileRequest);
    },
    async close() {
      for (const role of roles) await role.close();
      await changeQueue.close();
      await redis.cleanup();
      await sf.close();
    },
  };
}

/** Wait until the role's stream has every listed channel confirmed by a subscribe reply. */
export async function subscribed(role: SubscriberRole, channels: readonly string[], timeoutMs = 8_000): Promise<void> {
  await eventually(() => {
    const stats = role.subscriber.stream(INTEGRATION)?.stats();
    return stats !== undefined && stats.state === 'streaming' && channels.every((c) => stats.channels[c] === 'active');
  }, timeoutMs);
}

/** Wait until `count` change jobs are in the queue; returns them in replay order. */
export async function jobsInQueue(h: SubscriberHarness, count: number, timeoutMs = 8_000): Promise<ChangeJob[]> {
  return eventually(async () => {
    const jobs = await h.jobs();
    return jobs.length >= count ? jobs : undefined;
  }, timeoutMs);
}
