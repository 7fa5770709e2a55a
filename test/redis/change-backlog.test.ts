/** The backlog in changes (not BullMQ jobs) and the age of the oldest unprocessed change. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChangeJob } from '../../src/model/change.ts';
import { oldestUnprocessedChangeAt, unprocessedChangeCount } from '../../src/queue/change-backlog.ts';
import { ChangeQueue, CHANGES_PER_JOB } from '../../src/queue/change-queue.ts';
import { testRedis, type TestRedis } from '../helpers/redis.ts';

const change = (i: number, at: number, commit?: number): ChangeJob => ({
  integration: 'acme/emails',
  object: 'Case',
  recordId: `5005g00000Ab${String(i).padStart(3, '0')}AAA`,
  kind: 'UPDATE',
  origin: 'cdc',
  channel: '/data/CaseChangeEvent',
  replayId: i,
  enqueuedAt: at,
  ...(commit === undefined ? {} : { commitTimestamp: commit }),
});

describe('change backlog', () => {
  let redis: TestRedis;
  let queue: ChangeQueue;
  beforeEach(() => {
    redis = testRedis();
    queue = new ChangeQueue(redis.redis, redis.prefix, 'acme/emails');
  });
  afterEach(async () => {
    await queue.close();
    await redis.cleanup();
  });

  it('counts changes across waiting and delayed jobs, and finds the oldest commit among them', async () => {
    const now = Date.now();
    expect(await unprocessedChangeCount(queue)).toBe(0);
    expect(await oldestUnprocessedChangeAt(queue)).toBeUndefined();
    // 600 changes: three jobs (250, 250, 100); the oldest commit is in the first job.
    await queue.enqueue(Array.from({ length: 600 }, (_, i) => change(i, now, now - 60_000 + i)));
    // Delayed (a busy record's retry): still unprocessed; queued without a commit time.
    await queue.enqueue([change(900, now - 120_000)], undefined, 60_000);
    expect(await queue.backlog()).toBe(Math.ceil(600 / CHANGES_PER_JOB) + 1);
    expect(await unprocessedChangeCount(queue)).toBe(601);
    expect(await oldestUnprocessedChangeAt(queue)).toBe(now - 120_000);
  });
});
