/** What the benchmarks share: a sandbox org with the bench Connected App, its config, the OAuth step, clean-up. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { loadConfigText, type BridgeConfig } from '../src/config/index.ts';
import { createContext, type BridgeContext } from '../src/roles/context.ts';
import { startSalesforceOrg, type SimulatedSalesforceOrg } from '@sf-cm-bridge/sandbox/org';
import { buildApp } from '../src/server/app.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The bin the benches run; BENCH_BIN measures another build (e.g. a checkout of main) with the same bench. */
export const BIN = process.env.BENCH_BIN ?? new URL('../bin/sf-cm-bridge.js', import.meta.url).pathname;
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Peak resident set of a process (kernel high-water mark), bytes. */
export function vmHwm(pid: number): number {
  return statusKb(pid, 'VmHWM') * 1024;
}

/** Resident set of a process now, bytes. */
export function vmRss(pid: number): number {
  return statusKb(pid, 'VmRSS') * 1024;
}

function statusKb(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
}

export function startBenchOrg(): Promise<SimulatedSalesforceOrg> {
  return startSalesforceOrg({
    autoApprove: true,
    connectedApps: [
      {
        clientId: 'bench-client',
        clientSecret: 'bench-secret',
        redirectUris: ['http://bench.localhost/external/salesforce/oauth2/callback'],
      },
    ],
  });
}

/** The bench integration `bench/emails`, written to a temp file for child processes. */
export function benchConfig(options: {
  prefix: string;
  orgUrl: string;
  cmUrl: string;
  extra?: string;
  /** Extra top-level entries (e.g. `worker: { linger: 2s }`), one per line. */
  top?: string;
  /** Extra `salesforce:` entries, written inside its flow map (e.g. `, transport: pubsub`). */
  salesforce?: string;
  objects: string;
}): { config: BridgeConfig; file: string } {
  const text = `
redis: { url: "${REDIS_URL}", prefix: "${options.prefix}" }
server: { port: 0, publicUrl: "http://bench.localhost", adminToken: Bq7TzW2eRk9LmX4vN8pYc3HsJ6dFa1Gu5QoZ }
secrets: { encryptionKey: h86KJOaWJkivgCv6jg/ncIFHTOL13/sqfZ6vM/t/lpM= }
${options.top ?? ''}integrations:
  - project: bench
    name: emails
    salesforce: { loginUrl: "${options.orgUrl}", clientId: bench-client, clientSecret: bench-secret${options.salesforce ?? ''} }
    target: { url: "${options.cmUrl}", token: bench-cm-token, project: bench, source: emails }
${options.extra ?? ''}    objects:
${options.objects}
`;
  const file = join(mkdtempSync(join(tmpdir(), 'sfcm-bench-')), 'bench.yaml');
  writeFileSync(file, text);
  return { config: loadConfigText(text, file, {}), file };
}

/** Authorise `bench/emails` through the real OAuth flow (the org auto-approves); returns the context. */
export async function authorizeBench(config: BridgeConfig, redis: Redis): Promise<BridgeContext> {
  const context = createContext({ config, logger: pino({ level: 'silent' }), redis });
  await authorizeIntegrations(context, ['bench/emails']);
  return context;
}

/**
 * Authorise integrations (`project/name`) one after another through the real app, as an admin would;
 * their orgs auto-approve. A fresh app every few integrations stays within the per-address limits of
 * the authenticate and callback routes (src/server/rate-limits.ts), as admins at several browsers would.
 */
export async function authorizeIntegrations(context: BridgeContext, integrations: readonly string[]): Promise<void> {
  const perApp = 10;
  for (let first = 0; first < integrations.length; first += perApp) {
    const app = await buildApp(context);
    try {
      for (const integration of integrations.slice(first, first + perApp)) {
        // The admin token as a Bearer header starts the flow; the browser cookie it sets must come back with the callback.
        const start = await app.inject({
          method: 'GET',
          url: `/integrations/${integration}/oauth2/authenticate`,
          headers: { authorization: `Bearer ${context.config.server.adminToken}` },
        });
        if (start.statusCode !== 302) throw new Error(`bench: authenticate ${integration}: ${start.statusCode}`);
        const cookie = start.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
        const callback = new URL(
          String((await fetch(String(start.headers.location), { redirect: 'manual' })).headers.get('location')),
        );
        const done = await app.inject({ method: 'GET', url: callback.pathname + callback.search, headers: { cookie } });
        if (done.statusCode !== 200) throw new Error(`bench: OAuth of ${integration} failed (${done.statusCode})`);
      }
    } finally {
      await app.close();
    }
  }
}

/** Delete every key under the bench's prefix (never anything else). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Close what a bench opened (in order), then delete its keys and drop the connection. */
export async function tearDown(
  redis: Redis,
  prefix: string,
  closables: ReadonlyArray<{ close(): Promise<unknown> }>,
): Promise<void> {
  for (const closable of closables) await closable.close();
  await deleteKeys(redis, prefix);
  redis.disconnect();
}

export const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/**
 * The yardstick: bare BullMQ, one job per event — `addBulk` in chunks of 1000 and a no-op Worker
 * (concurrency 100) draining them; jobs/s from the first add to the last completion.
 */
export async function bareBullmqYardstick(redis: Redis, prefix: string, jobs: number): Promise<number> {
  const name = `yardstick-${randomUUID().slice(0, 8)}`;
  const queue = new Queue(name, { connection: redis, prefix: `${prefix}:bull` });
  const blocking = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  let done = 0;
  const worker = new Worker(name, async () => undefined, {
    connection: blocking,
    prefix: `${prefix}:bull`,
    concurrency: 100,
    removeOnComplete: { count: 0 },
  });
  worker.on('completed', () => done++);
  await worker.waitUntilReady();
  const started = performance.now();
  for (let i = 0; i < jobs; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, jobs - i) }, (_, j) => ({ name: 'event', data: { i: i + j } })),
    );
  }
  await until(() => done >= jobs, 600_000, 'the yardstick worker');
  const perSecond = jobs / ((performance.now() - started) / 1000);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  blocking.disconnect();
  return perSecond;
}

/** A `sf-cm-bridge <role>` child process, its RSS and CPU its own. */
export interface BridgeProcess {
  role: string;
  pid: number;
  /** Throws when the process has exited, naming what the bench was waiting for. */
  alive(what: string): void;
  stop(signal: NodeJS.Signals): Promise<void>;
}

/** Start `sf-cm-bridge <role> --config FILE` with `nodeArgs` (e.g. `--cpu-prof`); logs at warn unless LOG_LEVEL says otherwise. */
export function startBridgeProcess(role: string, configFile: string, nodeArgs: readonly string[] = []): BridgeProcess {
  const child = spawn(process.execPath, [...nodeArgs, BIN, role, '--config', configFile], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`bench: the ${role} process did not start`);
  let exited: number | null | undefined;
  const closed = new Promise<void>((resolve) =>
    child.on('close', (code) => {
      exited = code;
      resolve();
    }),
  );
  return {
    role,
    pid,
    alive(what) {
      if (exited !== undefined)
        throw new Error(`bench: the ${role} process exited (${exited}) while waiting for ${what}`);
    },
    async stop(signal) {
      if (exited === undefined) child.kill(signal);
      await closed;
    },
  };
}

/** Node flags for bench child processes, from an environment variable (space-separated). */
export const nodeArgsFrom = (variable: string): string[] => (process.env[variable] ?? '').split(' ').filter(Boolean);

/**
 * Commit `count` Case creates in transactions of `chunk`, yielding to the event loop between them so
 * the CometD server answers long-polls meanwhile. `onCommit` gets each transaction's record ids and
 * its commit time (this process's clock, which the sandbox CM also uses). Returns seconds taken.
 */
export async function commitCaseCreates(
  org: SimulatedSalesforceOrg,
  options: { count: number; chunk: number; label: string; onCommit?: (ids: string[], at: number) => void },
): Promise<number> {
  const { count, chunk, label } = options;
  const started = performance.now();
  for (let i = 0; i < count; i += chunk) {
    const ids: string[] = [];
    org.store.transaction((tx) => {
      for (let j = i; j < Math.min(count, i + chunk); j++) {
        const record = tx.create('Case', {
          Subject: `Order ${label}-${j} arrived damaged`,
          Description: `Hello,\n\nmy order ${j} arrived damaged.\n\nThanks`,
          Priority: j % 3 === 0 ? 'High' : 'Medium',
        });
        ids.push(String(record.Id));
      }
    });
    options.onCommit?.(ids, Date.now());
    await yieldToLoop();
  }
  return (performance.now() - started) / 1000;
}

/** TCP connections a process holds to `port` (Redis: 6379), from /proc: its socket fds matched against /proc/net/tcp{,6}. */
export function connectionsTo(pid: number, port = 6379): number {
  const sockets = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const target = (() => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })();
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode) sockets.add(inode);
  }
  const remotePort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let count = 0;
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[2]?.endsWith(remotePort) && fields[9] !== undefined && sockets.has(fields[9])) count++;
    }
  }
  return count;
}

/** What a bench must stop or close whatever happens, in the order it started them. */
export type Cleanups = Array<() => Promise<unknown>>;

/** Run `main`; on success and failure alike run `cleanups` in reverse, then delete the prefix's keys. */
export function runBench(main: () => Promise<void>, cleanups: Cleanups, prefix: string): void {
  const cleanUp = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(error));
    const redis = new Redis(REDIS_URL);
    await deleteKeys(redis, prefix);
    redis.disconnect();
  };
  main()
    .then(cleanUp)
    .catch(async (error: unknown) => {
      console.error(error);
      await cleanUp();
      process.exit(1);
    });
}
