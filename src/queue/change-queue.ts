/**
 * The producer side of an integration's change queue (BullMQ). Jobs are added in bulk: one Redis
 * round trip per chunk, whatever the size of an event burst.
 */
import { Queue } from 'bullmq';
import type { RedisClient } from '../store/redis.ts';
import { bridgeKeys } from '../store/keys.ts';
import { changesWaiting } from '../store/scripts.ts';
import { CHANGE_JOB_NAME, changeBatchId, changeJobId, type ChangeBatch, type ChangeJob } from '../model/change.ts';

/** Changes per BullMQ job: one Redis write and one job lock for this many changes. */
export const CHANGES_PER_JOB = 250;

export interface PlannedJob {
  id: string;
  data: ChangeBatch;
}

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
    private readonly connection: RedisClient,
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
  async enqueue(
    changes: readonly ChangeJob[],
    discriminator?: (change: ChangeJob) => string | number,
    delayMs?: number,
  ): Promise<void> {
    await this.add(this.plan(changes, discriminator), delayMs);
  }

  /** The jobs `changes` become, with their ids, before anything is written (see EventIngest's pending marker). */
  plan(changes: readonly ChangeJob[], discriminator?: (change: ChangeJob) => string | number): PlannedJob[] {
    const jobs: PlannedJob[] = [];
    for (let start = 0; start < changes.length; start += CHANGES_PER_JOB) {
      const chunk = changes.slice(start, start + CHANGES_PER_JOB);
      const ids = chunk.map((change) =>
        changeJobId(change, discriminator?.(change) ?? `${change.enqueuedAt}.${Math.random().toString(36).slice(2)}`),
      );
      jobs.push({ id: changeBatchId(ids), data: { changes: chunk } });
    }
    return jobs;
  }

  /**
   * Write planned jobs in one round trip; an id that already exists is ignored by BullMQ. A job whose
   * changes carry records (a bulk backfill's) is removed once completed instead of kept an hour: its
   * data is the records themselves (up to ~2 MB a job), and what the kept id would guard against, the
   * same rows queued twice, the backfill's checkpoint already bounds to one chunk.
   */
  async add(jobs: readonly PlannedJob[], delayMs?: number): Promise<void> {
    if (jobs.length === 0) return;
    await this.queue.addBulk(
      jobs.map((job) => ({
        name: CHANGE_JOB_NAME,
        data: job.data,
        opts: {
          jobId: job.id,
          ...(delayMs ? { delay: delayMs } : {}),
          ...(job.data.changes.some((change) => change.record) ? { removeOnComplete: true } : {}),
        },
      })),
    );
  }

  /** Whether every id is a job BullMQ still knows (waiting, active, delayed, failed or recently completed). */
  async allExist(ids: readonly string[]): Promise<boolean> {
    for (const id of ids) if (!(await this.queue.getJob(id))) return false;
    return true;
  }

  /** Batches not yet processed (waiting, delayed, in progress): each holds up to CHANGES_PER_JOB changes. */
  async backlog(): Promise<number> {
    const counts = await this.queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  /**
   * Changes that wait for a worker (jobs in `wait`, `paused` or `prioritized`), counted from the job
   * ids: what the workers' autoscaler reads (sfcm_changes_waiting, docs/operations.md). Exact
   * whatever BullMQ ignored (a second add of the same id is no second job), and maintained by nobody:
   * read from the queue itself at scrape time. Delayed jobs (retries waiting out their backoff) are
   * not counted: more workers would not run them sooner.
   */
  changesWaiting(): Promise<number> {
    return changesWaiting(this.connection, {
      wait: this.queue.toKey('wait'),
      paused: this.queue.toKey('paused'),
      prioritized: this.queue.toKey('prioritized'),
      jobPrefix: this.queue.toKey(''),
    });
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
