/**
 * `npm run bench`: the worker pipeline end to end through the sandbox, next to the bare BullMQ
 * yardstick measured in the same run on the same Redis.
 *
 *   1. yardstick  — bare BullMQ: addBulk one job per event, a no-op Worker; jobs/s.
 *   2. burst      — N changed records enqueued as the subscriber would; one `sf-cm-bridge worker`
 *                   process fetches, converts and pushes them into the simulated CM: changes/s,
 *                   Salesforce REST calls per 1000 changes, CM requests per 1000 comments.
 *   3. steady     — changes committed at a fixed rate: p50/p99 commit → comment latency.
 *   Peak RSS of the bench process (sandbox + driver) and of the worker process.
 *
 * Options: --changes N (default 20000), --workers W worker processes (default 1), --rate R changes/s
 * for the steady phase (default 1000),
 * --seconds S steady duration (default 5). Needs Redis at REDIS_URL (default 127.0.0.1:6379);
 * uses a random key prefix and deletes it afterwards.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { ChangeQueue } from '../src/queue/change-queue.ts';
import type { ChangeJob } from '../src/model/change.ts';
import { startCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import {
  authorizeBench,
  bareBullmqYardstick,
  benchConfig,
  cpuSeconds,
  mb,
  nodeArgsFrom,
  percentile,
  REDIS_URL,
  startBenchOrg,
  startBridgeProcess,
  tearDown,
  until,
  vmHwm,
} from './common.ts';

const { values } = parseArgs({
  options: {
    changes: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '5' },
    workers: { type: 'string', default: '1' },
  },
});
const CHANGES = Number(values.changes);
const RATE = Number(values.rate);
const STEADY_SECONDS = Number(values.seconds);
const WORKERS = Number(values.workers);
const PREFIX = `sfcm-bench:${randomUUID().slice(0, 8)}`;
const INTEGRATION = 'bench/emails';

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  console.log(
    `sf-cm-bridge bench — ${CHANGES} changes, ${WORKERS} worker process(es), node ${process.version}, ${(await import('node:os')).cpus().length} cores`,
  );

  const bare = await bareBullmqYardstick(redis, PREFIX, CHANGES);
  console.log(`yardstick   bare BullMQ one job per event: ${bare.toFixed(0)} jobs/s`);

  const cm = await startCommunicationsMining({
    tokens: ['bench-cm-token'],
    sources: [{ project: 'bench', name: 'emails' }],
    basePath: '/t/reinfer_',
  });
  const org = await startBenchOrg();
  const { config, file: configFile } = benchConfig({
    prefix: PREFIX,
    orgUrl: org.url,
    cmUrl: cm.url,
    // Records exist before authorisation: the first reconciliation has nothing to find, so the
    // figures measure the queued changes alone.
    extra: '    reconcile: { every: 1h, lookback: 1s }\n',
    objects: `      Case:
        comment:
          subject: Subject
          body: Description
          from: SuppliedEmail
          properties: { Priority: Priority, Status: Status, Case Number: CaseNumber }`,
  });
  const ids: string[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const record = org.store.create(
      'Case',
      {
        Subject: `Order ${i} arrived damaged`,
        Description: `Hello,\n\nmy order ${i} arrived damaged. Please send a replacement.\n\nThanks`,
        SuppliedEmail: `customer${i}@example.com`,
        Priority: i % 3 === 0 ? 'High' : 'Medium',
      },
      { silent: true },
    );
    ids.push(String(record.Id));
  }
  // Past the lookback (1 s) plus the second the SOQL datetime literal rounds away.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const context = await authorizeBench(config, redis);

  const queue = new ChangeQueue(redis, PREFIX, INTEGRATION);
  const change = (recordId: string): ChangeJob => ({
    integration: INTEGRATION,
    object: 'Case',
    recordId,
    kind: 'UPDATE',
    origin: 'reconcile',
    enqueuedAt: Date.now(),
  });

  // Warm-up: the worker process starts, describes Case and pushes one record.
  const workers = Array.from({ length: WORKERS }, () =>
    startBridgeProcess('worker', configFile, nodeArgsFrom('BENCH_WORKER_NODE_ARGS')),
  );
  await queue.enqueue([change(ids[0] ?? '')], () => 'warm-up');
  await until(() => cm.control.counters().comments.new >= 1, 60_000, 'the worker to start');

  // Burst: every change queued at once (as after an outage), drained by the worker process(es).
  const sumCalls = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);
  const restBefore = sumCalls(org.counters().rest.calls);
  const cmBefore = Object.values(cm.control.counters().requests.sync ?? {}).reduce((a, b) => a + b, 0);
  const cpuBefore = { bench: process.cpuUsage(), workers: workers.map((w) => cpuSeconds(w.pid)) };
  const burstStart = performance.now();
  for (let i = 0; i < ids.length; i += 1000) await queue.enqueue(ids.slice(i, i + 1000).map(change), () => 'burst');
  await until(() => cm.control.counters().comments.new >= CHANGES, 600_000, 'the burst to land in CM');
  const burstSeconds = (performance.now() - burstStart) / 1000;
  const restCalls = sumCalls(org.counters().rest.calls) - restBefore;
  const cmRequests = Object.values(cm.control.counters().requests.sync ?? {}).reduce((a, b) => a + b, 0) - cmBefore;
  const throughput = CHANGES / burstSeconds;
  const benchCpu = (process.cpuUsage(cpuBefore.bench).user + process.cpuUsage(cpuBefore.bench).system) / 1e6;
  const workerCpu = workers.map((w, i) => cpuSeconds(w.pid) - (cpuBefore.workers[i] ?? 0));
  console.log(
    `burst       ${CHANGES} changes in ${burstSeconds.toFixed(2)} s: ${throughput.toFixed(0)} changes/s = ${(throughput / bare).toFixed(2)}× yardstick`,
  );
  console.log(
    `            cpu during the burst: bench process (sandbox + driver) ${benchCpu.toFixed(2)} s, worker process(es) ${workerCpu.map((c) => `${c.toFixed(2)} s`).join(', ')}`,
  );
  console.log(
    `            Salesforce REST calls per 1000 changes: ${((restCalls / CHANGES) * 1000).toFixed(1)}   CM requests per 1000 comments: ${((cmRequests / CHANGES) * 1000).toFixed(1)}`,
  );

  // Steady: commit changes at RATE/s, measure commit → comment stored.
  const committed = new Map<string, number>();
  const total = RATE * STEADY_SECONDS;
  const steadyStart = Date.now();
  for (let i = 0; i < total; i++) {
    const due = steadyStart + (i / RATE) * 1000;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    const id = ids[i % ids.length] ?? '';
    org.store.update(id, { Description: `steady change ${i}` }, { silent: true });
    committed.set(id, Date.now());
    if (i % 10 === 9 || i === total - 1)
      await queue.enqueue([...ids.slice(i - (i % 10), i + 1)].map(change), () => `steady${i}`);
  }
  await until(
    () =>
      [...committed.keys()].every((id) =>
        /steady change/.test(cm.control.comment('bench', 'emails', id)?.comment.messages[0]?.body.text ?? ''),
      ),
    120_000,
    'the steady changes to land',
  );
  const latencies = [...committed.entries()]
    .map(([id, at]) => Date.parse(cm.control.comment('bench', 'emails', id)?.last_modified ?? '') - at)
    .sort((a, b) => a - b);
  console.log(
    `steady      ${RATE} changes/s for ${STEADY_SECONDS} s: commit → comment p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms`,
  );

  const workerRss = workers.map((worker) => vmHwm(worker.pid));
  await Promise.all(workers.map((worker) => worker.stop('SIGTERM')));
  clearInterval(rssTimer);
  console.log(
    `peak RSS    bench process (sandbox + driver) ${mb(peakRss)}, worker process(es) ${workerRss.map(mb).join(', ')}`,
  );

  await tearDown(redis, PREFIX, [queue, context, cm, org]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
