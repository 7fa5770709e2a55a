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

/** `redis`: the `redis:` lines other than `prefix`, each indented by 2 spaces. */
export async function startBridgeProcess(redis: string): Promise<BridgeProcess> {
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
    const text = bridgeConfigYaml(org.url, 'sfcm', {
      cmUrl: cm.url,
      cmToken: CM_TOKEN,
      objects: OBJECTS,
      redis,
    }).replace(`publicUrl: ${PUBLIC_URL}`, `publicUrl: ${PUBLIC_URL}\n  host: 127.0.0.1\n  port: ${apiPort}`);
    const configFile = join(dir, 'bridge.yaml');
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
    await eventually(
      () => org.streaming.counters().subscriptions.some((s) => s.channel === '/data/CaseChangeEvent'),
      20_000,
      100,
    ).catch((error: unknown) => {
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
