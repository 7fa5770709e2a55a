/**
 * The producer side of an integration's change queue (BullMQ). Jobs are added in bulk: one Redis
 * round trip per chunk, whatever the size of an event burst.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { bridgeKeys } from './keys.ts';
import { CHANGE_JOB_NAME, changeBatchId, changeJobId, type ChangeBatch, type ChangeJob } from './change-job.ts';

/** Changes per BullMQ job: one Redis write and one job lock for this many changes. */
export const CHANGES_PER_JOB = 250;

export const CHANGE_JOB_OPTIONS = {
  attempts: 12,
  backoff: { type: 'exponential', delay: 1_000 },
  // Completed ids are kept an hour so a redelivered event (same job id) is recognised and ignored.
  removeOnComplete: { age: 3_600, count: 50_000 },
  removeOnFail: { age: 7 * 86_400 },
} as const;

export class ChangeQueue {
  readonly queue: Queue<ChangeBatch>;

  constructor(
    connection: Redis,
    prefix: string,
    readonly integration: string,
  ) {
    const keys = bridgeKeys(prefix);
    this.queue = new Queue<ChangeBatch>(keys.changeQueueName(integration), {
      connection,
      prefix: keys.queuePrefix(),
      defaultJobOptions: CHANGE_JOB_OPTIONS,
    });
  }

  /**
   * Add changes, in batches of `CHANGES_PER_JOB`, in one Redis round trip. Returns once Redis has
   * them all (the caller may then checkpoint). `discriminator` distinguishes non-CDC changes of one
   * record (e.g. its SystemModstamp); without one, a non-CDC change gets a unique id.
   */
  async enqueue(changes: readonly ChangeJob[], discriminator?: (change: ChangeJob) => string | number, delayMs?: number): Promise<void> {
    if (changes.length === 0) return;
    const jobs = [];
    for (let start = 0; start < changes.length; start += CHANGES_PER_JOB) {
      const chunk = changes.slice(start, start + CHANGES_PER_JOB);
      const ids = chunk.map((change) => changeJobId(change, discriminator?.(change) ?? `${change.enqueuedAt}.${Math.random().toString(36).slice(2)}`));
      jobs.push({ name: CHANGE_JOB_NAME, data: { changes: chunk }, opts: { jobId: changeBatchId(ids), ...(delayMs ? { delay: delayMs } : {}) } });
    }
    await this.queue.addBulk(jobs);
  }

  /** Batches not yet processed (waiting, delayed, in progress): each holds up to CHANGES_PER_JOB changes. */
  async backlog(): Promise<number> {
    const counts = await this.queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
