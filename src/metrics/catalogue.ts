/**
 * Every metric the bridge exposes, in one place: name, help and labels. Counters are recorded by
 * whichever process does the work and summed in Redis, so one scrape of the api role shows the
 * whole deployment; gauges are read from Redis at scrape time.
 */

export interface CounterDefinition {
  name: string;
  help: string;
  labels: readonly string[];
}

export const COUNTERS = {
  eventsReceived: {
    name: 'sfcm_events_received_total',
    help: 'CDC change events received and enqueued, by integration, object and change type',
    labels: ['integration', 'object', 'change_type'],
  },
  restCalls: {
    name: 'sfcm_salesforce_rest_calls_total',
    help: 'Salesforce REST calls made, by integration and kind (query, queryMore, describe)',
    labels: ['integration', 'kind'],
  },
  cmRequests: {
    name: 'sfcm_cm_requests_total',
    help: 'Communications Mining requests, by integration, operation and status (or timeout/connection)',
    labels: ['integration', 'operation', 'status'],
  },
  cmComments: {
    name: 'sfcm_cm_comments_total',
    help: 'Comments by outcome (pushed, rejected, deduplicated, deleted)',
    labels: ['integration', 'outcome'],
  },
  changesProcessed: {
    name: 'sfcm_changes_processed_total',
    help: 'Changes processed by workers, by integration and result (pushed, deleted, unchanged, stale, dead_lettered)',
    labels: ['integration', 'result'],
  },
  tokenRefreshes: {
    name: 'sfcm_token_refreshes_total',
    help: 'Access-token refreshes, by integration and outcome',
    labels: ['integration', 'outcome'],
  },
  reconcileRuns: {
    name: 'sfcm_reconcile_runs_total',
    help: 'Reconciliation runs, by integration and object',
    labels: ['integration', 'object'],
  },
  reconcileRecords: {
    name: 'sfcm_reconcile_records_total',
    help: 'Records read by reconciliation runs (each one then checked against what was pushed), by integration and object',
    labels: ['integration', 'object'],
  },
} as const satisfies Record<string, CounterDefinition>;

export type CounterName = keyof typeof COUNTERS;

/** Enqueue → push latency buckets, seconds. */
export const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] as const;
export const LATENCY_HISTOGRAM = {
  name: 'sfcm_push_latency_seconds',
  help: 'Time from a change entering the queue to its comment being pushed (or deleted)',
  labels: ['integration'],
} as const;

/**
 * Changes (not BullMQ jobs: a job carries up to 250) that wait for a worker, read from the queues at
 * scrape time. The workers' autoscaler scales on it (deploy/kubernetes, docs/operations.md).
 */
export const CHANGES_WAITING_GAUGE = {
  name: 'sfcm_changes_waiting',
  help: 'Changes waiting for a worker (in jobs not yet taken; retries waiting out a backoff excluded)',
  labels: ['integration'],
} as const;
