/**
 * Fault test: the bridge (`sf-cm-bridge all`, a real process) while Salesforce expires every access
 * token and forgets every CometD client again and again, and drops connections. Changes made
 * throughout must all arrive, without a handshake or refresh storm.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import { bridgeConfigYaml, type BridgeHarness } from '../helpers/bridge.ts';
import { streamOpen } from '../helpers/bridge-process.ts';
import { startCli, type RunningCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { eventually } from '../helpers/redis.ts';
import { startAuthorisedPipeline } from '../helpers/pipeline.ts';
import { seededRandom } from '../helpers/random.ts';

const CM_TOKEN = 'cm-storm-token';
const OBJECTS = `      Case:
        comment:
          subject: Subject
          body: Description`;

describe.each(['cometd', 'pubsub'] as const)('Salesforce token-expiry and unknown-client storms (%s)', (transport) => {
  let harness: BridgeHarness;
  let cm: SimulatedCommunicationsMining;
  let bridge: RunningCli | undefined;

  beforeEach(async () => {
    ({ harness, cm } = await startAuthorisedPipeline({
      objects: OBJECTS,
      cmToken: CM_TOKEN,
      basePath: '/t/reinfer_',
      org: { cometdTimeoutSeconds: 2 },
      pubsub: transport === 'pubsub',
    }));
  });

  /** Attempts to open the stream: CometD handshakes, or Pub/Sub Subscribe calls. */
  const streamAttempts = () =>
    transport === 'cometd' ? harness.org.streaming.counters().handshakes : harness.org.pubsub.counters().subscribeCalls;
  /**
   * The transport's way of losing the session or the connection. Pub/Sub has no client ids to forget:
   * its calls end with UNAVAILABLE (the documented maintenance and connection-loss status) instead.
   */
  const forgetClient = () =>
    transport === 'cometd' ? harness.org.streaming.injectUnknownClient() : harness.org.pubsub.endStreams();
  const dropConnections = () =>
    transport === 'cometd' ? harness.org.streaming.dropConnections() : harness.org.pubsub.endStreams();

  afterEach(async () => {
    bridge?.kill('SIGKILL');
    await bridge?.exited;
    await harness.close();
    await cm.close();
  });

  it('changes made during repeated token expiry, unknown-client and dropped-connection faults all arrive', async () => {
    const apiPort = await freePort();
    const text = bridgeConfigYaml(harness.org.url, harness.redis.prefix, {
      cmUrl: cm.url,
      cmToken: CM_TOKEN,
      objects: OBJECTS,
      transport: transport === 'pubsub' ? { kind: 'pubsub', url: harness.org.pubsubUrl } : { kind: 'cometd' },
    }).replace(
      'publicUrl: http://127.0.0.1:8080',
      `publicUrl: http://127.0.0.1:8080\n  host: 127.0.0.1\n  port: ${apiPort}`,
    );
    const configFile = join(mkdtempSync(join(tmpdir(), 'sfcm-storm-')), 'bridge.yaml');
    writeFileSync(configFile, text);
    bridge = startCli(['all', '--config', configFile], { LOG_LEVEL: 'warn' });
    const org = harness.org;
    await eventually(() => streamOpen(org, transport), 20_000, 100);
    const attemptsAtStart = streamAttempts();

    const ids: string[] = [];
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 10; i++)
        ids.push(String(org.store.create('Case', { Subject: `r${round} #${i}`, Description: `round ${round}` }).Id));
      if (round % 3 === 0) org.oauth.expireAccessTokens();
      if (round % 3 === 1) forgetClient();
      if (round % 3 === 2) dropConnections();
      await new Promise((resolve) => setTimeout(resolve, 300));
    }

    const text_ = (id: string) => cm.control.comment('acme', 'emails', id)?.comment.messages[0]?.body.text;
    await eventually(() => ids.every((id) => text_(id) !== undefined), 60_000, 200);
    expect(cm.control.comments('acme', 'emails')).toHaveLength(ids.length);
    for (const id of ids)
      expect(cm.control.history({ commentId: id }).filter((e) => e.kind === 'upsert')).toHaveLength(1);
    // Each fault costs a handful of handshakes (or Subscribe calls), not a storm.
    expect(streamAttempts() - attemptsAtStart).toBeLessThan(30);
    // One refresh per expiry (shared across roles and processes), not one per caller.
    expect(org.counters().oauth.grants.refresh_token ?? 0).toBeLessThanOrEqual(4);
  }, 120_000);

  it('kill -9 of the whole bridge process at random points while changes stream: restarts converge, nothing regresses', async () => {
    const apiPort = await freePort();
    const text = bridgeConfigYaml(harness.org.url, harness.redis.prefix, {
      cmUrl: cm.url,
      cmToken: CM_TOKEN,
      objects: OBJECTS,
      transport: transport === 'pubsub' ? { kind: 'pubsub', url: harness.org.pubsubUrl } : { kind: 'cometd' },
    }).replace(
      'publicUrl: http://127.0.0.1:8080',
      `publicUrl: http://127.0.0.1:8080\n  host: 127.0.0.1\n  port: ${apiPort}`,
    );
    const configFile = join(mkdtempSync(join(tmpdir(), 'sfcm-kill-')), 'bridge.yaml');
    writeFileSync(configFile, `${text}worker:\n  jobLock: 2s\n`);
    const org = harness.org;
    const ids = Array.from({ length: 40 }, (_, i) =>
      String(org.store.create('Case', { Subject: `k${i}`, Description: 'v0' }, { silent: true }).Id),
    );

    const random = seededRandom();
    for (let round = 1; round <= 3; round++) {
      const attempts = streamAttempts();
      bridge = startCli(['all', '--config', configFile], { LOG_LEVEL: 'warn' });
      // This process's own stream (a Pub/Sub call of the killed one may not have been noticed ending yet).
      await eventually(
        () =>
          transport === 'cometd'
            ? org.streaming.counters().activeClients > 0
            : streamAttempts() > attempts && streamOpen(org, transport),
        20_000,
        50,
      );
      for (const id of ids) org.store.update(id, { Description: `v${round}` });
      // Somewhere in the middle of this round's stream.
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 400)));
      bridge.kill('SIGKILL');
      await bridge.exited;
    }
    bridge = startCli(['all', '--config', configFile], { LOG_LEVEL: 'warn' });
    const body = (id: string) => cm.control.comment('acme', 'emails', id)?.comment.messages[0]?.body.text;
    await eventually(() => ids.every((id) => body(id) === 'v3'), 60_000, 200);
    for (const id of ids) {
      const versions = cm.control
        .history({ commentId: id })
        .flatMap((e) => (e.kind === 'upsert' ? [Number(e.comment.messages[0]?.body.text.slice(1))] : []));
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
    }
  }, 120_000);
});
