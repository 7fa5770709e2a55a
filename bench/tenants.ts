/**
 * `npm run bench:tenants`: many integrations in one subscriber process.
 *
 *   1. set-up — N sandbox orgs (each its own host, org id, user and Connected App), one Communications
 *               Mining source per integration, N integrations `tenants/tNNN` (each bound to its org)
 *               authorised through the real OAuth flow.
 *   2. idle   — one `sf-cm-bridge subscriber` process streams all N (every org sees its CaseChangeEvent
 *               subscription); then, over --idle-seconds, nothing changes: its CPU (user + system,
 *               /proc/<pid>/stat) as % of a core, and its RSS (VmRSS at the end, VmHWM so far).
 *               Targets for 200 integrations: ≤ 400 MB, ≤ 5 % of a core.
 *   3. load   — --rate Case creates per second in every org for --drive-seconds, while --workers
 *               `sf-cm-bridge worker` processes push; converged when every created Case is a comment
 *               in its integration's source (and nowhere else). Prints the time to converge after the
 *               last create, and the subscriber's CPU and peak RSS under load.
 *
 * Options: --integrations N (200), --idle-seconds S (30), --rate R per integration (10),
 * --drive-seconds D (20), --workers W (2). BENCH_SUBSCRIBER_NODE_ARGS adds node flags to the
 * subscriber (e.g. `--cpu-prof`). Needs Redis at REDIS_URL (default 127.0.0.1:6379); uses a random
 * key prefix and deletes it afterwards.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pino from 'pino';
import { startCommunicationsMining, type SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import { startSalesforceOrgFleet, type SimulatedSalesforceOrgFleet } from '@sf-cm-bridge/sandbox/org';
import { loadConfigText } from '../src/config/index.ts';
import { createContext } from '../src/roles/context.ts';
import {
  authorizeIntegrations,
  connectionsTo,
  cpuSeconds,
  mb,
  nodeArgsFrom,
  runBench,
  REDIS_URL,
  startBridgeProcess,
  until,
  vmHwm,
  vmRss,
  type BridgeProcess,
  type Cleanups,
} from './common.ts';

const { values } = parseArgs({
  options: {
    integrations: { type: 'string', default: '200' },
    'idle-seconds': { type: 'string', default: '30' },
    rate: { type: 'string', default: '10' },
    'drive-seconds': { type: 'string', default: '20' },
    workers: { type: 'string', default: '2' },
  },
});
const INTEGRATIONS = Number(values.integrations);
const IDLE_SECONDS = Number(values['idle-seconds']);
const RATE = Number(values.rate);
const DRIVE_SECONDS = Number(values['drive-seconds']);
const WORKERS = Number(values.workers);
const PREFIX = `sfcm-bench:${randomUUID().slice(0, 8)}`;
const PUBLIC_URL = 'http://bench.localhost';
const CM_TOKEN = 'tenants-cm-token';
const CHANNEL = '/data/CaseChangeEvent';
const name = (index: number) => `t${String(index).padStart(3, '0')}`;

function configText(fleet: SimulatedSalesforceOrgFleet, cmUrl: string): string {
  const integrations = fleet.orgs.map(
    ({ identity, org }) => `  - project: tenants
    name: ${name(identity.index)}
    salesforce: { loginUrl: "${org.url}", clientId: ${identity.connectedApp.clientId}, clientSecret: ${identity.connectedApp.clientSecret} }
    target: { url: "${cmUrl}", token: ${CM_TOKEN}, project: tenants, source: ${name(identity.index)} }
    objects:
      Case:
        comment: { subject: Subject, body: Description }
`,
  );
  return `
redis: { url: "${REDIS_URL}", prefix: "${PREFIX}" }
server: { publicUrl: "${PUBLIC_URL}", adminToken: Bq7TzW2eRk9LmX4vN8pYc3HsJ6dFa1Gu5QoZ }
secrets: { encryptionKey: h86KJOaWJkivgCv6jg/ncIFHTOL13/sqfZ6vM/t/lpM= }
integrations:
${integrations.join('')}`;
}

/** Every org holds a live CaseChangeEvent subscription. */
const allSubscribed = (fleet: SimulatedSalesforceOrgFleet) =>
  fleet.orgs.every(({ org }) => org.streaming.counters().subscriptions.some((s) => s.channel === CHANNEL));

const percent = (cpu: number, seconds: number) => `${((cpu / seconds) * 100).toFixed(1)} % of a core`;

/**
 * RATE creates per second in every org for DRIVE_SECONDS, spread over 10 ticks a second and caught
 * up when a tick comes late; returns the ids created per org.
 */
async function drive(fleet: SimulatedSalesforceOrgFleet): Promise<string[][]> {
  const created: string[][] = fleet.orgs.map(() => []);
  const total = Math.round(RATE * DRIVE_SECONDS);
  const started = performance.now();
  let done = 0;
  while (done < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE));
    for (; done < due; done++) {
      fleet.orgs.forEach(({ org }, i) => {
        const record = org.store.create('Case', { Subject: `tenant case ${done}`, Description: `change ${done}` });
        created[i]?.push(String(record.Id));
      });
    }
    await sleep(100);
  }
  return created;
}

function missing(cm: SimulatedCommunicationsMining, created: string[][]): number {
  let count = 0;
  created.forEach((ids, i) => {
    const held = new Set(cm.control.comments('tenants', name(i)).map((c) => c.comment.id));
    for (const id of ids) if (!held.has(id)) count++;
  });
  return count;
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  cleanups.push(async () => redis.disconnect());
  console.log(
    `sf-cm-bridge tenants bench — ${INTEGRATIONS} integrations on ${INTEGRATIONS} orgs, node ${process.version}, ${cpus().length} cores, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  const setUpStart = performance.now();
  const fleet = await startSalesforceOrgFleet({
    count: INTEGRATIONS,
    redirectUris: [`${PUBLIC_URL}/external/salesforce/oauth2/callback`],
    autoApprove: true,
  });
  cleanups.push(() => fleet.close());
  const cm = await startCommunicationsMining({
    basePath: '/t/reinfer_',
    tokens: [CM_TOKEN],
    sources: fleet.orgs.map(({ identity }) => ({ project: 'tenants', name: name(identity.index) })),
  });
  cleanups.push(() => cm.close());
  const text = configText(fleet, cm.url);
  const configFile = join(mkdtempSync(join(tmpdir(), 'sfcm-bench-')), 'tenants.yaml');
  writeFileSync(configFile, text);
  const config = loadConfigText(text, configFile, {});
  const context = createContext({ config, logger: pino({ level: 'silent' }), redis });
  cleanups.push(() => context.close());
  await authorizeIntegrations(
    context,
    config.integrations.map((i) => i.key),
  );
  console.log(
    `set-up      ${INTEGRATIONS} orgs started and integrations authorised in ${((performance.now() - setUpStart) / 1000).toFixed(1)} s`,
  );

  // 2. Idle: every integration streamed by one subscriber process, nothing happening.
  const subscribeStart = performance.now();
  const subscriber = startBridgeProcess('subscriber', configFile, nodeArgsFrom('BENCH_SUBSCRIBER_NODE_ARGS'));
  cleanups.push(() => subscriber.stop('SIGKILL'));
  await until(
    () => (subscriber.alive('the subscribes'), allSubscribed(fleet)),
    300_000,
    'every org to see its subscription',
  );
  console.log(
    `subscribe   all ${INTEGRATIONS} integrations subscribed ${((performance.now() - subscribeStart) / 1000).toFixed(1)} s after the subscriber started; RSS ${mb(vmRss(subscriber.pid))}`,
  );
  const workers: BridgeProcess[] = Array.from({ length: WORKERS }, () => startBridgeProcess('worker', configFile));
  for (const worker of workers) cleanups.push(() => worker.stop('SIGKILL'));
  // Let start-up work (the first reconciliations, connection set-up) pass before the window.
  await sleep(5_000);
  const idleCpuBefore = cpuSeconds(subscriber.pid);
  const workersCpuBefore = workers.map((w) => cpuSeconds(w.pid));
  await sleep(IDLE_SECONDS * 1000);
  subscriber.alive('the idle window');
  const idleCpu = cpuSeconds(subscriber.pid) - idleCpuBefore;
  const workersIdleCpu = workers.map((w, i) => percent(cpuSeconds(w.pid) - (workersCpuBefore[i] ?? 0), IDLE_SECONDS));
  const idleRss = vmRss(subscriber.pid);
  console.log(
    `idle        subscriber over ${IDLE_SECONDS} s: cpu ${percent(idleCpu, IDLE_SECONDS)} (target ≤ 5 %), RSS ${mb(idleRss)}, peak ${mb(vmHwm(subscriber.pid))} (target ≤ 400 MB), ${connectionsTo(subscriber.pid)} Redis connections ; workers: ${workersIdleCpu.join(', ')}, RSS ${workers.map((w) => mb(vmRss(w.pid))).join(', ')}, ${workers.map((w) => connectionsTo(w.pid)).join(', ')} Redis connections; load ${loadavg()[0]?.toFixed(2)}`,
  );

  // 3. Load: RATE changes/s in every org, then wait until every change is a comment.
  const driveCpuBefore = cpuSeconds(subscriber.pid);
  const driveStart = performance.now();
  const created = await drive(fleet);
  const drivenFor = (performance.now() - driveStart) / 1000;
  const totalCreated = created.reduce((n, ids) => n + ids.length, 0);
  await until(
    () => (subscriber.alive('convergence'), missing(cm, created) === 0),
    600_000,
    'every change to reach Communications Mining',
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}: ${missing(cm, created)} of ${totalCreated} missing`);
  });
  const convergedAfter = (performance.now() - driveStart) / 1000 - drivenFor;
  const driveCpu = cpuSeconds(subscriber.pid) - driveCpuBefore;
  const strays = fleet.orgs.reduce(
    (n, _, i) => n + cm.control.comments('tenants', name(i)).length - (created[i]?.length ?? 0),
    0,
  );
  if (strays !== 0) throw new Error(`bench: ${strays} comments that no create of that org explains`);
  console.log(
    `load        ${totalCreated} creates (${RATE}/s in each of ${INTEGRATIONS} orgs) in ${drivenFor.toFixed(1)} s; every one a comment in its own source ${convergedAfter.toFixed(1)} s after the last create`,
  );
  console.log(
    `            subscriber cpu ${percent(driveCpu, drivenFor + convergedAfter)} over drive + convergence, peak RSS ${mb(vmHwm(subscriber.pid))}; workers' peak RSS ${workers.map((w) => mb(vmHwm(w.pid))).join(', ')}; load ${loadavg()[0]?.toFixed(2)}`,
  );
}

const cleanups: Cleanups = [];
runBench(main, cleanups, PREFIX);
