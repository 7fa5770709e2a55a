/**
 * SIGTERM ends every role (`all`: api + subscriber + worker, as real processes) within 5 s, with exit
 * code 0, in every state a worker can wait in: paused for re-authorisation, paused because the
 * target refuses the bridge, and while Communications Mining is down, each with a backlog.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChangeJob } from '../../src/model/change.ts';
import { TargetPauseStore } from '../../src/store/target-pause.ts';
import { bridgeConfigYaml, PUBLIC_URL } from '../helpers/bridge.ts';
import { streamOpen } from '../helpers/bridge-process.ts';
import { startCli, type RunningCli } from '../helpers/cli.ts';
import { INTEGRATION } from '../helpers/oauth.ts';
import { startAuthorisedPipeline, type AuthorisedPipeline } from '../helpers/pipeline.ts';
import { freePort } from '../helpers/ports.ts';
import { eventually } from '../helpers/redis.ts';

const CM_TOKEN = 'cm-shutdown-token';
const OBJECTS = `      Case:
        comment: { subject: Subject, body: Description }`;
const STOP_WITHIN_MS = 5_000;

interface Running {
  pipeline: AuthorisedPipeline;
  bridge: RunningCli;
}

/** What puts the running bridge into the state under test (before the backlog is queued), and how to tell it is there. */
interface Scenario {
  enter(running: Running): void;
  reached(running: Running): Promise<unknown>;
}

const scenarios: Array<[string, Scenario]> = [
  [
    'paused for re-authorisation',
    {
      enter: ({ pipeline: { harness } }) => void harness.org.oauth.revokeRefreshTokens({ includeAccessTokens: true }),
      // Paused: the backlog waits in the queue, no worker loop takes it.
      reached: ({ pipeline: { harness } }) =>
        eventually(
          async () =>
            (await harness.context.tokens.store.status(INTEGRATION)).state === 'needs_reauth' &&
            ((await harness.context.queues.get(INTEGRATION)?.queue.getWaitingCount()) ?? 0) > 0,
          15_000,
        ),
    },
  ],
  [
    'paused because the target refuses the bridge',
    {
      enter: ({ pipeline: { cm } }) => cm.control.failUntilCleared({ status: 401 }),
      reached: ({ pipeline: { harness } }) =>
        eventually(() => new TargetPauseStore(harness.redis.redis, harness.redis.prefix).read(INTEGRATION), 15_000),
    },
  ],
  [
    'while Communications Mining is down (a batch in hand, backing off)',
    {
      enter: ({ pipeline: { cm } }) => cm.control.failUntilCleared({ status: 503 }),
      reached: ({ pipeline: { cm } }) =>
        eventually(() => (cm.control.counters().requests.sync?.['503'] ?? 0) >= 1, 15_000),
    },
  ],
];

describe.each(['cometd', 'pubsub'] as const)('SIGTERM ends every role within 5 s (%s)', (transport) => {
  let running: Running | undefined;

  afterEach(async () => {
    running?.bridge.kill('SIGKILL');
    await running?.bridge.exited;
    await running?.pipeline.close();
    running = undefined;
  });

  it.each(scenarios)(
    '%s, with a backlog',
    async (_name, scenario) => {
      const pipeline = await startAuthorisedPipeline({
        objects: OBJECTS,
        cmToken: CM_TOKEN,
        pubsub: transport === 'pubsub',
      });
      const { harness } = pipeline;
      const port = await freePort();
      const yaml = bridgeConfigYaml(harness.org.url, harness.redis.prefix, {
        cmUrl: pipeline.cm.url,
        cmToken: CM_TOKEN,
        objects: OBJECTS,
        transport: transport === 'pubsub' ? { kind: 'pubsub', url: harness.org.pubsubUrl } : { kind: 'cometd' },
      }).replace(`publicUrl: ${PUBLIC_URL}`, `publicUrl: ${PUBLIC_URL}\n  host: 127.0.0.1\n  port: ${port}`);
      const configFile = join(mkdtempSync(join(tmpdir(), 'sfcm-shutdown-')), 'bridge.yaml');
      writeFileSync(configFile, yaml);

      const bridge = startCli(['all', '--config', configFile], { LOG_LEVEL: 'debug' });
      running = { pipeline, bridge };
      await eventually(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok,
        20_000,
        100,
      );
      // The subscriber holds its stream open (a long-poll, or a gRPC Subscribe call) when SIGTERM comes.
      await eventually(() => streamOpen(harness.org, transport), 20_000, 100);
      // A backlog the worker cannot finish in the state under test (created silently once the
      // subscriber streams, so no event or start-up catch-up takes it first).
      const ids = Array.from({ length: 300 }, (_, i) =>
        String(harness.org.store.create('Case', { Subject: `b${i}`, Description: 'backlog' }, { silent: true }).Id),
      );
      const changes = ids.map((recordId): ChangeJob => ({
        integration: INTEGRATION,
        object: 'Case',
        recordId,
        kind: 'UPDATE',
        origin: 'admin',
        enqueuedAt: Date.now(),
      }));

      scenario.enter(running);
      await harness.context.queues.get(INTEGRATION)?.enqueue(changes, (change) => change.recordId);
      await scenario.reached(running);

      const started = performance.now();
      bridge.kill('SIGTERM');
      const code = await bridge.exited;
      const tookMs = performance.now() - started;
      expect(
        { code, tookMs: tookMs <= STOP_WITHIN_MS ? 'in time' : `${Math.round(tookMs)} ms` },
        bridge.output().slice(-3000),
      ).toEqual({ code: 0, tookMs: 'in time' });
      // Nothing was left locked for the stalled-job check, nothing was dropped.
      const queue = harness.context.queues.get(INTEGRATION);
      expect(await queue?.queue.getActiveCount()).toBe(0);
      expect(await harness.context.deadLetters.count(INTEGRATION)).toBe(0);
    },
    60_000,
  );
});
