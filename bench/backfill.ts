/**
 * `npm run bench:backfill`: initial load and reconciliation through the sandbox.
 *
 *   backfill   N existing records queued by the backfill while `sf-cm-bridge worker` processes run
 *              (the backfill stays a bounded number of changes ahead of them), until Communications
 *              Mining holds them all: records/s end to end and every Salesforce REST call, the
 *              workers' included.
 *   reconcile  N records changed without any event, found by one watermark reconciliation:
 *              Salesforce REST calls per 10k reconciled records (reads only; the worker's fetches
 *              are counted by `npm run bench`).
 *
 *   --bulk     the backfill above `backfill.bulkAbove` (default 50,000): one Bulk API 2.0 query job
 *              streamed page by page (default 1,000,000 records); prints the Salesforce REST calls the
 *              backfill spent, the peak RSS of this process (sandbox org and CM included) and skips
 *              the reconcile part.
 *
 * Options: --records N (default 20000; 1000000 with --bulk), --workers N (worker processes, default 1).
 * BENCH_WORKER_NODE_ARGS adds node flags to the workers (e.g. `--cpu-prof`).
 * Needs Redis at REDIS_URL; uses and deletes a random prefix.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pino from 'pino';
import { backfillObjects } from '../src/cli/backfill-run.ts';
import { BACKFILL_AHEAD_CHANGES } from '../src/reconcile/backfill.ts';
import { RecordVersions } from '../src/store/record-versions.ts';
import { ReconcileState, reconcileObject } from '../src/reconcile/index.ts';
import { SalesforceRestClient } from '../src/salesforce/rest-client.ts';
import { startCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import {
  authorizeBench,
  benchConfig,
  BIN,
  cpuSeconds,
  mb,
  nodeArgsFrom,
  REDIS_URL,
  startBenchOrg,
  tearDown,
  until,
} from './common.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string' },
    bulk: { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
  },
});
const BULK = values.bulk;
const RECORDS = Number(values.records ?? (BULK ? 1_000_000 : 20_000));
const WORKERS = Math.max(1, Number(values.workers));
/** REST unless --bulk; with --bulk, Bulk API 2.0 whatever the count. */
const BULK_ABOVE = BULK ? Math.min(50_000, RECORDS - 1) : RECORDS;
const PREFIX = `sfcm-bench:${randomUUID().slice(0, 8)}`;

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  // Seeding a million records holds the event loop for a while: ioredis reconnects, say so once.
  redis.once('error', (error) => console.warn(`bench redis: ${error.message} (reconnecting)`));
  console.log(
    `sf-cm-bridge backfill bench — ${RECORDS} records, ${BULK ? 'Bulk API 2.0' : 'REST paging'}, ${WORKERS} worker(s), node ${process.version}, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const cm = await startCommunicationsMining({
    tokens: ['bench-cm-token'],
    sources: [{ project: 'bench', name: 'emails' }],
    basePath: '/t/reinfer_',
  });
  const org = await startBenchOrg();
  const ids: string[] = [];
  // In transactions of 50k: one transaction of a million rows holds its undo log in memory.
  for (let start = 0; start < RECORDS; start += 50_000) {
    org.store.transaction((tx) => {
      for (let i = start; i < Math.min(RECORDS, start + 50_000); i++)
        ids.push(
          String(
            tx.create('Case', { Subject: `Existing ${i}`, Description: `Existing case ${i}` }, { silent: true }).Id,
          ),
        );
    });
  }
  const { config, file } = benchConfig({
    prefix: PREFIX,
    orgUrl: org.url,
    cmUrl: cm.url,
    extra: `    reconcile: { every: 1h, lookback: 1s }\n    backfill: { bulkAbove: ${BULK_ABOVE} }\n`,
    objects: '      Case:\n        comment: { subject: Subject, body: Description }',
  });
  // Past the lookback (1 s) plus the second the SOQL datetime literal rounds away.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const context = await authorizeBench(config, redis);
  const integration = config.integrations[0];
  if (!integration) throw new Error('bench: no integration');

  // The workers run from the start: the backfill keeps a bounded number of changes ahead of them.
  const workers = Array.from({ length: WORKERS }, () =>
    spawn(process.execPath, [...nodeArgsFrom('BENCH_WORKER_NODE_ARGS'), BIN, 'worker', '--config', file], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, LOG_LEVEL: 'warn' },
    }),
  );
  const totalCalls = () => Object.values(org.counters().rest.calls).reduce((a, b) => a + b, 0);
  const callsByKind = (before: Record<string, number>) =>
    Object.entries(org.counters().rest.calls)
      .map(([kind, n]) => [kind, n - (before[kind] ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ');
  const restBefore = totalCalls();
  const benchCpuBefore = process.cpuUsage();
  const started = performance.now();
  const callsBefore = { ...org.counters().rest.calls };
  const [total] = await backfillObjects(context, integration, integration.objects, null, {
    bulkPoll: { initialMs: 250, maxMs: 2_000 },
  });
  const enqueueSeconds = (performance.now() - started) / 1000;
  console.log(
    `backfill    ${total?.enqueued ?? 0} records queued (${total?.mode ?? '?'}) in ${enqueueSeconds.toFixed(2)} s, at most ${BACKFILL_AHEAD_CHANGES} ahead of the workers: ${(RECORDS / enqueueSeconds).toFixed(0)} records/s; peak RSS of this process ${mb(process.resourceUsage().maxRSS * 1024)} (sandbox org and CM included)`,
  );
  await until(() => cm.control.counters().comments.new >= RECORDS, 1_800_000, 'the backfill to land');
  const totalSeconds = (performance.now() - started) / 1000;
  const benchCpu = process.cpuUsage(benchCpuBefore);
  const workerCpu = workers.reduce((sum, worker) => sum + (worker.pid ? cpuSeconds(worker.pid) : 0), 0);
  console.log(
    `            all ${RECORDS} in Communications Mining ${totalSeconds.toFixed(2)} s after the start: ${(RECORDS / totalSeconds).toFixed(0)} records/s end to end (target ≥ 20000 with --bulk); ${totalCalls() - restBefore} Salesforce REST calls in all, workers included (target ≤ 50 with --bulk): ${callsByKind(callsBefore)}`,
  );
  console.log(
    `            cpu: workers ${workerCpu.toFixed(1)} s (${((workerCpu / RECORDS) * 1e6).toFixed(0)} µs per record, start-up included), this process (org, CM, backfill) ${((benchCpu.user + benchCpu.system) / 1e6).toFixed(1)} s`,
  );
  await Promise.all(
    workers.map(async (worker) => {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker.on('close', resolve));
    }),
  );
  if (BULK) {
    await tearDown(redis, PREFIX, [context, cm, org]);
    return;
  }

  // Silent changes (no events): one reconciliation run finds them.
  const since = Date.now() - 1_000;
  org.store.transaction((tx) =>
    ids.forEach((id, i) => tx.update(id, { Description: `Changed silently ${i}` }, { silent: true })),
  );
  let calls = 0;
  const rest = new SalesforceRestClient({
    integration: integration.key,
    apiVersion: integration.salesforce.apiVersion,
    tokens: context.tokens,
    onCall: () => calls++,
  });
  const queue = context.queues.get(integration.key);
  if (!queue) throw new Error('bench: no queue');
  const object = integration.objects[0];
  if (!object) throw new Error('bench: no object');
  const result = await reconcileObject(object, since, {
    integration,
    rest,
    queue,
    versions: new RecordVersions(redis, PREFIX, integration.key),
    state: new ReconcileState(redis, PREFIX, integration.key),
    logger: pino({ level: 'silent' }),
  });
  console.log(
    `reconcile   ${result.refreshed} changed records found with ${calls} REST calls: ${((calls / Math.max(1, result.refreshed)) * 10_000).toFixed(1)} calls per 10k reconciled records`,
  );

  await tearDown(redis, PREFIX, [context, cm, org]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
