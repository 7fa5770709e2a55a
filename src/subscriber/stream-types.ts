/**
 * What every integration stream shares, whatever its transport: timings and backoffs, the options it
 * is built with, and the stats it reports (the status page and tests read them).
 */
import type { Logger } from 'pino';
import type { MetricsRecorder } from '../metrics/recorder.ts';
import type { IntegrationConfig } from '../config/index.ts';
import type { DeadLetterStore } from '../store/dead-letters.ts';
import type { ReplayStore } from '../store/replay-store.ts';
import type { SessionSource } from '../salesforce/session.ts';
import type { BackoffPolicy } from '../salesforce/cometd/backoff.ts';
import type { ChangeJobSink, IngestStats } from './event-ingest.ts';
import type { StreamStatus } from './stream-status.ts';

export interface StreamTimings {
  /** faye request timeout before the server advises one, seconds. @defaultValue 120 */
  requestTimeoutSeconds: number;
  /** faye's own handshake/transport retry, seconds. @defaultValue 5 */
  retrySeconds: number;
  /** Long-poll time assumed until a connect reply advises one, ms (docs/salesforce.md#key-numbers). @defaultValue 110000 */
  longPollTimeoutMs: number;
  /** How much longer than the long-poll timeout a stream may go without a connect reply, ms (docs/salesforce.md#recommended-subscriber-loop: 150 s in all). @defaultValue 40000 */
  stallMarginMs: number;
  /** How often the stall watchdog looks, ms. @defaultValue 5000 */
  watchdogIntervalMs: number;
  /** Reconciliations requested at first start reach back this far before the subscribe, ms. @defaultValue 60000 */
  reconcileMarginMs: number;
  /** After a re-handshake, channels not confirmed within this time are subscribed again, ms. @defaultValue 15000 */
  resubscribeCheckMs: number;
  /** Channels that were missing or denied are tried again this often, ms. @defaultValue 600000 */
  channelRetryMs: number;
  /** Rebuilds after auth failures, stalls, disconnects and transient errors. @defaultValue 1 s … 60 s */
  rebuild: BackoffPolicy;
  /** Per-server or org connection limit: minutes (docs/salesforce.md#streaming-errors). @defaultValue 30 s … 10 min */
  connectionLimit: BackoffPolicy;
  /** Daily delivery allocation used up: stay away long. @defaultValue 15 min … 1 h */
  dailyLimit: BackoffPolicy;
  /** Events per enqueue round trip. @defaultValue 2000 */
  maxBatch: number;
  /** Buffered events at which consumption pauses. @defaultValue 20000 */
  highWaterMark: number;
  /**
   * Pub/Sub: how long a Subscribe call may go without any response (events or keepalive) before it
   * counts as stalled, ms: Salesforce's 270 s keepalive plus a margin (docs/salesforce.md#pubsub-subscribe-semantics).
   * @defaultValue 310000
   */
  pubsubSilenceMs: number;
}

export const DEFAULT_STREAM_TIMINGS: StreamTimings = {
  requestTimeoutSeconds: 120,
  retrySeconds: 5,
  longPollTimeoutMs: 110_000,
  stallMarginMs: 40_000,
  watchdogIntervalMs: 5_000,
  reconcileMarginMs: 60_000,
  resubscribeCheckMs: 15_000,
  channelRetryMs: 600_000,
  rebuild: { baseMs: 1_000, ceilingMs: 60_000 },
  connectionLimit: { baseMs: 30_000, ceilingMs: 600_000 },
  dailyLimit: { baseMs: 900_000, ceilingMs: 3_600_000 },
  maxBatch: 2_000,
  highWaterMark: 20_000,
  pubsubSilenceMs: 310_000,
};

export type StreamState = 'starting' | 'streaming' | 'backing_off' | 'paused' | 'stopped';
export type RebuildReason =
  | 'authentication'
  | 'token_refreshed'
  | 'authorized'
  | 'stall'
  | 'server_disconnect'
  | 'connection_limit'
  | 'daily_limit'
  | 'backpressure'
  | 'resubscribe'
  | 'transient'
  | 'transport_down'
  | 'retry';
export type ChannelState = 'pending' | 'active' | 'failed';

export interface StreamStats {
  state: StreamState;
  /** Why the stream is paused (`needs_reauth`, `unauthorized`, `disconnected`). */
  pausedBecause: string | undefined;
  clientsBuilt: number;
  rebuilds: Partial<Record<RebuildReason, number>>;
  unknownClients: number;
  rehandshakes: number;
  replayResets: number;
  channels: Record<string, ChannelState>;
  ingest: IngestStats;
  buffered: number;
}

export interface IntegrationStreamOptions {
  integration: IntegrationConfig;
  tokens: SessionSource;
  queue: ChangeJobSink;
  replay: ReplayStore;
  deadLetters: DeadLetterStore;
  status: StreamStatus;
  logger: Logger;
  metrics?: MetricsRecorder;
  timings?: Partial<StreamTimings>;
  /** Uniform in [0, 1) for backoff jitter. @defaultValue Math.random */
  random?: () => number;
  /** @defaultValue Date.now */
  now?: () => number;
}
