/**
 * `npm run bench:ingest`: subscriber ingest — CDC events from CometD into BullMQ — next to the bare
 * BullMQ yardstick measured in the same run on the same Redis.
 *
 *   1. yardstick — bare BullMQ: `queue.addBulk` in chunks of 1000, one job per event; jobs/s.
 *   2. live      — N Case creates committed in the sandbox org (transactions of --chunk records)
 *                  while one `sf-cm-bridge subscriber` process streams them: events/s from the
 *                  first commit until the stored replay position reaches the org's last replay id
 *                  (every change then in the queue, which is checked).
 *   3. catch-up  — N more creates committed while no subscriber runs, then replayed from the stored
 *                  position by a new subscriber process: events/s from its subscribe until the
 *                  checkpoint is there. The org is idle meanwhile, so this is the subscriber's pace.
 *   Peak RSS (VmHWM) of each subscriber process and of the bench process (sandbox + driver), and the
 *   CPU each used: the sandbox's CometD server runs in this process, so a subscriber well below a
 *   core while the bench process is busy means the sandbox is the limit.
 *
 * Options: --events N (default 100000), --chunk C records per transaction (default 1000).
 * BENCH_SUBSCRIBER_NODE_ARGS adds node flags to the subscriber (e.g. `--cpu-prof`). Needs Redis at
 * REDIS_URL (default 127.0.0.1:6379); uses a random key prefix and deletes it afterwards.
 */
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { ChangeJob } from '../src/model/change.ts';
import { ChangeQueue } from '../src/queue/change-queue.ts';
import { ReplayStore } from '../src/store/replay-store.ts';
import type { SimulatedSalesforceOrg } from '@sf-cm-bridge/sandbox/org';
import {
  authorizeBench,
  benchConfig,
  commitCaseCreates,
  cpuSeconds,
  nodeArgsFrom,
  startBridgeProcess,
  type BridgeProcess,
  mb,
  REDIS_URL,
  runBench,
  startBenchOrg,
  until,
  vmHwm,
  type Cleanups,
} from './common.ts';

const { values } = parseArgs({
  options: { events: { type: 'string', default: '100000' }, chunk: { type: 'string', default: '1000' } },
});
const EVENTS = Number(values.events);
const CHUNK = Number(values.chunk);
const PREFIX = `sfcm-bench:${randomUUID().slice(0, 8)}`;
const INTEGRATION = 'bench/emails';
const CHANNEL = '/data/CaseChangeEvent';

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

const change = (i: number): ChangeJob => ({
  integration: INTEGRATION,
  object: 'Case',
  recordId: `500${String(i).padStart(15, '0')}`,
  kind: 'CREATE',
  origin: 'cdc',
  channel: CHANNEL,
  replayId: 1000 + i,
  commitTimestamp: Date.now(),
  enqueuedAt: Date.now(),
});

/** Commit EVENTS Case creates in transactions of CHUNK; returns seconds taken. */
const commitBurst = (org: SimulatedSalesforceOrg, label: string) =>
  commitCaseCreates(org, { count: EVENTS, chunk: CHUNK, label });

const startSubscriber = (configFile: string) =>
  startBridgeProcess('subscriber', configFile, nodeArgsFrom('BENCH_SUBSCRIBER_NODE_ARGS'));

async function changesInQueue(queue: ChangeQueue): Promise<{ jobs: number; changes: number }> {
  const jobs = await queue.queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized']);
  return { jobs: jobs.length, changes: jobs.reduce((n, job) => n + job.data.changes.length, 0) };
}

const percentOfCore = (usage: NodeJS.CpuUsage, seconds: number) =>
  `${(((usage.user + usage.system) / 1e6 / seconds) * 100).toFixed(0)}% of a core`;

/** Bare BullMQ: one job per event, `addBulk` in chunks of 1000; jobs/s. */
async function yardstick(redis: Redis): Promise<number> {
  const queue = new Queue(`yardstick-${randomUUID().slice(0, 8)}`, { connection: redis, prefix: `${PREFIX}:bull` });
  await queue.waitUntilReady();
  const started = performance.now();
  for (let i = 0; i < EVENTS; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, EVENTS - i) }, (_, j) => ({
        name: 'event',
        data: change(i + j),
        opts: { jobId: `e${i + j}` },
      })),
    );
  }
  const perSecond = EVENTS / ((performance.now() - started) / 1000);
  await queue.obliterate({ force: true });
  await queue.close();
  return perSecond;
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  cleanups.push(async () => redis.disconnect());
  console.log(
    `sf-cm-bridge ingest bench — ${EVENTS} events in transactions of ${CHUNK}, node ${process.version}, ${cpus().length} cores`,
  );

  const bare = await yardstick(redis);
  console.log(`yardstick   bare BullMQ addBulk, one job per event: ${bare.toFixed(0)} jobs/s`);

  const org = await startBenchOrg();
  cleanups.push(() => org.close());
  const { config, file: configFile } = benchConfig({
    prefix: PREFIX,
    orgUrl: org.url,
    cmUrl: 'http://cm.bench.localhost/t/reinfer_',
    objects: '      Case:\n        comment: { subject: Subject, body: Description }',
  });
  const context = await authorizeBench(config, redis);

  const replay = new ReplayStore(redis, PREFIX);
  const queue = new ChangeQueue(redis, PREFIX, INTEGRATION);

  // 2. Live burst: the subscriber streams while the org commits.
  const live = startSubscriber(configFile);
  cleanups.push(() => live.stop('SIGKILL'));
  await until(
    () => (live.alive('the subscribe'), org.streaming.counters().subscriptions.some((s) => s.channel === CHANNEL)),
    60_000,
    'the subscribe',
  );
  const caughtUp = async (subscriber: BridgeProcess, what: string) => {
    subscriber.alive(what);
    return (await replay.position(INTEGRATION, CHANNEL)) === org.events.lastReplayId();
  };
  // Warm-up: one event through, so the channel has a stored position.
  org.store.create('Case', { Subject: 'warm-up', Description: 'warm-up' });
  await until(() => caughtUp(live, 'the warm-up event'), 60_000, 'the warm-up event');
  const warmRss = vmHwm(live.pid);

  let cpuBefore = { bench: process.cpuUsage(), subscriber: cpuSeconds(live.pid) };
  let connectsBefore = org.streaming.counters().connects;
  const burstStart = performance.now();
  const committedIn = await commitBurst(org, 'live');
  await until(() => caughtUp(live, 'the burst'), 600_000, 'the checkpoint to reach the last replay id');
  const burstSeconds = (performance.now() - burstStart) / 1000;
  let benchCpu = process.cpuUsage(cpuBefore.bench);
  let subscriberCpu = cpuSeconds(live.pid) - cpuBefore.subscriber;
  let connects = org.streaming.counters().connects - connectsBefore;
  let inQueue = await changesInQueue(queue);
  if (inQueue.changes < EVENTS + 1)
    throw new Error(`bench: ${inQueue.changes} changes in the queue, expected ${EVENTS + 1}`);

  const ingest = EVENTS / burstSeconds;
  console.log(
    `live        ${EVENTS} events committed in ${committedIn.toFixed(2)} s (the org's commit rate: ${(EVENTS / committedIn).toFixed(0)}/s), all in the queue and checkpointed ${burstSeconds.toFixed(2)} s after the first commit`,
  );
  console.log(
    `            ingest ${ingest.toFixed(0)} events/s = ${(ingest / bare).toFixed(2)}× yardstick (target ≥ 1.00×); ${inQueue.jobs} jobs, ${inQueue.changes} changes, ${connects} /meta/connect round trips`,
  );
  console.log(
    `            cpu: bench process (org + CometD server) ${percentOfCore(benchCpu, burstSeconds)}, subscriber process ${((subscriberCpu / burstSeconds) * 100).toFixed(0)}% of a core`,
  );
  const liveRss = vmHwm(live.pid);
  await live.stop('SIGTERM');

  // 3. Catch-up: the burst committed while no subscriber runs, then replayed from the stored
  // position by a new process; the org is idle meanwhile, so this is the subscriber's own pace.
  const stored = (await replay.position(INTEGRATION, CHANNEL)) ?? -1;
  await commitBurst(org, 'offline');
  const known = new Set(org.streaming.counters().subscriptions.map((s) => s.clientId));
  const restart = startSubscriber(configFile);
  cleanups.push(() => restart.stop('SIGKILL'));
  await until(
    () => (
      restart.alive('the resubscribe'),
      org.streaming.counters().subscriptions.some((s) => s.channel === CHANNEL && !known.has(s.clientId))
    ),
    60_000,
    'the resubscribe',
  );
  const resumedFrom = org.streaming
    .counters()
    .subscriptions.find((s) => s.channel === CHANNEL && !known.has(s.clientId))?.replayFrom;
  cpuBefore = { bench: process.cpuUsage(), subscriber: cpuSeconds(restart.pid) };
  connectsBefore = org.streaming.counters().connects;
  const catchUpStart = performance.now();
  await until(() => caughtUp(restart, 'the catch-up'), 600_000, 'the catch-up');
  const catchUpSeconds = (performance.now() - catchUpStart) / 1000;
  benchCpu = process.cpuUsage(cpuBefore.bench);
  subscriberCpu = cpuSeconds(restart.pid) - cpuBefore.subscriber;
  connects = org.streaming.counters().connects - connectsBefore;
  inQueue = await changesInQueue(queue);
  if (inQueue.changes < 2 * EVENTS + 1)
    throw new Error(`bench: ${inQueue.changes} changes in the queue, expected ${2 * EVENTS + 1}`);
  const catchUp = EVENTS / catchUpSeconds;
  console.log(
    `catch-up    ${EVENTS} retained events replayed from ${resumedFrom} (stored ${stored}) in ${catchUpSeconds.toFixed(2)} s after the subscribe`,
  );
  console.log(
    `            ingest ${catchUp.toFixed(0)} events/s = ${(catchUp / bare).toFixed(2)}× yardstick; ${connects} /meta/connect round trips`,
  );
  console.log(
    `            cpu: bench process (org + CometD server) ${percentOfCore(benchCpu, catchUpSeconds)}, subscriber process ${((subscriberCpu / catchUpSeconds) * 100).toFixed(0)}% of a core`,
  );
  const restartRss = vmHwm(restart.pid);
  await restart.stop('SIGTERM');

  clearInterval(rssTimer);
  console.log(
    `peak RSS    subscriber process: live burst ${mb(liveRss)} (${mb(warmRss)} after warm-up), catch-up ${mb(restartRss)}; target ≤ 300 MB. Bench process (sandbox + driver) ${mb(peakRss)}`,
  );

  await queue.close();
  await context.close();
}

const cleanups: Cleanups = [];
runBench(main, cleanups, PREFIX);
