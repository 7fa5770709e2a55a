/**
 * A burst cannot grow memory without bound. When queue writes lag by more than a flush, the stream
 * holds its next read — CometD's next `/meta/connect`, Pub/Sub's next `FetchRequest` — so the backlog
 * stays with the server; if the buffer still reaches `highWaterMark`, CometD stops consuming,
 * disconnects, and resubscribes from the durable position once the buffer has drained, while Pub/Sub
 * simply asks for nothing more (docs/pubsub.md#flow-control). Nothing is lost either way.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChangeJob } from '../../src/model/change.ts';
import { IntegrationStream } from '../../src/subscriber/integration-stream.ts';
import type { ChangeJobSink } from '../../src/subscriber/event-ingest.ts';
import { eventually } from '../helpers/redis.ts';
import {
  CASE_CHANNEL,
  FAST,
  startSubscriberHarness,
  TRANSPORTS,
  type SubscriberHarness,
  type TestTransport,
} from './harness.ts';

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

/** The most events one Pub/Sub FetchRequest asks for (docs/pubsub.md#flow-control). */
const PUBSUB_REQUEST = 100;

describe.each(TRANSPORTS)('subscriber backpressure over %s', (transport: TestTransport) => {
  let h: SubscriberHarness;
  let stream: IntegrationStream | undefined;
  let gated: GatedSink | undefined;
  const cometd = transport === 'cometd';

  afterEach(async () => {
    // A test that failed before opening its queue must not leave the stream's drain waiting on it.
    gated?.open();
    await stream?.stop();
    await h.close();
  });

  /** A stream of the harness's integration writing to `sink`, with these buffer bounds. */
  async function startStream(sink: GatedSink, bounds: { maxBatch: number; highWaterMark: number }) {
    gated = sink;
    h = await startSubscriberHarness({}, transport);
    const integration = h.config.integrations[0];
    if (!integration) throw new Error('no integration');
    const started = new IntegrationStream({
      integration,
      tokens: h.context.tokens,
      queue: sink,
      replay: h.replay,
      deadLetters: h.deadLetters,
      status: h.status,
      logger: pino({ level: 'silent' }),
      timings: { ...FAST.stream, ...bounds },
    });
    stream = started;
    await started.start();
    await eventually(() => started.stats().channels[CASE_CHANNEL] === 'active');
    return started;
  }

  /** What the server has sent on the stream so far, and (Pub/Sub) what it was asked for. */
  const delivered = () =>
    cometd ? h.org.counters().streaming.eventsDelivered : h.org.counters().pubsub.eventsDelivered;
  const requested = () => h.org.counters().pubsub.requested;

  it('holds the next read while the queue is a flush behind: the backlog stays with the server, the client stays', async () => {
    const sink = new GatedSink();
    // Reads wait above 5 buffered events (one flush); the disconnect mark is far away.
    const s = await startStream(sink, { maxBatch: 5, highWaterMark: 1_000 });
    // Pub/Sub asks again once fewer than half a request is outstanding: bring it there.
    const firstCount = cometd ? 10 : 60;
    const first = h.org.store.transaction((tx) =>
      Array.from({ length: firstCount }, (_, i) => tx.create('Case', { Subject: `first ${i}` }).Id),
    );
    // The events are in the buffer; the read after them (connect, top-up) waits for the queue. Over
    // Pub/Sub the hold may begin while the last of them are still being decoded: wait for them all.
    await eventually(() => s.stats().ingest.heldReads >= 1 && s.stats().buffered === firstCount);
    expect(s.stats().buffered).toBe(firstCount);
    const asked = requested();
    if (cometd) expect(h.org.counters().streaming.openLongPolls).toBe(0);
    // Pub/Sub: the first request of each topic's call, nothing more.
    else expect(asked).toBe(2 * PUBSUB_REQUEST);

    const later = h.org.store.transaction((tx) =>
      Array.from({ length: 50 }, (_, i) => tx.create('Case', { Subject: `later ${i}` }).Id),
    );
    if (cometd) {
      // No long-poll is open, so the server keeps the 50 new events: none reaches this process.
      expect(delivered()).toBe(firstCount);
      expect(s.stats().buffered).toBe(firstCount);
    } else {
      // The server sends what was already asked for (the rest of the first request), and keeps the
      // other 10: no FetchRequest is sent while the queue lags.
      await eventually(() => s.stats().buffered === PUBSUB_REQUEST);
      expect(delivered()).toBe(PUBSUB_REQUEST);
      expect(requested()).toBe(asked);
    }

    sink.open();
    await eventually(() => new Set(sink.enqueued.map((j) => j.recordId)).size === firstCount + 50, 10_000);
    expect(new Set(sink.enqueued.map((j) => j.recordId))).toEqual(new Set([...first, ...later]));
    // Flow control, not a reconnect: the same client throughout, no back-pressure rebuild.
    expect(s.stats().clientsBuilt).toBe(1);
    expect(s.stats().rebuilds.backpressure).toBeUndefined();
    expect(await eventually(async () => (await h.position(CASE_CHANNEL)) === h.org.events.lastReplayId())).toBe(true);
  });

  it('stops consuming at the high-water mark while the queue lags, then resumes from the checkpoint with no loss', async () => {
    const sink = new GatedSink();
    const s = await startStream(sink, { highWaterMark: 20, maxBatch: 5 });
    const burst = cometd ? 100 : 250;
    const created = h.org.store.transaction((tx) =>
      Array.from({ length: burst }, (_, i) => tx.create('Case', { Subject: `burst ${i}` }).Id),
    );
    if (cometd) {
      await eventually(() => (s.stats().rebuilds.backpressure ?? 0) === 1);
      // Consumption stopped at the mark: no long-poll open, the buffer holds no more than the mark.
      expect(s.stats().buffered).toBe(20);
      await eventually(() => h.org.counters().streaming.openLongPolls === 0);
    } else {
      // Past the mark nothing more is asked for: the buffer holds what the first request brought,
      // the rest of the burst stays on the server, and the call stays open.
      await eventually(() => s.stats().buffered === PUBSUB_REQUEST);
      expect(s.stats().ingest.heldReads).toBeGreaterThanOrEqual(1);
      expect(delivered()).toBe(PUBSUB_REQUEST);
      expect(requested()).toBe(2 * PUBSUB_REQUEST);
      expect(h.activeClients()).toBe(1);
    }

    sink.open();
    await eventually(() => new Set(sink.enqueued.map((j) => j.recordId)).size === burst, 10_000);
    expect(new Set(sink.enqueued.map((j) => j.recordId))).toEqual(new Set(created));
    expect(await eventually(async () => (await h.position(CASE_CHANNEL)) === h.org.events.lastReplayId())).toBe(true);
    // The checkpoint is written before the flushed batch leaves the buffer: wait for that too.
    expect(await eventually(() => s.stats().buffered === 0)).toBe(true);
    if (!cometd) {
      expect(s.stats().clientsBuilt).toBe(1);
      expect(s.stats().rebuilds).toEqual({});
    }
  });
});
