/**
 * A burst cannot grow memory without bound. When queue writes lag by more than a flush, the stream
 * holds its next `/meta/connect`, so the backlog stays with the server; if the buffer still reaches
 * `highWaterMark`, it stops consuming, disconnects, and resubscribes from the durable position once
 * the buffer has drained. Nothing is lost either way.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChangeJob } from '../../src/model/change.ts';
import { IntegrationStream } from '../../src/subscriber/integration-stream.ts';
import type { ChangeJobSink } from '../../src/subscriber/event-ingest.ts';
import { eventually } from '../helpers/redis.ts';
import { CASE_CHANNEL, FAST, startSubscriberHarness, type SubscriberHarness } from './harness.ts';

/** A queue whose writes hang until `open()`: Redis or BullMQ lagging behind the stream. */
class GatedSink implements ChangeJobSink {
  readonly enqueued: ChangeJob[] = [];
  #gate: Promise<void>;
  #open!: () => void;

  constructor() {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }

  async enqueue(jobs: readonly ChangeJob[]): Promise<void> {
    await this.#gate;
    this.enqueued.push(...jobs);
  }

  open(): void {
    this.#open();
  }
}

describe('subscriber backpressure', () => {
  let h: SubscriberHarness;
  let stream: IntegrationStream | undefined;

  afterEach(async () => {
    await stream?.stop();
    await h.close();
  });

  it('holds the next connect while the queue is a flush behind: the backlog stays with the server, the client stays', async () => {
    h = await startSubscriberHarness();
    const integration = h.config.integrations[0];
    if (!integration) throw new Error('no integration');
    const sink = new GatedSink();
    stream = new IntegrationStream({
      integration,
      tokens: h.context.tokens,
      queue: sink,
      replay: h.replay,
      deadLetters: h.deadLetters,
      status: h.status,
      logger: pino({ level: 'silent' }),
      // Reads wait above 5 buffered events (one flush); the disconnect mark is far away.
      timings: { ...FAST.stream, maxBatch: 5, highWaterMark: 1_000 },
    });
    await stream.start();
    await eventually(() => stream?.stats().channels[CASE_CHANNEL] === 'active');

    const first = h.org.store.transaction((tx) =>
      Array.from({ length: 10 }, (_, i) => tx.create('Case', { Subject: `first ${i}` }).Id),
    );
    // The reply with the 10 events is in the buffer; the connect after it waits for the queue.
    await eventually(() => (stream?.stats().ingest.heldReads ?? 0) >= 1);
    expect(stream.stats().buffered).toBe(10);
    expect(h.org.counters().streaming.openLongPolls).toBe(0);

    const later = h.org.store.transaction((tx) =>
      Array.from({ length: 50 }, (_, i) => tx.create('Case', { Subject: `later ${i}` }).Id),
    );
    // No long-poll is open, so the server keeps the 50 new events: none reaches this process.
    expect(h.org.counters().streaming.eventsDelivered).toBe(10);
    expect(stream.stats().buffered).toBe(10);

    sink.open();
    await eventually(() => new Set(sink.enqueued.map((j) => j.recordId)).size === 60, 10_000);
    expect(new Set(sink.enqueued.map((j) => j.recordId))).toEqual(new Set([...first, ...later]));
    // Flow control, not a reconnect: the same client throughout, no back-pressure rebuild.
    expect(stream.stats().clientsBuilt).toBe(1);
    expect(stream.stats().rebuilds.backpressure).toBeUndefined();
    expect(await eventually(async () => (await h.position(CASE_CHANNEL)) === h.org.events.lastReplayId())).toBe(true);
  });

  it('stops consuming at the high-water mark while the queue lags, then resumes from the checkpoint with no loss', async () => {
    h = await startSubscriberHarness();
    const integration = h.config.integrations[0];
    if (!integration) throw new Error('no integration');
    const sink = new GatedSink();
    stream = new IntegrationStream({
      integration,
      tokens: h.context.tokens,
      queue: sink,
      replay: h.replay,
      deadLetters: h.deadLetters,
      status: h.status,
      logger: pino({ level: 'silent' }),
      timings: { ...FAST.stream, highWaterMark: 20, maxBatch: 5 },
    });
    await stream.start();
    await eventually(() => stream?.stats().channels[CASE_CHANNEL] === 'active');

    const created = h.org.store.transaction((tx) =>
      Array.from({ length: 100 }, (_, i) => tx.create('Case', { Subject: `burst ${i}` }).Id),
    );
    await eventually(() => (stream?.stats().rebuilds.backpressure ?? 0) === 1);
    // Consumption stopped at the mark: no long-poll open, the buffer holds no more than the mark.
    expect(stream.stats().buffered).toBe(20);
    await eventually(() => h.org.counters().streaming.openLongPolls === 0);

    sink.open();
    await eventually(() => new Set(sink.enqueued.map((j) => j.recordId)).size === 100, 10_000);
    expect(new Set(sink.enqueued.map((j) => j.recordId))).toEqual(new Set(created));
    expect(await eventually(async () => (await h.position(CASE_CHANNEL)) === h.org.events.lastReplayId())).toBe(true);
    // The checkpoint is written before the flushed batch leaves the buffer: wait for that too.
    expect(await eventually(() => stream?.stats().buffered === 0)).toBe(true);
  });
});
