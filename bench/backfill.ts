/**
 * `npm run bench:backfill`: initial load and reconciliation through the sandbox.
 *
 *   backfill   N existing records enqueued (records/s), then pushed by one `sf-cm-bridge worker`
 *              process until Communications Mining holds them all (records/s end to end).
 *   reconcile  N records changed without any event, found by one watermark reconciliation:
 *              Salesforce REST calls per 10k reconciled records (reads only; the worker's fetches
 *              are counted by `npm run bench`).
 *
 * Options: --records N (default 20000). Needs Redis at REDIS_URL; uses and deletes a random prefix.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pino from 'pino';
import { backfillObjects } from '../src/cli/backfill-run.ts';
import { RecordVersions } from '../src/store/record-versions.ts';
import { ReconcileState, reconcileObject } from '../src/reconcile/index.ts';
import { SalesforceRestClient } from '../src/salesforce/rest-client.ts';
import { startCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import { authorizeBench, benchConfig, BIN, REDIS_URL, startBenchOrg, tearDown, until } from './common.ts';

const { values } = parseArgs({ options: { records: { type: 'string', default: '20000' } } });
const RECORDS = Number(values.records);
const PREFIX = `sfcm-bench:${randomUUID().slice(0, 8)}`;

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  console.log(`sf-cm-bridge backfill bench — ${RECORDS} records, node ${process.version}`);
  const cm = await startCommunicationsMining({
    tokens: ['bench-cm-token'],
    sources: [{ project: 'bench', name: 'emails' }],
    basePath: '/t/reinfer_',
  });
  const org = await startBenchOrg();
  const ids = org.store.transaction((tx) =>
    Array.from({ length: RECORDS }, (_, i) =>
      String(tx.create('Case', { Subject: `Existing ${i}`, Description: `Existing case ${i}` }, { silent: true }).Id),
    ),
  );
  const { config, file } = benchConfig({
    prefix: PREFIX,
    orgUrl: org.url,
    cmUrl: cm.url,
    extra: '    reconcile: { every: 1h, lookback: 1s }\n',
    objects: '      Case:\n        comment: { subject: Subject, body: Description }',
  });
  // Past the lookback (1 s) plus the second the SOQL datetime literal rounds away.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const context = await authorizeBench(config, redis);
  const integration = config.integrations[0];
  if (!integration) throw new Error('bench: no integration');

  const restBefore = Object.values(org.counters().rest.calls).reduce((a, b) => a + b, 0);
  const started = performance.now();
  await backfillObjects(context, integration, integration.objects, null);
  const enqueueSeconds = (performance.now() - started) / 1000;
  const restCalls = Object.values(org.counters().rest.calls).reduce((a, b) => a + b, 0) - restBefore;
  console.log(
    `backfill    ${RECORDS} records enqueued in ${enqueueSeconds.toFixed(2)} s: ${(RECORDS / enqueueSeconds).toFixed(0)} records/s (${restCalls} REST calls)`,
  );

  const worker = spawn(process.execPath, [BIN, 'worker', '--config', file], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  await until(() => cm.control.comments('bench', 'emails').length >= RECORDS, 600_000, 'the backfill to land');
  const totalSeconds = (performance.now() - started) / 1000;
  console.log(
    `            all ${RECORDS} in Communications Mining after ${totalSeconds.toFixed(2)} s (worker start-up included): ${(RECORDS / totalSeconds).toFixed(0)} records/s end to end`,
  );
  worker.kill('SIGTERM');
  await new Promise((resolve) => worker.on('close', resolve));

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
