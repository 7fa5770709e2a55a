/**
 * Fault test: the bridge (`sf-cm-bridge all`, a real process) runs on its own redis-server with AOF;
 * Redis is killed (SIGKILL) and restarted from its append-only file while changes keep coming.
 * Tokens, replay positions and queued changes survive; the source converges with nothing lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/index.ts';
import { createContext } from '../../src/roles/context.ts';
import { startCommunicationsMining, type SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import { startSalesforceOrg, type SimulatedSalesforceOrg } from '@sf-cm-bridge/sandbox/org';
import { bridgeConfigYaml, CLIENT_ID, CLIENT_SECRET, PUBLIC_URL } from '../helpers/bridge.ts';
import { startCli, type RunningCli } from '../helpers/cli.ts';
import { authorise } from '../helpers/oauth.ts';
import { freePort } from '../helpers/ports.ts';
import { eventually } from '../helpers/redis.ts';

const CM_TOKEN = 'cm-redis-fault-token';
const OBJECTS = `      Case:
        comment:
          subject: Subject
          body: Description`;

/** A redis-server of the test's own, persisting every write to its AOF. */
function startRedis(port: number, dir: string): ChildProcess {
  return spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--dir',
      dir,
    ],
    {
      stdio: 'ignore',
    },
  );
}

async function redisAnswers(port: number): Promise<boolean> {
  const probe = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping(); // 'PONG', or a rejection (e.g. LOADING while the AOF replays)
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

describe('Redis restart with AOF', () => {
  let redisProcess: ChildProcess | undefined;
  let bridge: RunningCli | undefined;
  let org: SimulatedSalesforceOrg | undefined;
  let cm: SimulatedCommunicationsMining | undefined;

  afterEach(async () => {
    bridge?.kill('SIGKILL');
    await bridge?.exited;
    redisProcess?.kill('SIGKILL');
    await org?.close();
    await cm?.close();
  });

  it('kill -9 of Redis mid-stream: after its restart from the AOF the source converges, nothing lost', async () => {
    const redisPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'sfcm-aof-'));
    redisProcess = startRedis(redisPort, dir);
    await eventually(() => redisAnswers(redisPort), 10_000, 50);

    cm = await startCommunicationsMining({
      basePath: '/t/reinfer_',
      tokens: [CM_TOKEN],
      sources: [{ project: 'acme', name: 'emails' }],
    });
    org = await startSalesforceOrg({
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
    const apiPort = await freePort();
    const text = bridgeConfigYaml(org.url, 'sfcm', { cmUrl: cm.url, cmToken: CM_TOKEN, objects: OBJECTS })
      .replace('url: redis://127.0.0.1:6379', `url: redis://127.0.0.1:${redisPort}`)
      .replace(`publicUrl: ${PUBLIC_URL}`, `publicUrl: ${PUBLIC_URL}\n  host: 127.0.0.1\n  port: ${apiPort}`);
    const configFile = join(dir, 'bridge.yaml');
    writeFileSync(configFile, text);

    // Authorise into the test's Redis, as the admin would through the api role.
    const connection = new Redis({ port: redisPort, host: '127.0.0.1' });
    const context = createContext({
      config: loadConfigText(text, configFile, {}),
      logger: pino({ level: 'silent' }),
      redis: connection,
    });
    await authorise(context);
    await context.close();
    connection.disconnect();

    bridge = startCli(['all', '--config', configFile], { LOG_LEVEL: 'warn' });
    await eventually(
      () => org?.streaming.counters().subscriptions.some((s) => s.channel === '/data/CaseChangeEvent'),
      20_000,
      100,
    );

    const store = org.store;
    const before = Array.from({ length: 30 }, (_, i) =>
      String(store.create('Case', { Subject: `before ${i}`, Description: 'before' }).Id),
    );
    await eventually(() => before.every((id) => cm?.control.comment('acme', 'emails', id)), 20_000, 100);

    redisProcess.kill('SIGKILL');
    await eventually(async () => !(await redisAnswers(redisPort)), 5_000, 50);
    // Changes while Redis is down: the subscriber holds them (its position is not moved) or replays them.
    const during = Array.from({ length: 30 }, (_, i) =>
      String(store.create('Case', { Subject: `during ${i}`, Description: 'during' }).Id),
    );
    for (const id of before.slice(0, 10)) store.update(id, { Description: 'updated during the outage' });

    redisProcess = startRedis(redisPort, dir);
    await eventually(() => redisAnswers(redisPort), 10_000, 50);
    const after = Array.from({ length: 30 }, (_, i) =>
      String(store.create('Case', { Subject: `after ${i}`, Description: 'after' }).Id),
    );

    const text_ = (id: string) => cm?.control.comment('acme', 'emails', id)?.comment.messages[0]?.body.text;
    await eventually(
      () =>
        [...during, ...after].every((id) => text_(id) !== undefined) &&
        before.slice(0, 10).every((id) => text_(id) === 'updated during the outage'),
      60_000,
      200,
    );
    expect(cm.control.comments('acme', 'emails')).toHaveLength(90);
  }, 120_000);
});
