/**
 * The consumer side of an integration's change queue: a BullMQ Worker driven manually
 * (`getNextJob`) so that one loop takes up to `batchSize` jobs at once — what makes bulk fetches
 * and coalescing possible. Stateless: run as many processes as you like; BullMQ's locks hand each
 * job to one worker, and its stalled-job check gives a crashed worker's jobs to another.
 *
 * A failed batch gets the reaction `failure-policy.ts` names (docs/errors.md). While the integration
 * needs re-authorisation, or Communications Mining refuses the bridge, no loop takes jobs; every
 * waiting loop wakes on close and on resume.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RedisClient } from '../store/redis.ts';
import type { Logger } from 'pino';
import type { ChangeQueue } from '../queue/change-queue.ts';
import type { ChangeJob } from '../model/change.ts';
import type { DeadLetterStore } from '../store/dead-letters.ts';
import { bridgeKeys } from '../store/keys.ts';
import type { TargetPauseStore } from '../store/target-pause.ts';
import type { BatchResult } from './change-batch.ts';
import { readChangeBatch, type UnreadableChange } from './change-reader.ts';
import { WorkerClosingError } from './errors.ts';
import { reactionTo, TARGET_REFUSED, type FailureReaction } from './failure-policy.ts';
import { WakeSignal } from './wake.ts';

/** On close, how long loops may finish their blocking wait before its connection is dropped (ms). */
const FORCE_CLOSE_AFTER_MS = 1_000;
/** A lingering take stops waiting once it holds this many changes: one push's worth (500 comments). */
const LINGER_ENOUGH = 500;
/** While lingering, how often the queue is looked at again (ms). */
const LINGER_POLL_MS = 10;
/**
 * A blocking wait for jobs returns within BullMQ's longest block (10 s) plus its own 1 s watchdog.
 * One that has not returned after this long is wedged (seen on a Redis Cluster failover under load:
 * jobs waiting, none taken): the BullMQ Worker is replaced (docs/redis.md, "Failover").
 */
const WEDGED_TAKE_MS = 20_000;

/** Pauses of the integration's pushes while Communications Mining refuses the bridge. */
export interface TargetGuardOptions {
  store: TargetPauseStore;
  /** Asks the target whether it accepts the bridge again (CM `getSource`); throws while it does not. */
  probe: (signal: AbortSignal) => Promise<void>;
  /** How often a paused target is probed (once per interval across all processes). @defaultValue 60000 */
  probeEveryMs?: number;
}

export interface ChangeWorkerOptions {
  /** A connection for BullMQ's blocking commands (`maxRetriesPerRequest: null`). */
  connection: RedisClient;
  prefix: string;
  integration: string;
  /** Where verification and retry jobs go. */
  queue: ChangeQueue;
  /** Processes the changes; gives up with the signal's reason when the worker closes. */
  process: (jobs: ChangeJob[], signal: AbortSignal) => Promise<BatchResult>;
  /** Where changes that can never succeed end (malformed, or failed on their last attempt). */
  deadLetters: DeadLetterStore;
  logger: Logger;
  /** Pause pushes while Communications Mining refuses the bridge; without it such jobs just wait. */
  target?: TargetGuardOptions;
  /**
   * Whether the integration has a usable Salesforce authorisation. While it has none, no loop takes
   * jobs; `resume()` (a re-authorisation) sets them going at once. Without it, the jobs of a failed
   * batch wait `pauseMs` each time.
   */
  authorised?: () => Promise<boolean>;
  /** Changes taken per batch (whole jobs, so a batch may pass it by one job). @defaultValue 1000 */
  batchSize?: number;
  /** Batches processed at the same time in this process (pushes of one record stay serialised by record locks). @defaultValue 4 */
  concurrency?: number;
  /** How long a job stays locked without renewal. @defaultValue 60000 */
  lockDurationMs?: number;
  /** How long a paused integration (needs re-authorisation) waits before looking again. @defaultValue 30000 */
  pauseMs?: number;
  /** On close, how long the batch in hand may take before it is cut short and handed back. @defaultValue 2000 */
  closeGraceMs?: number;
  /**
   * How long a take that found jobs waits for more while it holds fewer than a push's worth (ms),
   * like Kafka's `linger.ms`: a small burst arriving as several jobs then costs one fetch and one
   * push, not one each per job. The other loops wait their turn meanwhile, so none takes half of
   * it. An idle queue is not affected: lingering starts only after a job came. @defaultValue 0
   */
  lingerMs?: number;
}

interface Taken {
  job: Job<unknown>;
  token: string;
}

/** A taken job with its readable changes. */
interface Readable extends Taken {
  changes: ChangeJob[];
}

export class ChangeWorker {
  #worker: Worker<unknown>;
  /** What the BullMQ Worker is made from (again, after a wedged take). */
  readonly #given: ChangeWorkerOptions;
  /** Workers replaced after a wedged take: closed with this one (jobs they took finish on them). */
  readonly #replaced: Worker<unknown>[] = [];
  readonly #options: Required<Omit<ChangeWorkerOptions, 'connection' | 'prefix' | 'target' | 'authorised'>> &
    Pick<ChangeWorkerOptions, 'target' | 'authorised'>;
  readonly #wake = new WakeSignal();
  /** Aborted when closing outlasts its grace: cuts the batches in hand short. */
  readonly #abort = new AbortController();
  #running: Promise<void> | undefined;
  /** The turn of the loop that waits for jobs (see `#take`). */
  #taking: Promise<void> = Promise.resolve();
  #closing = false;

  constructor(options: ChangeWorkerOptions) {
    this.#options = {
      batchSize: 1000,
      concurrency: 4,
      lockDurationMs: 60_000,
      pauseMs: 30_000,
      closeGraceMs: 2_000,
      lingerMs: 0,
      ...options,
    };
    this.#given = options;
    this.#worker = this.#newWorker(options);
  }

  #newWorker(options: ChangeWorkerOptions): Worker<unknown> {
    const keys = bridgeKeys(options.prefix);
    const worker = new Worker<unknown>(keys.changeQueueName(options.integration), null, {
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
    worker.on('error', (error) => options.logger.warn({ err: error }, 'change worker connection error'));
    return worker;
  }

  start(): void {
    if (this.#running) return;
    void this.#worker.startStalledCheckTimer();
    this.#running = Promise.all(Array.from({ length: this.#options.concurrency }, () => this.#loop())).then(
      () => undefined,
    );
  }

  /** Wake every waiting loop (e.g. the integration was just re-authorised). */
  resume(): void {
    this.#wake.wakeAll();
  }

  /**
   * Stop taking jobs and wake every waiting loop; the batches in hand get `closeGraceMs` to finish,
   * then are cut short and handed back to the queue (no attempt spent), so closing is quick in every
   * state (docs/errors.md, "Shutdown").
   */
  async close(): Promise<void> {
    this.#closing = true;
    this.#wake.wakeAll();
    const grace = setTimeout(() => this.#abort.abort(new WorkerClosingError()), this.#options.closeGraceMs);
    try {
      // Loops waiting for jobs usually return within one short blocking wait (`drainDelay`). Only
      // those still waiting after that get their blocking connection dropped (force): a wait can
      // last up to 10 s while delayed jobs exist (BullMQ's longest blocking wait), but a drop in the
      // middle of a take can leave a job active until the stalled-job check, so it is the fallback.
      const running = this.#running ?? Promise.resolve();
      const settled = await Promise.race([running.then(() => true), delay(FORCE_CLOSE_AFTER_MS).then(() => false)]);
      const workerClosed = this.#worker.close(!settled);
      await running;
      await workerClosed;
      await Promise.all(this.#replaced.map((worker) => worker.close(true).catch(() => undefined)));
    } finally {
      clearTimeout(grace);
    }
  }

  async #loop(): Promise<void> {
    const { logger } = this.#options;
    while (!this.#closing) {
      try {
        if ((await this.#waitingForAuthorisation()) || (await this.#targetPaused())) continue;
        const batch = await this.#take();
        if (batch.length === 0) continue;
        if (await this.#pausedSinceTaking()) {
          // A pause began while this loop waited for jobs: back they go, attempts untouched.
          await this.#park(batch, 0);
          continue;
        }
        await this.#handle(batch);
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by close() while this call awaited
        if (this.#closing) break;
        logger.error({ err: error }, 'change worker loop failed; retrying');
        await this.#sleep(1_000);
      }
    }
  }

  /** While Salesforce access needs an admin, no loop takes jobs; a re-authorisation wakes them (`resume`). */
  async #waitingForAuthorisation(): Promise<boolean> {
    if (!this.#options.authorised || (await this.#options.authorised())) return false;
    await this.#sleep(this.#options.pauseMs);
    return true;
  }

  /** Whether the integration is paused now (target refusing, or no authorisation): the next turn of the loop waits. */
  async #pausedSinceTaking(): Promise<boolean> {
    const { target, authorised, integration } = this.#options;
    try {
      if (target && (await target.store.read(integration))) return true;
      return authorised !== undefined && !(await authorised());
    } catch {
      // Unknown (Redis away): go on with the batch; its own failure policy handles what follows.
      return false;
    }
  }

  /**
   * While the target refuses the bridge, no loop takes jobs: they wait in the queue without spending
   * attempts. One process per interval probes the source; its success resumes every process.
   */
  async #targetPaused(): Promise<boolean> {
    const target = this.#options.target;
    if (!target) return false;
    const paused = await target.store.read(this.#options.integration);
    if (!paused) return false;
    const every = target.probeEveryMs ?? 60_000;
    if (await target.store.claimProbe(this.#options.integration, every)) {
      try {
        await target.probe(this.#abort.signal);
        await target.store.resume(this.#options.integration);
        this.#options.logger.info(
          { pausedSince: paused.since },
          'Communications Mining accepts the bridge again: pushes resume',
        );
        this.#wake.wakeAll();
        return false;
      } catch (error) {
        const reaction = reactionTo(error);
        if (reaction.kind === 'pause-target') await target.store.pause(this.#options.integration, reaction.reason);
        this.#options.logger.warn(
          { reason: reaction.reason },
          'Communications Mining still refuses the bridge: pushes stay paused',
        );
      }
    }
    // Look again soon: another process's probe may have lifted the pause.
    await this.#sleep(Math.min(every, 5_000));
    return true;
  }

  /**
   * One batch of jobs. Only one loop of this process waits on Redis at a time: BullMQ blocks only
   * one caller of `getNextJob` and answers the others at once, so idle loops would otherwise spin
   * (thousands of calls a second on an empty queue). The others wait for their turn here.
   */
  async #take(): Promise<Taken[]> {
    const previous = this.#taking;
    let release = (): void => undefined;
    this.#taking = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      if (this.#closing) return [];
      const first = await this.#nextOrReplace();
      if (!first) return [];
      const batch = [first];
      let changes = sizeOf(first);
      const lingerUntil = performance.now() + this.#options.lingerMs;
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by close() while this call awaited
      while (changes < this.#options.batchSize && !this.#closing) {
        const next = await this.#next(false).catch(() => undefined);
        if (next) {
          batch.push(next);
          changes += sizeOf(next);
          continue;
        }
        const left = lingerUntil - performance.now();
        if (changes >= LINGER_ENOUGH || left <= 0) break;
        await delay(Math.min(LINGER_POLL_MS, left));
      }
      return batch;
    } finally {
      release();
    }
  }

  /** The blocking take, with a watchdog: a wait that never returns gets a fresh BullMQ Worker. */
  async #nextOrReplace(): Promise<Taken | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const wedged = new Promise<'wedged'>((resolve) => (timer = setTimeout(() => resolve('wedged'), WEDGED_TAKE_MS)));
    const take = this.#next(true);
    try {
      const result = await Promise.race([take, wedged]);
      if (result !== 'wedged') return result;
    } finally {
      clearTimeout(timer);
    }
    if (this.#closing) return undefined;
    this.#options.logger.warn(
      { waitedMs: WEDGED_TAKE_MS },
      'the wait for jobs did not return: taking jobs through a new connection',
    );
    const wedgedWorker = this.#worker;
    this.#replaced.push(wedgedWorker);
    this.#worker = this.#newWorker(this.#given);
    void this.#worker.startStalledCheckTimer();
    // Should the old wait still return a job, it is handled like any other; if never, its lock
    // lapses and the stalled-job check gives it back to the queue.
    void take.then((late) => (late ? this.#handle([late]) : undefined)).catch(() => undefined);
    return undefined;
  }

  async #next(block: boolean): Promise<Taken | undefined> {
    const token = randomUUID();
    const job = await this.#worker.getNextJob(token, { block });
    return job ? { job, token } : undefined;
  }

  async #handle(batch: Taken[]): Promise<void> {
    const { logger } = this.#options;
    const valid: Readable[] = [];
    for (const taken of batch) {
      const { changes, unreadable } = readChangeBatch(taken.job.data);
      // Malformed changes can never succeed: dead-lettered now, each with its reason; the rest go on.
      for (const [index, item] of unreadable.entries()) await this.#deadLetterUnreadable(taken, index, item);
      if (changes.length > 0) valid.push({ ...taken, changes });
      else
        await taken.job.moveToFailed(
          new UnrecoverableError(unreadable.map((item) => item.reason).join('; ')),
          taken.token,
          false,
        );
    }
    if (valid.length === 0) return;
    const changes = valid.flatMap((taken) => taken.changes);
    const renew = setInterval(() => {
      for (const { job, token } of valid)
        void job.extendLock(token, this.#options.lockDurationMs).catch(() => undefined);
    }, this.#options.lockDurationMs / 2);
    try {
      const result = await this.#options.process(changes, this.#abort.signal);
      // Records another worker was pushing, and records to verify, come back as new (delayed) jobs:
      // a job is completed whole or not at all.
      if (result.busy.length > 0)
        await this.#options.queue.enqueue(result.busy.map(asRetry), undefined, 50 + Math.floor(Math.random() * 100));
      if (result.verify.length > 0) await this.#options.queue.enqueue(result.verify, undefined, 2_000);
      if (result.related.length > 0) await this.#options.queue.enqueue(result.related);
      await Promise.all(valid.map(({ job, token }) => job.moveToCompleted('done', token, false)));
      logger.debug(
        { jobs: valid.length, changes: changes.length, ...result.stats, busy: result.busy.length },
        'batch done',
      );
    } catch (error) {
      await this.#fail(valid, error);
    } finally {
      clearInterval(renew);
    }
  }

  /** Apply the failure policy's reaction to a failed batch. */
  async #fail(batch: Readable[], error: unknown): Promise<void> {
    const { logger, integration } = this.#options;
    const reaction = reactionTo(error);
    switch (reaction.kind) {
      case 'pause-salesforce':
        // Paused until an admin re-authorises: park the jobs, do not spend attempts on them.
        logger.warn({ reason: reaction.reason }, 'integration not authorised: changes wait');
        // With the authorisation check, the jobs wait in the queue and go as soon as a re-authorisation
        // wakes the loops; without it, they come back every `pauseMs`.
        await this.#park(batch, this.#options.authorised ? 0 : this.#options.pauseMs);
        if (!this.#options.authorised) await this.#sleep(this.#options.pauseMs);
        return;
      case 'pause-target':
        logger.warn({ reason: reaction.reason }, `${TARGET_REFUSED}: pushes paused`);
        if (this.#options.target) await this.#options.target.store.pause(integration, reaction.reason);
        // Back to the queue, attempts untouched; no loop takes them until the probe succeeds.
        await this.#park(batch, this.#options.target ? 0 : this.#options.pauseMs);
        return;
      case 'wait':
        if (reaction.delayMs > 0)
          logger.warn({ reason: reaction.reason, delayMs: reaction.delayMs }, 'changes wait before their next try');
        await this.#park(batch, reaction.delayMs);
        return;
      case 'dead-letter':
        await this.#giveUp(batch, reaction);
        return;
      case 'retry': {
        const last = batch.filter(({ job }) => job.attemptsMade + 1 >= (job.opts.attempts ?? 1));
        const again = batch.filter((taken) => !last.includes(taken));
        if (last.length > 0)
          await this.#giveUp(last, {
            kind: 'dead-letter',
            reason: `gave up after ${last[0]?.job.opts.attempts ?? 1} attempts: ${reaction.reason}`,
          });
        if (again.length === 0) return;
        logger.warn({ err: error, jobs: again.length }, 'batch failed; BullMQ retries it with backoff');
        const failure = error instanceof Error ? error : new Error(String(error));
        await Promise.all(again.map(({ job, token }) => job.moveToFailed(failure, token, false)));
      }
    }
  }

  /** A wait that closing and resuming cut short; none at all once closing has begun. */
  async #sleep(ms: number): Promise<void> {
    if (!this.#closing) await this.#wake.sleep(ms);
  }

  /** Back to the queue after `delayMs`, without spending an attempt. */
  async #park(batch: readonly Taken[], delayMs: number): Promise<void> {
    const at = Date.now() + delayMs;
    await Promise.all(
      batch.map(({ job, token }) => (delayMs > 0 ? job.moveToDelayed(at, token) : job.moveToWait(token))),
    );
  }

  /** Dead-letter every record of the batch with the reason, then fail the jobs for good. */
  async #giveUp(batch: readonly Readable[], reaction: FailureReaction): Promise<void> {
    const { deadLetters, integration, logger } = this.#options;
    for (const { job, changes } of batch) {
      // One letter per record of a job: retrying it fetches the record as it is then.
      const records = new Map(changes.map((change) => [`${change.object}|${change.recordId}`, change]));
      for (const [record, change] of records) {
        await deadLetters.add(
          {
            integration,
            object: change.object,
            recordId: change.recordId,
            reason: reaction.reason,
            stage: 'worker',
            payload: change,
          },
          `job|${job.id ?? ''}|${record}`,
        );
      }
    }
    logger.warn({ jobs: batch.length, reason: reaction.reason }, 'changes dead-lettered: no retry can succeed');
    await Promise.all(
      batch.map(({ job, token }) => job.moveToFailed(new UnrecoverableError(reaction.reason), token, false)),
    );
  }

  async #deadLetterUnreadable(taken: Taken, index: number, item: UnreadableChange): Promise<void> {
    await this.#options.deadLetters.add(
      {
        integration: this.#options.integration,
        object: item.object,
        ...(item.recordId ? { recordId: item.recordId } : {}),
        reason: item.reason,
        stage: 'worker',
        payload: item.payload,
      },
      `malformed|${taken.job.id ?? ''}|${index}`,
    );
    this.#options.logger.warn({ jobId: taken.job.id, reason: item.reason }, 'malformed change dead-lettered');
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
