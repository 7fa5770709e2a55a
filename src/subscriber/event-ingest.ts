/**
 * The subscriber's hand-off to the queue: events are buffered as they arrive and written many per
 * Redis round trip, and a channel's durable position moves only once its events are in the queue
 * (`enqueueThenCheckpoint`). A crash between the two replays those events on restart; their job
 * ids are deterministic, so the replay makes no second job.
 *
 * The buffer is bounded twice. Past `readAbove` buffered events, `readable()` tells the stream to
 * hold its next read (the CometD connect that would bring more events) until a flush has brought
 * the buffer back under it: in a burst the backlog stays with the server, and the process holds
 * about one flush plus one delivery. Past `highWaterMark` (a slow Redis, reads that cannot be
 * held) the owner is told to stop consuming (it disconnects and later resubscribes from the durable
 * position), so memory never grows without bound. Flushes run one at a time, in arrival order, so
 * checkpoints of one channel are written in order.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { MetricsRecorder } from '../metrics/recorder.ts';
import type { ChangeJob } from '../model/change.ts';
import type { PlannedJob } from '../queue/change-queue.ts';
import type { DeadLetterStore } from '../store/dead-letters.ts';
import type { ReplayStore } from '../store/replay-store.ts';
import { Backoff, type BackoffPolicy } from '../salesforce/cometd/backoff.ts';
import { eventJobDiscriminator, interpretChangeEvent, type EventOutcome } from '../salesforce/cometd/change-event.ts';
import type { StreamStatus } from './stream-status.ts';

/** Where change jobs go (a `ChangeQueue`). Resolves once Redis has them. */
export interface ChangeJobSink {
  enqueue(jobs: readonly ChangeJob[], discriminator?: (job: ChangeJob) => string | number): Promise<void>;
  /**
   * With these three, enqueues are exact across crashes: the job ids are recorded before they are
   * written, and a restart that finds them all in the queue completes the checkpoint instead of
   * replaying the events into new jobs.
   */
  plan?(jobs: readonly ChangeJob[], discriminator?: (job: ChangeJob) => string | number): PlannedJob[];
  add?(jobs: readonly PlannedJob[]): Promise<void>;
  allExist?(ids: readonly string[]): Promise<boolean>;
}

export interface EventIngestOptions {
  integration: string;
  /** CDC channel → configured object name. */
  objectsByChannel: ReadonlyMap<string, string>;
  queue: ChangeJobSink;
  replay: ReplayStore;
  deadLetters: DeadLetterStore;
  status: StreamStatus;
  logger: Logger;
  metrics?: MetricsRecorder;
  /** Events per flush: one enqueue round trip (chunked by the queue) and one checkpoint per channel. @defaultValue 2000 */
  maxBatch?: number;
  /** Buffered events at which consumption must pause. @defaultValue 20000 */
  highWaterMark?: number;
  /** Buffered events above which the next read waits (`readable()`). @defaultValue maxBatch */
  readAbove?: number;
  /** Backoff between failed flushes (Redis down). @defaultValue 200 ms … 10 s */
  retry?: BackoffPolicy;
  /** Told when the buffer reaches `highWaterMark` (`full`) and when it has drained after that (`drained`). */
  onPressure?: (state: 'full' | 'drained') => void;
  /** @defaultValue Date.now */
  now?: () => number;
}

interface Delivery {
  channel: string;
  object: string;
  data: unknown;
  receivedAt: number;
}

export interface IngestStats {
  accepted: number;
  /** Deliveries dropped because their replay id was already accepted (a resubscribe replayed them). */
  duplicates: number;
  enqueuedJobs: number;
  deadLetters: number;
  reconcileRequests: number;
  flushes: number;
  failedFlushes: number;
  /** Reads (CometD connects) told to wait because the buffer was over `readAbove`. */
  heldReads: number;
}

export class EventIngest {
  readonly #options: EventIngestOptions;
  readonly #maxBatch: number;
  readonly #highWaterMark: number;
  readonly #readAbove: number;
  /** Settled when the buffer is back under `readAbove` (or the ingest closes); set while it is over. */
  #caughtUp: { promise: Promise<void>; resolve: () => void } | undefined;
  readonly #retry: Backoff;
  readonly #now: () => number;
  #buffer: Delivery[] = [];
  /** Highest replay id accepted per channel (buffered or enqueued): redeliveries at or below it are dropped. */
  readonly #accepted = new Map<string, number>();
  #flushing: Promise<void> | undefined;
  #full = false;
  #closed = false;
  readonly #abort = new AbortController();
  readonly stats: IngestStats = {
    accepted: 0,
    duplicates: 0,
    enqueuedJobs: 0,
    deadLetters: 0,
    reconcileRequests: 0,
    flushes: 0,
    failedFlushes: 0,
    heldReads: 0,
  };

  constructor(options: EventIngestOptions) {
    this.#options = options;
    this.#maxBatch = options.maxBatch ?? 2_000;
    this.#highWaterMark = options.highWaterMark ?? 20_000;
    this.#readAbove = options.readAbove ?? this.#maxBatch;
    this.#retry = new Backoff(options.retry ?? { baseMs: 200, ceilingMs: 10_000 });
    this.#now = options.now ?? Date.now;
  }

  /** Take one delivery from the CometD client (synchronous; the write happens in the background). */
  accept(channel: string, data: unknown): void {
    if (this.#closed) return;
    const object = this.#options.objectsByChannel.get(channel);
    if (object === undefined) return;
    const replayId = replayIdOf(data);
    if (replayId !== undefined) {
      const accepted = this.#accepted.get(channel);
      if (accepted !== undefined && replayId <= accepted) {
        this.stats.duplicates += 1;
        return;
      }
      this.#accepted.set(channel, replayId);
    }
    this.stats.accepted += 1;
    this.#buffer.push({ channel, object, data, receivedAt: this.#now() });
    if (!this.#full && this.#buffer.length >= this.#highWaterMark) {
      this.#full = true;
      this.#options.onPressure?.('full');
    }
    this.#pump();
  }

  /**
   * The position a resubscribe of this process may ask for: everything up to it is enqueued or
   * still in this buffer (which will be enqueued), so asking for less would only replay duplicates.
   */
  position(channel: string): number | undefined {
    return this.#accepted.get(channel);
  }

  /** Seed (from the durable store) or forget (after a reset) a channel's accepted position. */
  setPosition(channel: string, replayId: number | undefined): void {
    if (replayId === undefined) this.#accepted.delete(channel);
    else this.#accepted.set(channel, Math.max(replayId, this.#accepted.get(channel) ?? replayId));
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  /**
   * Undefined while the buffer is at or under `readAbove`: read on. Otherwise a promise that settles
   * once flushes have brought it back under (or the ingest closes): hold the next read until then.
   */
  readable(): Promise<void> | undefined {
    if (!this.behind) return undefined;
    this.stats.heldReads += 1;
    if (!this.#caughtUp) {
      let resolve = (): void => undefined;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#caughtUp = { promise, resolve };
    }
    return this.#caughtUp.promise;
  }

  /** Whether reads should wait: more than `readAbove` events buffered. */
  get behind(): boolean {
    return this.#buffer.length > this.#readAbove && !this.#closed;
  }

  #releaseReads(): void {
    if (!this.#caughtUp || this.behind) return;
    this.#caughtUp.resolve();
    this.#caughtUp = undefined;
  }

  /** Resolves once every buffered event is enqueued and checkpointed (retrying while Redis fails). */
  async drained(): Promise<void> {
    while (this.#buffer.length > 0 && !this.#closed) {
      this.#pump();
      await this.#flushing;
    }
  }

  /** Stop at once: nothing more is written (a lost lease). Buffered events are left to the next leader. */
  close(): void {
    this.#closed = true;
    this.#abort.abort();
    this.#buffer = [];
    this.#releaseReads();
  }

  #pump(): void {
    if (this.#flushing || this.#closed) return;
    this.#flushing = this.#drain().finally(() => {
      this.#flushing = undefined;
    });
  }

  async #drain(): Promise<void> {
    while (this.#buffer.length > 0 && !this.#closed) {
      const batch = this.#buffer.slice(0, this.#maxBatch);
      try {
        await this.#enqueueThenCheckpoint(batch);
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by close() while this call awaited
        if (this.#closed) return;
        this.stats.failedFlushes += 1;
        const wait = this.#retry.next();
        this.#options.logger.warn(
          { err: error, buffered: this.#buffer.length, retryInMs: wait },
          'could not enqueue change events; retrying',
        );
        await delay(wait, undefined, { signal: this.#abort.signal }).catch(() => undefined);
        continue;
      }
      this.#retry.reset();
      this.#buffer.splice(0, batch.length);
      this.#releaseReads();
      if (this.#full && this.#buffer.length === 0) {
        this.#full = false;
        this.#options.onPressure?.('drained');
      }
    }
  }

  /**
   * A crashed predecessor's enqueue: if all its jobs are in the queue, its events are safe and its
   * checkpoint is completed now (no replay, so no second job); otherwise the events will be
   * replayed from the stored position. Call before reading positions to subscribe.
   */
  async recoverPending(): Promise<void> {
    const { integration, queue, replay, logger } = this.#options;
    const pending = await replay.pending(integration);
    if (!pending) return;
    if (queue.allExist && (await queue.allExist(pending.jobIds))) {
      for (const [channel, replayId] of Object.entries(pending.positions))
        await replay.checkpoint(integration, channel, replayId);
      logger.info({ positions: pending.positions }, 'completed the checkpoint of an enqueue interrupted by a crash');
    }
    await replay.clearPending(integration);
  }

  /** Record the batch's requests and dead letters, enqueue its jobs, then move each channel's position. */
  async #enqueueThenCheckpoint(batch: readonly Delivery[]): Promise<void> {
    const { integration, queue, replay, deadLetters, status, logger } = this.#options;
    const now = this.#now();
    const outcomes = batch.map((d) => ({
      delivery: d,
      outcome: interpretChangeEvent(d.data, { integration, object: d.object, channel: d.channel, now }),
    }));

    // Requests and dead letters first: once the jobs are in, a restart may skip these events.
    for (const { delivery, outcome } of outcomes) {
      if (outcome.type === 'reconcile') {
        const request = await status.requestReconcile(delivery.object, null, outcome.reason);
        this.stats.reconcileRequests += 1;
        logger.warn(
          { object: delivery.object, replayId: outcome.replayId, since: request.since, reason: outcome.reason },
          'reconciliation requested',
        );
      } else if (outcome.type === 'malformed') {
        await deadLetters.add(
          {
            integration,
            object: delivery.object,
            ...(outcome.recordId !== undefined ? { recordId: outcome.recordId } : {}),
            reason: outcome.reason,
            stage: 'event',
            payload: outcome.payload,
          },
          // The same event delivered again (a resubscribe from an older position) is one dead letter.
          outcome.replayId !== undefined ? `event|${delivery.channel}|${outcome.replayId}` : undefined,
        );
        this.stats.deadLetters += 1;
        logger.warn(
          { object: delivery.object, replayId: outcome.replayId, reason: outcome.reason },
          'malformed change event dead-lettered',
        );
      }
    }

    const positions = highestReplayIds(outcomes.map((o) => ({ channel: o.delivery.channel, outcome: o.outcome })));
    const jobs = outcomes.flatMap(({ outcome }) => (outcome.type === 'changes' ? outcome.jobs : []));
    const exact = queue.plan !== undefined && queue.add !== undefined;
    if (exact && queue.plan && queue.add) {
      const planned = queue.plan(jobs, eventJobDiscriminator);
      await replay.setPending(integration, {
        jobIds: planned.map((job) => job.id),
        positions: Object.fromEntries(positions),
      });
      await queue.add(planned);
    } else if (jobs.length > 0) {
      await queue.enqueue(jobs, eventJobDiscriminator);
    }

    // Checkpoint last: everything up to these ids is now durable outside this process.
    for (const [channel, replayId] of positions) await replay.checkpoint(integration, channel, replayId);
    if (exact) await replay.clearPending(integration);
    await status.eventsEnqueued(lastEvents(outcomes));
    if (this.#options.metrics) {
      const counts = new Map<string, { object: string; kind: string; count: number }>();
      for (const job of jobs) {
        const key = `${job.object} ${job.kind}`;
        const entry = counts.get(key) ?? { object: job.object, kind: job.kind, count: 0 };
        entry.count++;
        counts.set(key, entry);
      }
      for (const { object, kind, count } of counts.values())
        this.#options.metrics.inc('eventsReceived', { integration, object, change_type: kind }, count);
    }
    this.stats.enqueuedJobs += jobs.length;
    this.stats.flushes += 1;
  }
}

function replayIdOf(data: unknown): number | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const event = (data as { event?: unknown }).event;
  if (typeof event !== 'object' || event === null) return undefined;
  const replayId = (event as { replayId?: unknown }).replayId;
  return typeof replayId === 'number' && Number.isInteger(replayId) ? replayId : undefined;
}

function highestReplayIds(items: readonly { channel: string; outcome: EventOutcome }[]): Map<string, number> {
  const highest = new Map<string, number>();
  for (const { channel, outcome } of items) {
    if (outcome.replayId === undefined) continue;
    highest.set(channel, Math.max(outcome.replayId, highest.get(channel) ?? outcome.replayId));
  }
  return highest;
}

function lastEvents(
  items: readonly { delivery: Delivery; outcome: EventOutcome }[],
): Map<string, { lastEventAt: number; lastCommitAt: number }> {
  const last = new Map<string, { lastEventAt: number; lastCommitAt: number }>();
  for (const { delivery, outcome } of items) {
    if (outcome.type === 'malformed') continue;
    const previous = last.get(delivery.object);
    last.set(delivery.object, {
      lastEventAt: Math.max(delivery.receivedAt, previous?.lastEventAt ?? 0),
      lastCommitAt: Math.max(outcome.commitTimestamp, previous?.lastCommitAt ?? 0),
    });
  }
  return last;
}
