/**
 * Reconciliation, poll mode, backfill and the API budget governor (issue 7). The worker role
 * starts it: `startReconciler(context, shutdown)`. Every worker process runs one; BullMQ's job
 * schedulers and job locks make each run happen once, on one of them.
 */
import { createRedis } from '../store/redis.ts';
import type { Shutdown } from '../shutdown.ts';
import { ReconcileTrigger } from './reconcile-jobs.ts';
import { IntegrationReconciler, type ReconcilerHost, type ReconcilerOptions } from './reconciler.ts';

export { ApiBudget, type ApiBudgetOptions, type ApiUsageReading, type Admission } from './api-budget.ts';
export {
  runBackfill,
  readBackfillCheckpoint,
  type BackfillCheckpoint,
  type BackfillOutcome,
  type BackfillProgress,
} from './backfill.ts';
export { sweepObject, type SweepResult } from './id-sweep.ts';
export { reconcileObject, type ReconcileDeps, type ReconcileResult } from './reconcile-object.ts';
export { ReconcileTrigger, ReconcileJobSchema, type ReconcileJob, type RunOutcome } from './reconcile-jobs.ts';
export { ReconcileState } from './reconcile-state.ts';
export { IntegrationReconciler, type ReconcilerHost, type ReconcilerOptions } from './reconciler.ts';

export interface Reconciler {
  /** Per integration key. */
  integrations: ReadonlyMap<string, IntegrationReconciler>;
  /** Reconcile now (every object, or one) from the watermark; resolves once the runs are queued. */
  runNow(integration: string, object?: string): Promise<void>;
  /** Run the id sweep now (every object, or one). */
  sweepNow(integration: string, object?: string): Promise<void>;
  close(): Promise<void>;
}

export async function startReconciler(
  context: ReconcilerHost,
  shutdown: Shutdown,
  options: ReconcilerOptions = {},
): Promise<Reconciler> {
  const { config, tokens } = context;
  const blocking = createRedis(config.redis, 'worker');
  const trigger = new ReconcileTrigger(context.redis, config.redis.prefix);
  const integrations = new Map<string, IntegrationReconciler>();
  for (const integration of config.integrations) {
    integrations.set(integration.key, new IntegrationReconciler(context, integration, blocking, trigger, options));
  }
  for (const reconciler of integrations.values()) await reconciler.start();

  // An authorisation starts the automatic backfills at once, and reconciles the poll-mode objects
  // (no subscriber asks for them); a request may be waiting too.
  const unsubscribe = await tokens.subscribe((event) => {
    if (event.kind !== 'authorized') return;
    const reconciler = integrations.get(event.integration);
    reconciler
      ?.ensureAutoBackfill()
      .catch((error: unknown) =>
        context.logger.warn({ err: error, integration: event.integration }, 'automatic backfill not queued'),
      );
    void reconciler?.pollRequests();
    const polled =
      reconciler?.integration.objects.filter((object) => object.mode === 'poll').map((object) => object.name) ?? [];
    if (polled.length > 0) {
      void tokens.store
        .status(event.integration)
        .then((status) =>
          trigger.reconcileNow(event.integration, polled, `authorized-${status.authorizedAt ?? Date.now()}`),
        )
        .catch((error: unknown) =>
          context.logger.warn(
            { err: error, integration: event.integration },
            'reconciliation after authorisation not queued',
          ),
        );
    }
  });

  const objectsOf = (integration: string, object?: string): string[] => {
    const reconciler = integrations.get(integration);
    if (!reconciler) throw new Error(`no integration ${integration}`);
    const names = reconciler.integration.objects.map((o) => o.name);
    if (object === undefined) return names;
    if (!names.includes(object)) throw new Error(`integration ${integration} has no object ${object}`);
    return [object];
  };

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await unsubscribe();
    await Promise.all([...integrations.values()].map((reconciler) => reconciler.close()));
    await trigger.close();
    blocking.disconnect();
  };
  shutdown.onShutdown('reconciler', close);
  context.logger.info({ integrations: integrations.size }, 'reconciler started');
  return {
    integrations,
    runNow: async (integration, object) => {
      await trigger.reconcileNow(integration, objectsOf(integration, object));
    },
    sweepNow: async (integration, object) => {
      await trigger.sweepNow(integration, objectsOf(integration, object));
    },
    close,
  };
}
