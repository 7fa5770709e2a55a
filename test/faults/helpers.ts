/**
 * Fault tests against real processes: a sandbox org with an integration authorised through the
 * real OAuth flow, real Redis, and `sf-cm-bridge subscriber` started as child processes that the
 * test can `kill -9` by pid.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { JobType } from 'bullmq';
import pino from 'pino';
import { loadConfigText } from '../../src/config/index.ts';
import { changeJobId, type ChangeJob } from '../../src/model/change.ts';
import { ChangeQueue } from '../../src/queue/change-queue.ts';
import { integrationKeys } from '../../src/store/keys.ts';
import { ReplayStore } from '../../src/store/replay-store.ts';
import { createContext } from '../../src/roles/context.ts';
import { eventJobDiscriminator } from '../../src/salesforce/cometd/change-event.ts';
import { startSalesforceOrg, type SimulatedSalesforceOrg } from '@sf-cm-bridge/sandbox/org';
import { buildApp, type BridgeApp } from '../../src/server/app.ts';
import { bridgeConfigYaml, CLIENT_ID, CLIENT_SECRET, PUBLIC_URL } from '../helpers/bridge.ts';
import { BIN, ROOT } from '../helpers/cli.ts';
import { completeFlow, INTEGRATION } from '../helpers/oauth.ts';
import { eventually, testRedis, type TestRedis } from '../helpers/redis.ts';

export { INTEGRATION };
export const CASE_CHANNEL = '/data/CaseChangeEvent';
export const CASE_ONLY = `      Case:
        comment: { body: Description, subject: Subject }`;
const ALL_STATES: JobType[] = ['waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized'];

/** A `sf-cm-bridge subscriber` child process. */
export interface SubscriberProcess {
  pid: number;
  output(): string;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

export interface FaultEnvironment {
  org: SimulatedSalesforceOrg;
  redis: TestRedis;
  replay: ReplayStore;
  queue: ChangeQueue;
  configFile: string;
  /** Start another subscriber process on the same config (another replica, or a restart). */
  startSubscriber(): SubscriberProcess;
  /** The pid inside the lease's owner token (`host:pid:random`), or undefined while nobody holds it. */
  leaseHolderPid(): Promise<number | undefined>;
  /** Every change in the queue (all batch jobs, flattened), duplicates kept. */
  changes(): Promise<ChangeJob[]>;
  position(): Promise<number | undefined>;
  /** Kill every process still running, delete the prefix's keys, stop the org. */
  close(): Promise<void>;
}

/** The sandbox org of fault tests: auto-approving, 1 s long-polls (unless `cometdTimeoutSeconds`), the bridge's connected app. */
export function startFaultOrg(cometdTimeoutSeconds = 1): Promise<SimulatedSalesforceOrg> {
  return startSalesforceOrg({
    autoApprove: true,
    cometdTimeoutSeconds,
    connectedApps: [
      {
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        redirectUris: [`${PUBLIC_URL}/external/salesforce/oauth2/callback`],
        rotateRefreshTokens: false,
      },
    ],
  });
}

/** Run `use` against the real app on the config `yaml` (its own Redis connection), then close both. */
export async function withApp<T>(
  yaml: string,
  configFile: string,
  redis: TestRedis,
  use: (app: BridgeApp) => Promise<T>,
): Promise<T> {
  const context = createContext({
    config: loadConfigText(yaml, configFile, {}),
    logger: pino({ level: 'silent' }),
    redis: redis.connect(),
  });
  const app = await buildApp(context);
  try {
    return await use(app);
  } finally {
    await app.close();
    await context.close();
  }
}

/** Every change in `queue` (all batch jobs, flattened), duplicates kept. */
export async function queuedChanges(queue: ChangeQueue): Promise<ChangeJob[]> {
  const jobs = await queue.queue.getJobs(ALL_STATES);
  return jobs.flatMap((job) => job.data.changes);
}

/** Start `sf-cm-bridge subscriber --config configFile` as a child process (info logs kept in `output()`). */
export function spawnSubscriber(configFile: string): SubscriberProcess {
  const child = spawn(process.execPath, [BIN, 'subscriber', '--config', configFile], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('the subscriber process did not start');
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { pid: child.pid, output: () => output, exited, kill: (signal = 'SIGTERM') => void child.kill(signal) };
}

/** Org (1 s long-polls) + Redis + the `acme/emails` integration (Case over CDC) authorised via the real OAuth flow. */
export async function startFaultEnvironment(): Promise<FaultEnvironment> {
  const org = await startFaultOrg();
  const redis = testRedis();
  const yaml = bridgeConfigYaml(org.url, redis.prefix, { objects: CASE_ONLY });
  const configFile = join(mkdtempSync(join(tmpdir(), 'sfcm-faults-')), 'bridge.yaml');
  writeFileSync(configFile, yaml);

  // The admin's one-time authorisation, through the real app against the sandbox.
  const callback = await withApp(yaml, configFile, redis, completeFlow);
  if (callback.statusCode !== 200) throw new Error(`authorisation failed: ${callback.statusCode} ${callback.body}`);

  const replay = new ReplayStore(redis.redis, redis.prefix);
  const queue = new ChangeQueue(redis.redis, redis.prefix, INTEGRATION);
  const processes: SubscriberProcess[] = [];
  return {
    org,
    redis,
    replay,
    queue,
    configFile,
    startSubscriber() {
      const running = spawnSubscriber(configFile);
      processes.push(running);
      return running;
    },
    async leaseHolderPid() {
      const owner = await redis.redis.get(integrationKeys(redis.prefix, INTEGRATION).subscriberLease());
      const pid = owner?.split(':')[1];
      return pid === undefined ? undefined : Number(pid);
    },
    changes: () => queuedChanges(queue),
    position: () => replay.position(INTEGRATION, CASE_CHANNEL),
    async close() {
      for (const running of processes) running.kill('SIGKILL');
      await Promise.all(processes.map((running) => running.exited));
      await queue.close();
      await redis.cleanup();
      await org.close();
    },
  };
}

/** Replay ids the org has given to subscriptions of clients not in `known`, on `channel`. */
export function newSubscriptions(org: SimulatedSalesforceOrg, known: ReadonlySet<string>, channel = CASE_CHANNEL) {
  return org.streaming.counters().subscriptions.filter((s) => s.channel === channel && !known.has(s.clientId));
}

/** Client ids the org knows right now. */
export function clientIds(org: SimulatedSalesforceOrg): Set<string> {
  return new Set(org.streaming.counters().subscriptions.map((s) => s.clientId));
}

/** Wait until some process holds the lease and its client has subscribed to `channel`; returns that pid. */
export async function activeSubscriber(
  env: FaultEnvironment,
  known: ReadonlySet<string> = new Set(),
  timeoutMs = 15_000,
): Promise<number> {
  await eventually(() => newSubscriptions(env.org, known).length > 0, timeoutMs, 50);
  return eventually(() => env.leaseHolderPid(), 2_000);
}

/**
 * Commit `chunks` transactions of `perChunk` Case creates, yielding to the event loop between
 * them so the CometD server delivers while the burst is still being committed. Returns the ids.
 */
export async function commitBurst(
  org: SimulatedSalesforceOrg,
  label: string,
  chunks: number,
  perChunk: number,
  afterChunk?: (index: number) => void,
): Promise<string[]> {
  const ids: string[] = [];
  for (let c = 0; c < chunks; c++) {
    ids.push(
      ...org.store.transaction((tx) =>
        Array.from({ length: perChunk }, (_, i) =>
          String(tx.create('Case', { Subject: `${label} ${c}.${i}`, Description: `burst ${label}` }).Id),
        ),
      ),
    );
    afterChunk?.(c);
    await yieldToLoop();
  }
  return ids;
}

/**
 * Zero loss, no stray duplicates: every id has a change in the queue, and an id that appears more
 * than once always carries the same change (same channel, replay id and record: one event
 * enqueued twice, never two different changes). Returns the ids missing (empty when none).
 */
export function missingOrMismatched(
  changes: readonly ChangeJob[],
  ids: readonly string[],
): { missing: string[]; mismatched: string[] } {
  const byRecord = new Map<string, Set<string>>();
  for (const change of changes) {
    const set = byRecord.get(change.recordId) ?? new Set<string>();
    set.add(changeJobId(change, eventJobDiscriminator(change)));
    byRecord.set(change.recordId, set);
  }
  return {
    missing: ids.filter((id) => !byRecord.has(id)),
    mismatched: ids.filter((id) => (byRecord.get(id)?.size ?? 0) > 1),
  };
}
