/**
 * The bridge as ops run it, on a Redis of the test's choosing: the sandbox org and Communications
 * Mining, the integration authorised through the real app, then `sf-cm-bridge all` as a child process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startCommunicationsMining, type SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import { startSalesforceOrg, type SimulatedSalesforceOrg } from '@sf-cm-bridge/sandbox/org';
import { loadConfigText, type BridgeConfig } from '../../src/config/index.ts';
import { createContext } from '../../src/roles/context.ts';
import { createRedis } from '../../src/store/redis.ts';
import { bridgeConfigYaml, CLIENT_ID, CLIENT_SECRET, PUBLIC_URL } from './bridge.ts';
import { startCli, type RunningCli } from './cli.ts';
import { authorise } from './oauth.ts';
import { freePort } from './ports.ts';
import { eventually } from './redis.ts';

const CM_TOKEN = 'cm-bridge-process-token';
const OBJECTS = `      Case:
        comment:
          subject: Subject
          body: Description`;

/** Whether the bridge holds a subscription to `channel` open on the org over `transport`. */
export function streamOpen(
  org: SimulatedSalesforceOrg,
  transport: 'cometd' | 'pubsub',
  channel = '/data/CaseChangeEvent',
): boolean {
  return transport === 'cometd'
    ? org.streaming.counters().subscriptions.some((s) => s.channel === channel)
    : (org.pubsub.counters().openStreams[channel] ?? 0) > 0;
}

export interface BridgeProcess {
  org: SimulatedSalesforceOrg;
  cm: SimulatedCommunicationsMining;
  config: BridgeConfig;
  bridge: RunningCli;
  /** The api role's base URL. */
  url: string;
  /** The body text of the comment of a Case, if the source holds one. */
  commentText: (id: string) => string | undefined;
  close(): Promise<void>;
}

/**
 * `redis`: the `redis:` lines other than `prefix`, each indented by 2 spaces; `prefix`: the key
 * prefix (a test on the shared Redis passes its own); `transport`: how the bridge streams the org's changes.
 */
export async function startBridgeProcess(
  redis: string,
  prefix = 'sfcm',
  transport: 'cometd' | 'pubsub' = 'cometd',
): Promise<BridgeProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'sfcm-bridge-'));
  const cm = await startCommunicationsMining({
    basePath: '/t/reinfer_',
    tokens: [CM_TOKEN],
    sources: [{ project: 'acme', name: 'emails' }],
  });
  const org = await startSalesforceOrg({
    autoApprove: true,
    cometdTimeoutSeconds: 2,
    connectedApps: [
      {
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        redirectUris: [`${PUBLIC_URL}/external/salesforce/oauth2/callback`],
      },
    ],
  });
  let bridge: RunningCli | undefined;
  const close = async () => {
    bridge?.kill('SIGKILL');
    await bridge?.exited;
    await org.close();
    await cm.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const apiPort = await freePort();
    const base = bridgeConfigYaml(org.url, prefix, {
      cmUrl: cm.url,
      cmToken: CM_TOKEN,
      objects: OBJECTS,
      redis,
      transport: transport === 'pubsub' ? { kind: 'pubsub', url: org.pubsubUrl } : { kind: 'cometd' },
    }).replace(`publicUrl: ${PUBLIC_URL}`, `publicUrl: ${PUBLIC_URL}\n  host: 127.0.0.1\n  port: ${apiPort}`);
    const configFile = join(dir, 'bridge.yaml');
    // A batch that fails while Redis is away cannot release its record locks; they lapse after
    // worker.jobLock (60 s by default), shortened here so the faults converge within the test.
    const text = `${base}worker:\n  jobLock: 5s\n`;
    writeFileSync(configFile, text);
    const config = loadConfigText(text, configFile, {});

    // Authorise through the real app on the same topology, as the admin would through the api role.
    const connection = createRedis(config.redis);
    const context = createContext({ config, logger: pino({ level: 'silent' }), redis: connection });
    try {
      await authorise(context);
    } finally {
      await context.close();
      connection.disconnect();
    }

    const started = startCli(['all', '--config', configFile], { LOG_LEVEL: 'warn' });
    bridge = started;
    await eventually(() => streamOpen(org, transport), 20_000, 100).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${started.output()}`);
    });
    return {
      org,
      cm,
      config,
      bridge: started,
      url: `http://127.0.0.1:${apiPort}`,
      commentText: (id) => cm.control.comment('acme', 'emails', id)?.comment.messages[0]?.body.text,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Changes before, during and after `fault`, then waits until the source holds every change: 20 Cases
 * synced first, 60 created (and 5 of the first updated every 10) during the fault, 20 after it.
 */
export async function burstThrough(running: BridgeProcess, fault: () => Promise<void>): Promise<void> {
  const { org, commentText } = running;
  const create = (label: string) => String(org.store.create('Case', { Subject: label, Description: label }).Id);
  const before = Array.from({ length: 20 }, (_, i) => create(`before ${i}`));
  await eventually(() => before.every((id) => commentText(id) !== undefined), 20_000, 100);

  const during: string[] = [];
  const burst = (async () => {
    for (let i = 0; i < 60; i++) {
      during.push(create(`during ${i}`));
      if (i % 10 === 0) for (const id of before.slice(0, 5)) org.store.update(id, { Description: `updated ${i}` });
      // Paced, so the fault happens while the burst is still coming.
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
  })();
  await fault();
  await burst;

  const after = Array.from({ length: 20 }, (_, i) => create(`after ${i}`));
  await eventually(
    () =>
      [...during, ...after].every((id) => commentText(id) !== undefined) &&
      before.slice(0, 5).every((id) => commentText(id) === 'updated 50'),
    45_000,
    200,
  ).catch((error: unknown) => {
    const missing = [...during, ...after].filter((id) => commentText(id) === undefined);
    const stale = before.slice(0, 5).filter((id) => commentText(id) !== 'updated 50');
    throw new Error(
      `${String(error)}: missing ${JSON.stringify(missing)}, stale ${JSON.stringify(stale.map(commentText))}\n${running.bridge.output()}`,
    );
  });
}
