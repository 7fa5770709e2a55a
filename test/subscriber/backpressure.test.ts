/**
 * A burst cannot grow memory without bound: when queue writes lag, the
 * stream stops consuming at `highWaterMark` buffered events, disconnects, and resubscribes from the
 * durable position once the buffer has drained; nothing is lost.
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
    expect(stream.stats().buffered).toBe(0);
  });
});
