/**
 * The reconcile queue of an integration (`reconcile/<project>/<name>`): reconciliation, id sweep
 * and backfill runs as BullMQ jobs, so that any worker may run them and exactly one does.
 *
 * - Scheduled runs come from BullMQ job schedulers (one per object and kind): one job per period,
 *   however many workers upsert the same scheduler.
 * - On-demand runs (admin API, subscriber requests, first authorisation) are plain jobs; their ids
 *   are derived from what asked for them, so two processes asking at once add one job.
 *
 * `ReconcileTrigger` is the producer side: the admin API uses it without running any reconciler.
 */
import { createHash } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import type { RedisClient } from '../store/redis.ts';
import { z } from 'zod';
import { bridgeKeys } from '../store/keys.ts';

export const RECONCILE_JOB_NAME = 'reconcile';

export const ReconcileJobSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('reconcile'),
    object: z.string(),
    /** schedule: the periodic run (stretched by the governor); request: a pending reconcile request; admin: "run now". */
    trigger: z.enum(['schedule', 'request', 'admin']),
  }),
  z.object({ kind: z.literal('sweep'), object: z.string(), trigger: z.enum(['schedule', 'admin']) }),
  z.object({
    kind: z.literal('backfill'),
    object: z.string(),
    /** ISO lower bound; null: every record. */
    since: z.string().nullable(),
    trigger: z.enum(['admin', 'authorization', 'cli']),
  }),
]);
export type ReconcileJob = z.infer<typeof ReconcileJobSchema>;

/** What a run ended with (the job's return value: tests and operators read it). */
export interface RunOutcome {
  outcome: 'ran' | 'skipped' | 'paused' | 'deferred';
  reason?: string;
  stats?: Record<string, number | string | null | undefined>;
}

export const RECONCILE_JOB_OPTIONS: JobsOptions = {
  // A failed run is not retried: the next period (or the still-pending request) runs it again.
  attempts: 1,
  removeOnComplete: { age: 3_600, count: 1_000 },
  removeOnFail: { age: 86_400, count: 1_000 },
};

export function reconcileQueue(
  connection: RedisClient,
  prefix: string,
  integration: string,
): Queue<ReconcileJob, RunOutcome> {
  const keys = bridgeKeys(prefix);
  return new Queue<ReconcileJob, RunOutcome>(keys.reconcileQueueName(integration), {
    connection,
    prefix: keys.queuePrefix(),
    defaultJobOptions: RECONCILE_JOB_OPTIONS,
  });
}

/** Scheduler ids (BullMQ job ids may not contain ':'). */
export const schedulerId = (kind: 'reconcile' | 'sweep', object: string) => `${kind}|${object}`;

/** A short digest for job ids. */
export function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 16);
}

/** Adds on-demand runs to integrations' reconcile queues. */
export class ReconcileTrigger {
  readonly #queues = new Map<string, Queue<ReconcileJob, RunOutcome>>();

  constructor(
    private readonly connection: RedisClient,
    private readonly prefix: string,
  ) {}

  queue(integration: string): Queue<ReconcileJob, RunOutcome> {
    let queue = this.#queues.get(integration);
    if (!queue) this.#queues.set(integration, (queue = reconcileQueue(this.connection, this.prefix, integration)));
    return queue;
  }

  /** Reconcile `objects` now, from their watermarks. Returns the job ids. */
  /** `key` makes the request idempotent (every worker process asking for the same run adds one job). */
  async reconcileNow(integration: string, objects: readonly string[], key?: string): Promise<string[]> {
    const at = key ?? String(Date.now());
    const jobs = objects.map((object) => ({
      name: RECONCILE_JOB_NAME,
      data: { kind: 'reconcile' as const, object, trigger: 'admin' as const },
      opts: { jobId: `admin|reconcile|${object}|${at}` },
    }));
    await this.queue(integration).addBulk(jobs);
    return jobs.map((job) => job.opts.jobId);
  }

  /** Sweep `objects` now (compare ids in scope with the ids the source holds). */
  async sweepNow(integration: string, objects: readonly string[]): Promise<string[]> {
    const at = Date.now();
    const jobs = objects.map((object) => ({
      name: RECONCILE_JOB_NAME,
      data: { kind: 'sweep' as const, object, trigger: 'admin' as const },
      opts: { jobId: `admin|sweep|${object}|${at}` },
    }));
    await this.queue(integration).addBulk(jobs);
    return jobs.map((job) => job.opts.jobId);
  }

  /**
   * Backfill `objects` from `since` (ms; null: every record). `jobKey` makes the add idempotent
   * (the automatic backfill of first authorisation passes a fixed one); by default every call is new.
   */
  async backfill(
    integration: string,
    objects: readonly string[],
    since: number | null,
    trigger: 'admin' | 'authorization' | 'cli',
    jobKey?: string,
  ): Promise<string[]> {
    const key = jobKey ?? String(Date.now());
    const jobs = objects.map((object) => ({
      name: RECONCILE_JOB_NAME,
      data: {
        kind: 'backfill' as const,
        object,
        since: since === null ? null : new Date(since).toISOString(),
        trigger,
      },
      opts: { jobId: `backfill|${object}|${key}` },
    }));
    await this.queue(integration).addBulk(jobs);
    return jobs.map((job) => job.opts.jobId);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
    this.#queues.clear();
  }
}
