/**
 * The `worker` role: for every integration, a change worker that fetches, transforms and pushes.
 * Stateless; scale it by running more processes. Composition only.
 */
import { createRedis } from '../store/redis.ts';
import type { Shutdown } from '../shutdown.ts';
import { CommentPusher } from '../sink/comment-pusher.ts';
import { createCmClient } from '../sink/client.ts';
import { TargetPauseStore } from '../store/target-pause.ts';
import { FlowStats } from '../metrics/flow-stats.ts';
import type { RetryPolicy } from '../sink/retry.ts';
import type { SinkMetrics } from '../sink/metrics.ts';
import { processChangeBatch, type ChangeBatchDeps } from '../worker/change-batch.ts';
import { startReconciler, type ReconcilerOptions } from '../reconcile/index.ts';
import { ChangeWorker } from '../worker/change-worker.ts';
import type { BridgeContext } from './context.ts';

export interface WorkerRoleOptions {
  /** Changes per batch. @defaultValue config.worker.batchSize */
  batchSize?: number;
  /** How long a take waits for more changes, ms. @defaultValue config.worker.linger */
  lingerMs?: number;
  /** Communications Mining retry policy (tests make it fast). */
  sinkRetry?: Partial<RetryPolicy>;
  /** Reconciler tuning (tests shorten its timings); `false`: this process runs no reconciliation. */
  reconciler?: ReconcilerOptions | false;
  /** How often a target that refused the bridge is probed. @defaultValue 60000 */
  targetProbeEveryMs?: number;
}

export interface WorkerRole {
  workers: ChangeWorker[];
  close(): Promise<void>;
}

export async function startWorkerRole(
  context: BridgeContext,
  shutdown: Shutdown,
  options: WorkerRoleOptions = {},
): Promise<WorkerRole> {
  const { config, redis, tokens, logger } = context;
  const prefix = config.redis.prefix;
  const workers: ChangeWorker[] = [];
  const blocking = createRedis(config.redis, 'worker');
  const targetPauses = new TargetPauseStore(redis, prefix);
  const flow = new FlowStats(redis, prefix);

  for (const integration of config.integrations) {
    const log = logger.child({ integration: integration.key });
    const labels = { integration: integration.key };
    // The workers' own fetches keep the API-usage reading fresh for the governor.
    const parts = context.integrations.get(integration.key);
    if (!parts) throw new Error(`no parts for integration ${integration.key}`);
    const { rest, describes } = parts;
    const sinkMetrics: SinkMetrics = {
      onRequest: ({ operation, outcome }) =>
        context.metrics.inc('cmRequests', { ...labels, operation, status: outcome }),
      onComments: ({ outcome, count }) => context.metrics.inc('cmComments', { ...labels, outcome }, count),
    };
    const client = createCmClient({
      baseUrl: integration.target.url,
      token: integration.target.token,
      logger: log,
      metrics: sinkMetrics,
    });
    const pusher = new CommentPusher({
      client,
      project: integration.target.project,
      source: integration.target.source,
      logger: log,
      metrics: sinkMetrics,
      ...(options.sinkRetry ? { retry: options.sinkRetry } : {}),
    });
    const deps: ChangeBatchDeps = {
      integration,
      rest,
      describes,
      pusher,
      versions: parts.versions,
      deadLetters: context.deadLetters,
      logger: log,
      lockTtlMs: config.worker.jobLock,
      metrics: context.metrics,
      flow,
      trail: parts.trail,
    };
    const queue = context.queues.get(integration.key);
    if (!queue) throw new Error(`no change queue for ${integration.key}`);
    const worker = new ChangeWorker({
      connection: blocking,
      prefix,
      integration: integration.key,
      queue,
      process: (jobs, signal) => processChangeBatch(jobs, { ...deps, signal }),
      deadLetters: context.deadLetters,
      logger: log,
      authorised: async () => (await tokens.store.status(integration.key)).state === 'authorized',
      target: {
        store: targetPauses,
        probe: async (signal) => {
          await client.getSource(integration.target.project, integration.target.source, { signal });
        },
        ...(options.targetProbeEveryMs ? { probeEveryMs: options.targetProbeEveryMs } : {}),
      },
      batchSize: options.batchSize ?? config.worker.batchSize,
      concurrency: config.worker.concurrency,
      lingerMs: options.lingerMs ?? config.worker.linger,
      lockDurationMs: config.worker.jobLock,
    });
    worker.start();
    workers.push(worker);
  }

  // Reconciliation and backfill runs: BullMQ job schedulers give one run per object per period
  // across all workers; they feed the same change queue.
  const reconciler =
    options.reconciler === false ? undefined : await startReconciler(context, shutdown, options.reconciler ?? {});

  // A re-authorised integration resumes at once instead of at the end of its pause.
  const unsubscribe = await tokens.subscribe((event) => {
    if (event.kind !== 'authorized') return;
    const index = config.integrations.findIndex((i) => i.key === event.integration);
    workers[index]?.resume();
  });

  const close = async () => {
    await reconciler?.close();
    await unsubscribe();
    await Promise.all(workers.map((w) => w.close()));
    blocking.disconnect();
  };
  shutdown.onShutdown('worker', close);
  logger.info({ integrations: config.integrations.length }, 'workers started');
  return { workers, close };
}
