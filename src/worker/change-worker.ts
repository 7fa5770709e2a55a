/**
 * The consumer side of an integration's change queue: a BullMQ Worker driven manually
 * (`getNextJob`) so that one loop takes up to `batchSize` jobs at once — what makes bulk fetches
 * and coalescing possible. Stateless: run as many processes as you like; BullMQ's locks hand each
 * job to one worker, and its stalled-job check gives a crashed worker's jobs to another.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CHANGE_JOB_OPTIONS, type ChangeQueue } from '../queue/change-queue.ts';
import { ChangeBatchSchema, type ChangeBatch, type ChangeJob } from '../queue/change-job.ts';
import { bridgeKeys } from '../queue/keys.ts';
import { NotAuthorizedError } from '../salesforce/errors.ts';
import { SalesforceApiError } from '../salesforce/rest-client.ts';
import { CmRetriesExhaustedError } from '../sink/errors.ts';
import type { BatchResult } from './change-batch.ts';

export interface ChangeWorkerOptions {
  /** A connection for BullMQ's blocking commands (`maxRetriesPerRequest: null`). */
  connection: Redis;
  prefix: string;
  integration: string;
  /** Where verification and retry jobs go. */
  queue: ChangeQueue;
  process: (jobs: ChangeJob[]) => Promise<BatchResult>;
  logger: Logger;
  /** Changes taken per batch (whole jobs, so a batch may pass it by one job). @defaultValue 1000 */
  batchSize?: number;
  /** Batches processed at the same time in this process (pushes of one record stay serialised by record locks). @defaultValue 4 */
  concurrency?: number;
  /** How long a job stays locked without renewal. @defaultValue 60000 */
  lockDurationMs?: number;
  /** How long a paused integration (needs re-authorisation) waits before looking again. @defaultValue 30000 */
  pauseMs?: number;
}

interface Taken {
  job: Job<ChangeBatch>;
  token: string;
}

export class ChangeWorker {
  readonly #worker: Worker<ChangeBatch>;
  readonly #options: Required<Omit<ChangeWorkerOptions, 'connection' | 'prefix'>>;
  #running: Promise<void> | undefined;
  #closing = false;
  #wake: (() => void) | undefined;

  constructor(options: ChangeWorkerOptions) {
    const keys = bridgeKeys(options.prefix);
    this.#options = { batchSize: 1000, concurrency: 4, lockDurationMs: 60_000, pauseMs: 30_000, ...options };
    this.#worker = new Worker<ChangeBatch>(keys.changeQueueName(options.integration), null, {
      connection: options.connection,
      prefix: keys.queuePrefix(),
      lockDuration: this.#options.lockDurationMs,
      // A crashed worker's jobs go back to the queue one lock period after its last renewal.
      stalledInterval: this.#options.lockDurationMs,
      autorun: false,
      // Seconds a blocking wait for jobs lasts. The concurrent loops share one blocking connection,
      // so a new job can wait behind another loop's wait: keep it short (it also bounds close()).
      drainDelay: 0.25,
    });
    this.#worker.on('error', (error) => options.logger.warn({ err: error }, 'change worker connection error'));
  }

  start(): void {
    if (this.#running) return;
    void this.#worker.startStalledCheckTimer();
    this.#running = Promise.all(Array.from({ length: this.#options.concurrency }, () => this.#loop())).then(() => undefined);
  }

  /** Wake a paused loop (e.g. the integration was just re-authorised). */
  resume(): void {
    this.#wake?.();
  }

  /** Stop taking jobs, finish the batch in hand, then close. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#wake?.();
    await this.#running;
    await this.#worker.close();
  }

  async #loop(): Promise<void> {
    const { logger } = this.#options;
    while (!this.#closing) {
      let batch: Taken[] = [];
      try {
        batch = await this.#take();
        if (batch.length === 0) continue;
        await this.#handle(batch);
      } catch (error) {
        if (this.#closing) break;
        logger.error({ err: error }, 'change worker loop failed; retrying');
        await this.#pause(1_000);
      }
    }
  }

  async #take(): Promise<Taken[]> {
    const first = await this.#next(true);
    if (!first) return [];
    const batch = [first];
    let changes = sizeOf(first);
    while (changes < this.#options.batchSize && !this.#closing) {
      const next = await this.#next(false);
      if (!next) break;
      batch.push(next);
      changes += sizeOf(next);
    }
    return batch;
  }

  async #next(block: boolean): Promise<Taken | undefined> {
    const token = randomUUID();
    const job = (await this.#worker.getNextJob(token, { block })) as Job<ChangeBatch> | undefined;
    return job ? { job, token } : undefined;
  }

  async #handle(batch: Taken[]): Promise<void> {
    const { logger } = this.#options;
    const valid: Taken[] = [];
    const changes: ChangeJob[] = [];
    for (const taken of batch) {
      const parsed = ChangeBatchSchema.safeParse(taken.job.data);
      if (parsed.success) {
        valid.push(taken);
        changes.push(...parsed.data.changes);
      } else {
        await taken.job.moveToFailed(new Error(`malformed change batch: ${parsed.error.message}`), taken.token, false);
      }
    }
    if (valid.length === 0) return;
    const renew = setInterval(() => {
      for (const { job, token } of valid) void job.extendLock(token, this.#options.lockDurationMs).catch(() => undefined);
    }, this.#options.lockDurationMs / 2);
    try {
      const result = await this.#options.process(changes);
      // Records another worker was pushing, and records to verify, come back as new (delayed) jobs:
      // a job is completed whole or not at all.
      if (result.busy.length > 0) await this.#options.queue.enqueue(result.busy.map(asRetry), undefined, 50 + Math.floor(Math.random() * 100));
      if (result.verify.length > 0) await this.#options.queue.enqueue(result.verify, undefined, 2_000);
      if (result.related.length > 0) await this.#options.queue.enqueue(result.related);
      await Promise.all(valid.map(({ job, token }) => job.moveToCompleted('done', token, false)));
      logger.debug({ jobs: valid.length, changes: changes.length, ...result.stats, busy: result.busy.length }, 'batch done');
    } catch (error) {
      await this.#fail(valid, error);
    } finally {
      clearInterval(renew);
    }
  }

  /** Decide, from the error's type, when the batch is tried again. */
  async #fail(batch: Taken[], error: unknown): Promise<void> {
    const { logger } = this.#options;
    let retryAt: number | undefined;
    if (error instanceof NotAuthorizedError) {
      // Paused until an admin re-authorises: park the jobs, do not spend attempts on them.
      retryAt = Date.now() + this.#options.pauseMs;
      logger.warn({ integration: this.#options.integration, state: error.state }, 'integration not authorised: changes wait');
    } else if (error instanceof SalesforceApiError && error.isLimitExceeded) {
      retryAt = Date.now() + 5 * 60_000;
      logger.warn('Salesforce API limit exceeded: changes wait 5 minutes');
    } else if (error instanceof CmRetriesExhaustedError && error.retryAfterMs !== undefined) {
      retryAt = Date.now() + error.retryAfterMs;
    }
    if (retryAt !== undefined) {
      await Promise.all(batch.map(({ job, token }) => job.moveToDelayed(retryAt, token)));
      if (error instanceof NotAuthorizedError) await this.#pause(this.#options.pauseMs);
      return;
    }
    logger.warn({ err: error, jobs: batch.length, attempts: CHANGE_JOB_OPTIONS.attempts }, 'batch failed; BullMQ retries it with backoff');
    await Promise.all(batch.map(({ job, token }) => job.moveToFailed(error instanceof Error ? error : new Error(String(error)), token, false)));
  }

  async #pause(ms: number): Promise<void> {
    const controller = new AbortController();
    this.#wake = () => controller.abort();
    await delay(ms, undefined, { signal: controller.signal }).catch(() => undefined);
    this.#wake = undefined;
  }
}

/** A change handed back for later: same record, fetched again then. */
function asRetry(change: ChangeJob): ChangeJob {
  return { ...change, origin: 'retry', kind: change.kind === 'DELETE' ? 'DELETE' : 'REFRESH' };
}

function sizeOf(taken: Taken): number {
  const changes = (taken.job.data as { changes?: unknown } | undefined)?.changes;
  return Array.isArray(changes) ? changes.length : 1;
}
