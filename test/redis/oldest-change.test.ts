/** The age of the oldest unprocessed change: the status page's lag. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChangeJob } from '../../src/model/change.ts';
import { oldestUnprocessedChangeAt } from '../../src/queue/oldest-change.ts';
import { ChangeQueue } from '../../src/queue/change-queue.ts';
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

describe('oldest unprocessed change', () => {
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

  it('is the oldest commit (or queue time) among the oldest jobs of each unprocessed state, delayed ones too', async () => {
    const now = Date.now();
    expect(await oldestUnprocessedChangeAt(queue)).toBeUndefined();
    // 600 changes: three jobs (250, 250, 100); the oldest commit is in the first job.
    await queue.enqueue(Array.from({ length: 600 }, (_, i) => change(i, now, now - 60_000 + i)));
    // Delayed (a busy record's retry): still unprocessed; queued without a commit time.
    await queue.enqueue([change(900, now - 120_000)], undefined, 60_000);
    expect(await queue.changesWaiting()).toBe(600);
    expect(await oldestUnprocessedChangeAt(queue)).toBe(now - 120_000);
  });
});
