/**
 * `npm run bench:e2e`: the whole bridge end to end — the sandbox org commits Case creates, which
 * stream over CometD (or the Pub/Sub API) through real bridge processes (subscriber → queue →
 * workers) into the sandbox Communications Mining — next to the bare BullMQ yardstick (a producer
 * and a consumer, one job per event), measured in the same run on the same Redis right before each
 * deployment's burst.
 *
 * Two deployments, each against a fresh org and CM and its own key prefix:
 *   - `all`   — one `sf-cm-bridge all` process (api + subscriber + worker);
 *   - `split` — `api`, `subscriber` and `worker`, one process each.
 * Three phases for each, in this order (peak RSS is a high-water mark, so the heaviest comes last):
 *   1. small bursts — 200 creates in one transaction every 2 s, for 20 s;
 *   2. steady       — creates committed one by one at --rate per second for --seconds;
 *   3. burst        — --changes creates committed as fast as the org can, in transactions of --chunk.
 * Each phase reports changes/s from the first commit to the last comment stored (and, for the burst,
 * the ratio to the yardstick), p50/p99 commit → comment (this process's clock on both ends: the
 * org's commit and the CM's `created_at`), peak RSS (VmHWM) and CPU of every bridge process, and
 * Salesforce REST calls and CM requests per 1,000 changes (the sandboxes' counters).
 *
 * Options: --changes N (default 100000), --chunk C (default 1000), --rate R (default 1000),
 * --seconds S (default 10), --deployments all,split (default both), --phases small,steady,burst,catch-up
 * (default all four), --transport cometd|pubsub|both (default cometd), --linger D (the workers'
 * `worker.linger`, e.g. 2500ms; default the config's). BENCH_NODE_ARGS adds node flags to
 * every bridge process (e.g. `--cpu-prof`). Needs Redis at REDIS_URL (default 127.0.0.1:6379); uses
 * random key prefixes and deletes them afterwards.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { ChangeQueue } from '../src/queue/change-queue.ts';
import { ReconcileState } from '../src/reconcile/index.ts';
import { startCommunicationsMining, type SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import type { SimulatedSalesforceOrg } from '@sf-cm-bridge/sandbox/org';
import {
  authorizeBench,
  bareBullmqYardstick,
  benchConfig,
  commitCaseCreates,
  cpuSeconds,
  deleteKeys,
  mb,
  nodeArgsFrom,
  percentile,
  REDIS_URL,
  startBenchOrg,
  startBridgeProcess,
  until,
  vmHwm,
  type BridgeProcess,
} from './common.ts';

const { values } = parseArgs({
  options: {
    changes: { type: 'string', default: '100000' },
    chunk: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    deployments: { type: 'string', default: 'all,split' },
    phases: { type: 'string', default: 'small,steady,burst,catch-up' },
    transport: { type: 'string', default: 'cometd' },
    linger: { type: 'string' },
  },
});
const CHANGES = Number(values.changes);
const CHUNK = Number(values.chunk);
const RATE = Number(values.rate);
const STEADY_SECONDS = Number(values.seconds);
const SMALL_BURST = 200;
const SMALL_EVERY_MS = 2_000;
const SMALL_FOR_MS = 20_000;
const DEPLOYMENTS: Record<string, readonly string[]> = { all: ['all'], split: ['api', 'subscriber', 'worker'] };
const PHASES = new Set(values.phases.split(','));
const CHANNEL = '/data/CaseChangeEvent';
const RUN = `sfcm-bench:${randomUUID().slice(0, 8)}`;
type Transport = 'cometd' | 'pubsub';
const TRANSPORTS: Transport[] =
  values.transport === 'both' ? ['cometd', 'pubsub'] : values.transport === 'pubsub' ? ['pubsub'] : ['cometd'];

/** One deployment's sandboxes and processes. */
interface Deployment {
  name: string;
  org: SimulatedSalesforceOrg;
  cm: SimulatedCommunicationsMining;
  processes: BridgeProcess[];
  /** Start the deployment's processes again (after `stop`). */
  restart: () => Promise<void>;
  /** Commit time of every record created so far (ms, this process's clock). */
  committedAt: Map<string, number>;
}

interface PhaseFigures {
  changes: number;
  seconds: number;
  p50: number;
  p99: number;
  restPer1000: number;
  /** The phase's REST calls by kind (fetch queries, describes, …). */
  restKinds: string;
  cmPer1000: number;
  /** Per process role: peak RSS (bytes) and CPU (% of a core over the phase). */
  processes: Array<{ role: string; peakRss: number; cpu: number }>;
  benchCpu: number;
}

const sum = (counts: Record<string, number> | undefined) => Object.values(counts ?? {}).reduce((a, b) => a + b, 0);
const restCalls = (d: Deployment) => sum(d.org.counters().rest.calls);
const cmRequests = (d: Deployment) =>
  Object.values(d.cm.control.counters().requests).reduce((n, byStatus) => n + sum(byStatus), 0);
const stored = (d: Deployment) => d.cm.control.counters().comments.new;

/** Run `commit` (which commits `changes` creates), wait for every comment, and measure. */
async function phase(
  d: Deployment,
  changes: number,
  commit: () => Promise<void>,
  known = new Set(d.committedAt.keys()),
): Promise<PhaseFigures> {
  const before = {
    rest: restCalls(d),
    restByKind: { ...d.org.counters().rest.calls },
    cm: cmRequests(d),
    stored: stored(d),
    // By pid: the catch-up phase starts new processes, whose CPU counts from their start.
    cpu: new Map(d.processes.map((p) => [p.pid, existsSync(`/proc/${p.pid}/stat`) ? cpuSeconds(p.pid) : 0])),
    bench: process.cpuUsage(),
  };
  const started = performance.now();
  await commit();
  await until(
    () => (d.processes.forEach((p) => p.alive('the comments')), stored(d) >= before.stored + changes),
    900_000,
    `${changes} comments in CM`,
  );
  const seconds = (performance.now() - started) / 1000;
  const latencies: number[] = [];
  for (const [id, at] of d.committedAt) {
    if (known.has(id)) continue;
    const comment = d.cm.control.comment('bench', 'emails', id);
    if (!comment) throw new Error(`bench: no comment for ${id}`);
    latencies.push(Date.parse(comment.created_at) - at);
  }
  latencies.sort((a, b) => a - b);
  const bench = process.cpuUsage(before.bench);
  return {
    changes,
    seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    restPer1000: ((restCalls(d) - before.rest) / changes) * 1000,
    restKinds: Object.entries(d.org.counters().rest.calls)
      .map(([kind, n]) => [kind, n - (before.restByKind[kind] ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', '),
    cmPer1000: ((cmRequests(d) - before.cm) / changes) * 1000,
    processes: d.processes.map((p) => ({
      role: p.role,
      peakRss: vmHwm(p.pid),
      cpu: ((cpuSeconds(p.pid) - (before.cpu.get(p.pid) ?? 0)) / seconds) * 100,
    })),
    benchCpu: ((bench.user + bench.system) / 1e6 / seconds) * 100,
  };
}

const record = (d: Deployment) => (ids: string[], at: number) => {
  for (const id of ids) d.committedAt.set(id, at);
};

/** 200 creates in one transaction every 2 s, for 20 s. */
async function smallBursts(d: Deployment): Promise<PhaseFigures> {
  const bursts = SMALL_FOR_MS / SMALL_EVERY_MS;
  return phase(d, bursts * SMALL_BURST, async () => {
    const start = Date.now();
    for (let i = 0; i < bursts; i++) {
      await delay(Math.max(0, start + i * SMALL_EVERY_MS - Date.now()));
      await commitCaseCreates(d.org, {
        count: SMALL_BURST,
        chunk: SMALL_BURST,
        label: `small${i}`,
        onCommit: record(d),
      });
    }
  });
}

/** One create per transaction at RATE/s, committed in 10 ms ticks. */
async function steady(d: Deployment): Promise<PhaseFigures> {
  const total = RATE * STEADY_SECONDS;
  return phase(d, total, async () => {
    const start = Date.now();
    let committed = 0;
    while (committed < total) {
      const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * RATE) + 1);
      for (; committed < due; committed++)
        await commitCaseCreates(d.org, { count: 1, chunk: 1, label: `steady${committed}`, onCommit: record(d) });
      await delay(10);
    }
  });
}

async function burst(d: Deployment): Promise<PhaseFigures & { commitSeconds: number }> {
  let commitSeconds = 0;
  const figures = await phase(d, CHANGES, async () => {
    commitSeconds = await commitCaseCreates(d.org, {
      count: CHANGES,
      chunk: CHUNK,
      label: 'burst',
      onCommit: record(d),
    });
  });
  return { ...figures, commitSeconds };
}

/**
 * The deployment stopped, --changes creates committed meanwhile, then started again: the stream
 * replays them from the stored position as fast as the org delivers (1,000 events per connect reply)
 * — the heaviest burst a process meets. Peak RSS is the new processes' own.
 */
async function catchUp(d: Deployment): Promise<PhaseFigures & { commitSeconds: number }> {
  await Promise.all(d.processes.map((p) => p.stop('SIGTERM')));
  const known = new Set(d.committedAt.keys());
  const commitSeconds = await commitCaseCreates(d.org, {
    count: CHANGES,
    chunk: CHUNK,
    label: 'offline',
    onCommit: record(d),
  });
  const figures = await phase(d, CHANGES, () => d.restart(), known);
  return { ...figures, commitSeconds };
}

async function startDeployment(
  name: string,
  transport: Transport,
  redis: Redis,
): Promise<{ d: Deployment; close: () => Promise<void> }> {
  const prefix = `${RUN}-${name}-${transport}`;
  const cm = await startCommunicationsMining({
    tokens: ['bench-cm-token'],
    sources: [{ project: 'bench', name: 'emails' }],
    basePath: '/t/reinfer_',
  });
  const org = await startBenchOrg();
  const { config, file } = benchConfig({
    prefix,
    orgUrl: org.url,
    cmUrl: cm.url,
    ...(transport === 'pubsub' ? { salesforce: `, transport: pubsub, pubsubUrl: "${org.pubsubUrl}"` } : {}),
    // No scheduled reconciliation during the run: the figures are the stream's.
    extra: '    reconcile: { every: 1h, lookback: 1s }\n',
    ...(values.linger === undefined ? {} : { top: `worker: { linger: ${values.linger} }\n` }),
    objects: `      Case:
        comment:
          subject: Subject
          body: Description
          properties: { Priority: Priority, Status: Status, Case Number: CaseNumber }`,
  });
  const context = await authorizeBench(config, redis);
  const roles = DEPLOYMENTS[name];
  if (!roles) throw new Error(`bench: unknown deployment ${name} (all, split)`);
  const start = () => roles.map((role) => startBridgeProcess(role, file, nodeArgsFrom('BENCH_NODE_ARGS')));
  const d: Deployment = {
    name,
    org,
    cm,
    processes: start(),
    restart: async () => {
      d.processes = start();
      await subscribed();
    },
    committedAt: new Map(),
  };
  /** Subscriptions to the Case channel so far (CometD client ids, or Pub/Sub subscribe calls). */
  const subscriptions = (): string[] =>
    transport === 'pubsub'
      ? org.pubsub
          .counters()
          .starts.map((s, i) => ({ ...s, i }))
          .filter((s) => s.topic === CHANNEL)
          .map((s) => String(s.i))
      : org.streaming
          .counters()
          .subscriptions.filter((s) => s.channel === CHANNEL)
          .map((s) => s.clientId);
  const subscribed = () => {
    const known = new Set(subscriptions());
    return until(
      () => (d.processes.forEach((p) => p.alive('the subscribe')), subscriptions().some((id) => !known.has(id))),
      60_000,
      'the subscribe',
    );
  };
  const close = async () => {
    await Promise.all(d.processes.map((p) => p.stop('SIGTERM')));
    await context.close();
    await cm.close();
    await org.close();
    await deleteKeys(redis, prefix);
  };
  try {
    await subscribed();
    // Warm-up: one change all the way through (describe, first fetch, first push).
    await commitCaseCreates(org, { count: 1, chunk: 1, label: 'warm-up' });
    await until(() => stored(d) >= 1, 60_000, 'the warm-up comment');
    // The first subscribe (no stored position) asks for a reconciliation from before it: a one-off
    // of a new deployment, not the stream's cost, so the phases start once it has run and drained.
    const state = new ReconcileState(redis, prefix, 'bench/emails');
    const queue = new ChangeQueue(redis, prefix, 'bench/emails');
    try {
      await until(
        async () =>
          (await state.lastRunAt('Case', 'lastReconcileAt')) !== undefined &&
          (await state.pendingRequest('Case')) === undefined &&
          (await queue.backlog()) === 0,
        120_000,
        'the first reconciliation',
      );
    } finally {
      await queue.close();
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { d, close };
}

function print(label: string, f: PhaseFigures, extra = ''): void {
  console.log(
    `  ${label.padEnd(13)} ${f.changes} changes in ${f.seconds.toFixed(2)} s: ${(f.changes / f.seconds).toFixed(0)} changes/s${extra}`,
  );
  console.log(
    `                commit → comment p50 ${f.p50} ms, p99 ${f.p99} ms; per 1000 changes: ${f.restPer1000.toFixed(1)} Salesforce REST calls (${f.restKinds}), ${f.cmPer1000.toFixed(1)} CM requests`,
  );
  console.log(
    `                ${f.processes.map((p) => `${p.role}: peak RSS ${mb(p.peakRss)}, cpu ${p.cpu.toFixed(0)}%`).join('; ')}; bench process (sandboxes) cpu ${f.benchCpu.toFixed(0)}%`,
  );
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const load = loadavg().map((l) => l.toFixed(2));
  console.log(
    `sf-cm-bridge e2e bench — ${CHANGES} changes${values.linger === undefined ? '' : `, worker.linger ${values.linger}`}, node ${process.version}, ${cpus().length} cores, load average ${load.join(' ')}`,
  );
  // The yardstick swings by ±40 % from one minute to the next on a shared VM, so each deployment is
  // compared with one measured right before its heavy phases, under the same conditions.
  const yardstick = async () => {
    const bare = await bareBullmqYardstick(redis, RUN, CHANGES);
    console.log(`  yardstick     bare BullMQ one job per event: ${bare.toFixed(0)} jobs/s`);
    return bare;
  };
  try {
    for (const transport of TRANSPORTS)
      for (const name of values.deployments.split(',')) {
        const { d, close } = await startDeployment(name, transport, redis);
        try {
          console.log(`${name} (${d.processes.map((p) => p.role).join(' + ')}) over ${transport}`);
          if (PHASES.has('small')) print('small bursts', await smallBursts(d));
          if (PHASES.has('steady')) print(`steady ${RATE}/s`, await steady(d));
          const bare = PHASES.has('burst') || PHASES.has('catch-up') ? await yardstick() : NaN;
          if (PHASES.has('burst')) {
            const b = await burst(d);
            const perSecond = b.changes / b.seconds;
            print(
              'burst',
              b,
              ` = ${(perSecond / bare).toFixed(2)}× yardstick (the org committed them in ${b.commitSeconds.toFixed(1)} s)`,
            );
          }
          if (PHASES.has('catch-up')) {
            const c = await catchUp(d);
            print(
              'catch-up',
              c,
              ` = ${(c.changes / c.seconds / bare).toFixed(2)}× yardstick, from the restart (latency includes the ${c.commitSeconds.toFixed(1)} s of commits while stopped)`,
            );
          }
        } finally {
          await close();
        }
      }
  } finally {
    await deleteKeys(redis, RUN);
    redis.disconnect();
  }
  console.log(
    `load average at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
