/**
 * Fault test with real processes: two `sf-cm-bridge worker` processes drain a queue while one is
 * killed with SIGKILL mid-batch and Communications Mining fails, times out and drops connections.
 * The source must converge to exactly the expected comments, and no comment may ever regress.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChangeJob } from '../../src/model/change.ts';
import type { SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import { bridgeConfigYaml, type BridgeHarness } from '../helpers/bridge.ts';
import { startCli, type RunningCli } from '../helpers/cli.ts';
import { INTEGRATION } from '../helpers/oauth.ts';
import { eventually } from '../helpers/redis.ts';
import { startAuthorisedPipeline } from '../helpers/pipeline.ts';

const CM_TOKEN = 'cm-fault-token';
const OBJECTS = `      Case:
        comment:
          subject: Subject
          body: Description`;
const RECORDS = 400;

// Workers never stream, but each process loads the whole config, so both transports' configs are exercised.
describe.each(['cometd', 'pubsub'] as const)('worker processes under faults (%s)', (transport) => {
  let harness: BridgeHarness;
  let cm: SimulatedCommunicationsMining;
  let workers: RunningCli[];
  let configFile: string;

  beforeEach(async () => {
    ({ harness, cm } = await startAuthorisedPipeline({
      objects: OBJECTS,
      cmToken: CM_TOKEN,
      basePath: '/t/reinfer_',
      pubsub: transport === 'pubsub',
    }));
    // Short job locks so a killed worker's work is taken over within seconds.
    const text = `${bridgeConfigYaml(harness.org.url, harness.redis.prefix, {
      cmUrl: cm.url,
      cmToken: CM_TOKEN,
      objects: OBJECTS,
      transport: transport === 'pubsub' ? { kind: 'pubsub', url: harness.org.pubsubUrl } : { kind: 'cometd' },
    })}worker:\n  jobLock: 2s\n  batchSize: 40\n  concurrency: 2\n`;
    configFile = join(mkdtempSync(join(tmpdir(), 'sfcm-faults-')), 'bridge.yaml');
    writeFileSync(configFile, text);
    workers = [];
  });

  afterEach(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await harness.close();
    await cm.close();
  });

  const change = (recordId: string): ChangeJob => ({
    integration: INTEGRATION,
    object: 'Case',
    recordId,
    kind: 'UPDATE',
    origin: 'admin',
    enqueuedAt: Date.now(),
  });
  let round = 0;
  const enqueue = (ids: string[]) =>
    harness.context.queues.get(INTEGRATION)?.enqueue(ids.map(change), () => `r${round++}`);
  const text = (id: string) => cm.control.comment('acme', 'emails', id)?.comment.messages[0]?.body.text;

  it('kill -9 of a worker mid-batch, CM 5xx, slow and dropped requests: nothing lost, nothing regressed', async () => {
    const ids = Array.from({ length: RECORDS }, (_, i) =>
      String(harness.org.store.create('Case', { Subject: `s${i}`, Description: 'v1' }, { silent: true }).Id),
    );
    workers.push(startCli(['worker', '--config', configFile]), startCli(['worker', '--config', configFile]));
    cm.control.latency(40);
    for (let i = 0; i < ids.length; i += 50) await enqueue(ids.slice(i, i + 50));

    // Kill one worker while batches are in flight.
    await eventually(() => cm.control.comments('acme', 'emails').length >= 40, 20_000);
    expect(cm.control.comments('acme', 'emails').length).toBeLessThan(RECORDS);
    workers[0]?.kill('SIGKILL');
    expect(await workers[0]?.exited).toBeNull();

    // CM misbehaves while the survivor carries on: a 503 window, dropped sockets.
    cm.control.failUntilCleared({ status: 503 });
    await eventually(() => (cm.control.counters().requests.sync?.['503'] ?? 0) >= 2, 10_000);
    cm.control.clearFaults();
    cm.control.dropNext(3);

    // Newer versions of some records while all this happens.
    const changed = ids.slice(0, 100);
    for (const id of changed) harness.org.store.update(id, { Description: 'v2' }, { silent: true });
    await enqueue(changed);
    // A restarted worker joins.
    workers.push(startCli(['worker', '--config', configFile]));

    await eventually(() => ids.every((id, i) => text(id) === (i < 100 ? 'v2' : 'v1')), 45_000, 100);
    expect(cm.control.comments('acme', 'emails')).toHaveLength(RECORDS);
    for (const id of changed) {
      const versions = cm.control
        .history({ commentId: id })
        .flatMap((e) => (e.kind === 'upsert' ? [e.comment.messages[0]?.body.text] : []));
      expect(versions.lastIndexOf('v1')).toBeLessThan(versions.indexOf('v2'));
    }
  }, 90_000);

  it('SIGTERM mid-batch: the worker finishes its batch, exits 0, and leaves no job locked', async () => {
    const ids = Array.from({ length: 120 }, (_, i) =>
      String(harness.org.store.create('Case', { Subject: `t${i}`, Description: 'graceful' }, { silent: true }).Id),
    );
    const worker = startCli(['worker', '--config', configFile]);
    workers.push(worker);
    cm.control.latency(300);
    await enqueue(ids);
    await eventually(() => cm.control.counters().inFlight > 0, 20_000, 20);
    worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    // What it had taken was finished or released, not left locked for the stalled-job check.
    const queue = harness.context.queues.get(INTEGRATION);
    expect(await queue?.queue.getActiveCount()).toBe(0);
    cm.control.latency(0);
    workers.push(startCli(['worker', '--config', configFile]));
    await eventually(() => ids.every((id) => text(id) === 'graceful'), 30_000, 100);
  }, 60_000);
});
