/** What the benchmarks share: a sandbox org with the bench Connected App, its config, the OAuth step, clean-up. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { loadConfigText, type BridgeConfig } from '../src/config/index.ts';
import { createContext, type BridgeContext } from '../src/roles/context.ts';
import { startSalesforceOrg, type SimulatedSalesforceOrg } from '@sf-cm-bridge/sandbox/org';
import { buildApp } from '../src/server/app.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const BIN = new URL('../bin/sf-cm-bridge.js', import.meta.url).pathname;
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
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
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
  /** Extra `salesforce:` entries, written inside its flow map (e.g. `, transport: pubsub`). */
  salesforce?: string;
  objects: string;
}): { config: BridgeConfig; file: string } {
  const text = `
redis: { url: "${REDIS_URL}", prefix: "${options.prefix}" }
server: { publicUrl: "http://bench.localhost", adminToken: Bq7TzW2eRk9LmX4vN8pYc3HsJ6dFa1Gu5QoZ }
secrets: { encryptionKey: h86KJOaWJkivgCv6jg/ncIFHTOL13/sqfZ6vM/t/lpM= }
integrations:
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
  const app = await buildApp(context);
  // The admin token as a Bearer header starts the flow; the browser cookie it sets must come back with the callback.
  const start = await app.inject({
    method: 'GET',
    url: '/integrations/bench/emails/oauth2/authenticate',
    headers: { authorization: `Bearer ${config.server.adminToken}` },
  });
  const cookie = start.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const callback = new URL(
    String((await fetch(String(start.headers.location), { redirect: 'manual' })).headers.get('location')),
  );
  if (
    (await app.inject({ method: 'GET', url: callback.pathname + callback.search, headers: { cookie } })).statusCode !==
    200
  )
    throw new Error('bench: OAuth failed');
  await app.close();
  return context;
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
