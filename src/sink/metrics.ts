/**
 * What the sink reports about itself, as plain callbacks, so the ops side can wire them to
 * Prometheus (prom-client counters and histograms) without the sink depending on it. Every hook is
 * optional; `SinkMetricsCounters` is an in-memory implementation for tests and the status page.
 */
import type { CmOperation } from './errors.ts';

/** An HTTP status (`"200"`, `"429"`), or why there was none. */
export type CmRequestOutcome = `${number}` | 'timeout' | 'connection';

/** What happened to comments (or delete ids) handed to the pusher. */
export type CommentOutcome =
  /** Accepted by `/sync`. */
  | 'pushed'
  /** Refused by CM as invalid, returned as `rejected` for the dead-letter list. */
  | 'rejected'
  /** An earlier copy of an id in the same push, dropped: the last version wins. */
  | 'deduplicated'
  /** Deleted, or already absent (404 on delete counts as done). */
  | 'deleted';

export interface SinkMetrics {
  /** One HTTP exchange with CM finished (or failed without an answer). */
  onRequest?(event: { operation: CmOperation; outcome: CmRequestOutcome; durationMs: number }): void;
  /** `count` comments reached `outcome`. */
  onComments?(event: { outcome: CommentOutcome; count: number }): void;
  /** A request failed retryably and will be sent again after `delayMs`. `reason` is the error's code. */
  onRetry?(event: { operation: CmOperation; reason: string; attempt: number; delayMs: number }): void;
  /** A batch CM refused as invalid was bisected into two smaller requests. */
  onSplit?(event: { size: number }): void;
}

export interface SinkMetricsSnapshot {
  /** operation → outcome → count, e.g. `requests.sync["429"]`. */
  requests: Partial<Record<CmOperation, Partial<Record<CmRequestOutcome, number>>>>;
  comments: Record<CommentOutcome, number>;
  /** error code → retries, e.g. `retries.BRIDGE_ERR_SINK_RATE_LIMITED`. */
  retries: Record<string, number>;
  splits: number;
}

/** Counts every hook in memory. */
export class SinkMetricsCounters implements Required<SinkMetrics> {
  #snapshot: SinkMetricsSnapshot = emptySnapshot();

  onRequest(event: { operation: CmOperation; outcome: CmRequestOutcome }): void {
    const byOutcome = (this.#snapshot.requests[event.operation] ??= {});
    byOutcome[event.outcome] = (byOutcome[event.outcome] ?? 0) + 1;
  }

  onComments(event: { outcome: CommentOutcome; count: number }): void {
    this.#snapshot.comments[event.outcome] += event.count;
  }

  onRetry(event: { reason: string }): void {
    this.#snapshot.retries[event.reason] = (this.#snapshot.retries[event.reason] ?? 0) + 1;
  }

  onSplit(): void {
    this.#snapshot.splits++;
  }

  /** A deep copy: later events do not change it. */
  snapshot(): SinkMetricsSnapshot {
    return structuredClone(this.#snapshot);
  }
}

function emptySnapshot(): SinkMetricsSnapshot {
  return { requests: {}, comments: { pushed: 0, rejected: 0, deduplicated: 0, deleted: 0 }, retries: {}, splits: 0 };
}
