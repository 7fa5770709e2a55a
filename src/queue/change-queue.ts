/**
 * The producer side of an integration's change queue (BullMQ). Jobs are added in bulk: one Redis
 * round trip per chunk, whatever the size of an event burst.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { bridgeKeys } from './keys.ts';
import { CHANGE_JOB_NAME, changeJobId, type ChangeJob } from './change-job.ts';

/** Jobs per addBulk call: big enough to amortise the round trip, small enough for one Lua burst. */
const BULK_CHUNK = 500;

export const CHANGE_JOB_OPTIONS = {
  attempts: 12,
  backoff: { type: 'exponential', delay: 1_000 },
  // Completed ids are kept an hour so a redelivered event (same job id) is recognised and ignored.
  removeOnComplete: { age: 3_600, count: 50_000 },
  removeOnFail: { age: 7 * 86_400 },
} as const;

export class ChangeQueue {
  readonly queue: Queue<ChangeJob>;

  constructor(
    connection: Redis,
    prefix: string,
    readonly integration: string,
  ) {
    const keys = bridgeKeys(prefix);
    this.queue = new Queue<ChangeJob>(keys.changeQueueName(integration), {
      connection,
      prefix: keys.queuePrefix(),
      defaultJobOptions: CHANGE_JOB_OPTIONS,
    });
  }

  /**
   * Add change jobs. Returns once Redis has them all (the caller may then checkpoint).
   * `discriminator` distinguishes non-CDC jobs of one record (e.g. its SystemModstamp).
   */
  async enqueue(jobs: readonly ChangeJob[], discriminator?: (job: ChangeJob) => string | number, delayMs?: number): Promise<void> {
    for (let start = 0; start < jobs.length; start += BULK_CHUNK) {
      const chunk = jobs.slice(start, start + BULK_CHUNK);
      await this.queue.addBulk(
        chunk.map((job) => ({
          name: CHANGE_JOB_NAME,
          data: job,
          opts: { jobId: changeJobId(job, discriminator?.(job)), ...(delayMs ? { delay: delayMs } : {}) },
        })),
      );
    }
  }

  /** Changes not yet processed: waiting, delayed (retries) and in progress. */
  async backlog(): Promise<number> {
    const counts = await this.queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
