/**
 * The Communications Mining sink: a typed client (client.ts), the batch pusher (comment-pusher.ts),
 * the error catalogue and retry decision (errors.ts), and metrics hooks (metrics.ts).
 */
export type { Comment, Message, MessageText, UserProperties } from './comment.ts';
export {
  createCmClient,
  DEFAULT_TIMEOUT_MS,
  MAX_IDS_PER_DELETE,
  type CmCallOptions,
  type CmClient,
  type CmClientOptions,
  type CmCommentView,
  type CmSource,
  type SyncCounters,
} from './client.ts';
export {
  CommentPusher,
  type CommentPusherOptions,
  type PushOptions,
  type PushRequest,
  type PushResult,
  type RejectedComment,
} from './comment-pusher.ts';
export { DEFAULT_SYNC_BATCH_LIMITS, type SyncBatchLimits } from './batching.ts';
export { DEFAULT_RETRY_POLICY, type RetryClock, type RetryPolicy } from './retry.ts';
export * from './errors.ts';
export { SinkMetricsCounters, type CmRequestOutcome, type CommentOutcome, type SinkMetrics, type SinkMetricsSnapshot } from './metrics.ts';
