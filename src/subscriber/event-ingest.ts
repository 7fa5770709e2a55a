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
 *
 * Positions are a transport's own (docs/pubsub.md#replay-positions): CometD ids are integers and a
 * redelivery at or below the accepted one is dropped; Pub/Sub ids are opaque, so nothing is compared
 * and the last one accepted is the position. A Pub/Sub keepalive's id enters the buffer as a
 * position-only delivery, so it is stored only after every event received before it.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { MetricsRecorder } from '../metrics/recorder.ts';
import type { Transport } from '../config/index.ts';
import { ReplayIdSchema, type ChangeJob, type ReplayId } from '../model/change.ts';
import type { PlannedJob } from '../queue/change-queue.ts';
import type { DeadLetterStore } from '../store/dead-letters.ts';
import type { ReplayStore, TransportPositions } from '../store/replay-store.ts';
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
  /** Whose positions the stream reads and writes. @defaultValue cometd */
  transport?: Transport;
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
  /** A keepalive's position (Pub/Sub): nothing to enqueue, only the position to move. */
  positionOnly?: ReplayId;
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
  readonly #positions: TransportPositions;
  #buffer: Delivery[] = [];
  /** Latest replay id accepted per channel (buffered or enqueued): CometD redeliveries at or below it are dropped. */
  readonly #accepted = new Map<string, ReplayId>();
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
    this.#positions = options.replay.transport(options.transport ?? 'cometd');
  }

  /** Take one delivery from the CometD client (synchronous; the write happens in the background). */
  accept(channel: string, data: unknown): void {
    if (this.#closed) return;
    const object = this.#options.objectsByChannel.get(channel);
    if (object === undefined) return;
    const replayId = replayIdOf(data);
    if (replayId !== undefined) {
      const accepted = this.#accepted.get(channel);
      if (typeof accepted === 'number' && typeof replayId === 'number' && replayId <= accepted) {
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
   * A Pub/Sub keepalive: nothing was missed up to `replayId`. It is checkpointed in arrival order,
   * after whatever is buffered before it (docs/pubsub.md#keepalives).
   */
  acceptPosition(channel: string, replayId: ReplayId): void {
    if (this.#closed || this.#accepted.get(channel) === replayId) return;
    const object = this.#options.objectsByChannel.get(channel);
    if (object === undefined) return;
    this.#accepted.set(channel, replayId);
    this.#buffer.push({ channel, object, data: undefined, receivedAt: this.#now(), positionOnly: replayId });
    this.#pump();
  }

  /**
   * The position a resubscribe of this process may ask for: everything up to it is enqueued or
   * still in this buffer (which will be enqueued), so asking for less would only replay duplicates.
   */
  position(channel: string): ReplayId | undefined {
    return this.#accepted.get(channel);
  }

  /** Seed (from the durable store) or forget (after a reset) a channel's accepted position. */
  setPosition(channel: string, replayId: ReplayId | undefined): void {
    const accepted = this.#accepted.get(channel);
    if (replayId === undefined) this.#accepted.delete(channel);
    // An opaque id cannot be compared: what this process accepted is at least as recent as the store.
    else if (typeof replayId !== 'number' || typeof accepted !== 'number')
      this.#accepted.set(channel, accepted ?? replayId);
    else this.#accepted.set(channel, Math.max(replayId, accepted));
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
      const positions = replay.transport(pending.transport ?? 'cometd');
      for (const [channel, replayId] of Object.entries(pending.positions))
        await positions.checkpoint(integration, channel, replayId);
      logger.info({ positions: pending.positions }, 'completed the checkpoint of an enqueue interrupted by a crash');
    }
    await replay.clearPending(integration);
  }

  /** Record the batch's requests and dead letters, enqueue its jobs, then move each channel's position. */
  async #enqueueThenCheckpoint(batch: readonly Delivery[]): Promise<void> {
    const { integration, queue, replay, deadLetters, status, logger } = this.#options;
    const now = this.#now();
    const outcomes = batch
      .filter((d) => d.positionOnly === undefined)
      .map((d) => ({
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

    const outcomeOf = new Map(outcomes.map((o) => [o.delivery, o.outcome]));
    const positions = latestReplayIds(
      batch.map((d) => ({ channel: d.channel, replayId: d.positionOnly ?? outcomeOf.get(d)?.replayId })),
    );
    const jobs = outcomes.flatMap(({ outcome }) => (outcome.type === 'changes' ? outcome.jobs : []));
    const exact = queue.plan !== undefined && queue.add !== undefined;
    if (exact && queue.plan && queue.add) {
      const planned = queue.plan(jobs, eventJobDiscriminator);
      await replay.setPending(integration, {
        jobIds: planned.map((job) => job.id),
        positions: Object.fromEntries(positions),
        transport: this.#positions.transport,
      });
      await queue.add(planned);
    } else if (jobs.length > 0) {
      await queue.enqueue(jobs, eventJobDiscriminator);
    }

    // Checkpoint last: everything up to these ids is now durable outside this process.
    for (const [channel, replayId] of positions) await this.#positions.checkpoint(integration, channel, replayId);
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

function replayIdOf(data: unknown): ReplayId | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const event = (data as { event?: unknown }).event;
  if (typeof event !== 'object' || event === null) return undefined;
  return ReplayIdSchema.safeParse((event as { replayId?: unknown }).replayId).data;
}

/** Each channel's position after the batch: the highest CometD id, or the last opaque (Pub/Sub) one. */
function latestReplayIds(items: readonly { channel: string; replayId: ReplayId | undefined }[]): Map<string, ReplayId> {
  const latest = new Map<string, ReplayId>();
  for (const { channel, replayId } of items) {
    if (replayId === undefined) continue;
    const previous = latest.get(channel);
    latest.set(
      channel,
      typeof replayId === 'number' && typeof previous === 'number' ? Math.max(replayId, previous) : replayId,
    );
  }
  return latest;
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
