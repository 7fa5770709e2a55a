/**
 * `sfcm_changes_waiting` counts changes, not BullMQ jobs (a job carries a batch of changes), and
 * stays exact when BullMQ ignores a second add of the same job id: the workers' autoscaler reads it
 * (docs/operations.md). Real Redis, a real BullMQ worker taking the jobs, /metrics over real HTTP.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChangeJob } from '../../src/model/change.ts';
import { CHANGE_JOB_NAME, changeBatchId, changeJobId } from '../../src/model/change.ts';
import type { ChangeQueue } from '../../src/queue/change-queue.ts';
import { buildApp, type BridgeApp } from '../../src/server/app.ts';
import { bridgeKeys } from '../../src/store/keys.ts';
import { startBridgeHarness, type BridgeHarness } from '../helpers/bridge.ts';
import { eventually } from '../helpers/redis.ts';

const INTEGRATION = 'acme/emails';
const SERIES = `sfcm_changes_waiting{integration="${INTEGRATION}"}`;

function cdcChanges(count: number, firstReplayId: number): ChangeJob[] {
  return Array.from({ length: count }, (_, i) => ({
    integration: INTEGRATION,
    object: 'EmailMessage',
    recordId: `02s${String(firstReplayId + i).padStart(15, '0')}`,
    kind: 'UPDATE',
    origin: 'cdc',
    channel: '/data/EmailMessageChangeEvent',
    replayId: firstReplayId + i,
    enqueuedAt: Date.now(),
  }));
}

describe('sfcm_changes_waiting', () => {
  let h: BridgeHarness;
  let app: BridgeApp;
  let url: string;
  let queue: ChangeQueue;
  let worker: Worker | undefined;
  let workerConnection: Redis | undefined;

  beforeEach(async () => {
    h = await startBridgeHarness();
    app = await buildApp(h.context);
    url = `${await app.listen({ host: '127.0.0.1', port: 0 })}/metrics`;
    const found = h.context.queues.get(INTEGRATION);
    if (!found) throw new Error(`no change queue for ${INTEGRATION}`);
    queue = found;
  });

  afterEach(async () => {
    await worker?.close();
    workerConnection?.disconnect();
    worker = undefined;
    workerConnection = undefined;
    await app.close();
    await h.close();
  });

  /** One scrape over HTTP: the gauge's value and the number of waiting jobs beside it. */
  async function scrape(): Promise<{ changes: number; jobs: number }> {
    const response = await fetch(url);
    expect(response.status).toBe(200);
    const text = await response.text();
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      if (line === undefined) throw new Error(`${series} missing from the scrape`);
      return Number(line.slice(series.length + 1));
    };
    return {
      changes: value(SERIES),
      jobs: value(`sfcm_queue_jobs{integration="${INTEGRATION}",state="waiting"}`),
    };
  }

  it('counts the changes in waiting jobs, ignores duplicate adds, and falls to 0 once a worker took them', async () => {
    expect(await scrape()).toEqual({ changes: 0, jobs: 0 });

    // 600 changes → jobs of 250, 250 and 100.
    const burst = cdcChanges(600, 1_000);
    await queue.enqueue(burst);
    expect(await scrape()).toEqual({ changes: 600, jobs: 3 });

    // A redelivery (same events, so the same job ids) is ignored by BullMQ, and by the gauge.
    await queue.enqueue(burst);
    await queue.enqueue(burst.slice(0, 250));
    expect(await scrape()).toEqual({ changes: 600, jobs: 3 });

    // A paused queue keeps its jobs in another list: still waiting.
    await queue.queue.pause();
    await queue.enqueue(cdcChanges(7, 5_000));
    expect((await scrape()).changes).toBe(607);
    await queue.queue.resume();

    // A prioritized job, and a job whose id carries no count (its data is read instead).
    const prioritized = cdcChanges(3, 6_000);
    await queue.queue.add(
      CHANGE_JOB_NAME,
      { changes: prioritized },
      { jobId: changeBatchId(prioritized.map((change) => changeJobId(change))), priority: 1 },
    );
    await queue.queue.add(CHANGE_JOB_NAME, { changes: cdcChanges(5, 7_000) });
    expect((await scrape()).changes).toBe(615);

    // A worker takes every job: nothing waits any more.
    const keys = bridgeKeys(h.config.redis.prefix);
    let taken = 0;
    // A blocking consumer's own connection, as BullMQ requires (no per-request retry limit).
    workerConnection = new Redis(h.redis.url, { maxRetriesPerRequest: null });
    worker = new Worker(
      keys.changeQueueName(INTEGRATION),
      async () => {
        taken += 1;
      },
      { connection: workerConnection, prefix: keys.queuePrefix() },
    );
    await eventually(() => taken === 6, 30_000);
    await eventually(async () => (await scrape()).changes === 0, 30_000);
    expect(await scrape()).toEqual({ changes: 0, jobs: 0 });
  });
});
