/**
 * Reconciliation tests: a sandbox org with an authorised integration, real Redis (own prefix), the
 * simulated Communications Mining, a worker role and reconcilers on short periods.
 */
import pino from 'pino';
import { startReconciler, type Reconciler, type ReconcilerOptions } from '../../src/reconcile/index.ts';
import { startWorkerRole } from '../../src/roles/worker.ts';
import type { SalesforceOrgOptions } from '@sf-cm-bridge/sandbox/org';
import type { SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import { startAuthorisedPipeline } from '../helpers/pipeline.ts';
import { Shutdown } from '../../src/shutdown.ts';
import type { BridgeHarness } from '../helpers/bridge.ts';

export { INTEGRATION } from '../helpers/oauth.ts';

const CM_TOKEN = 'cm-reconcile-token';

export interface ReconcileHarness {
  bridge: BridgeHarness;
  cm: SimulatedCommunicationsMining;
  shutdown: Shutdown;
  /** Start a worker role (fetch/push) on its own context. */
  startWorker(): Promise<void>;
  /** Start a reconciler; the first on the main context, later ones on their own (another process). */
  startReconciler(options?: ReconcilerOptions): Promise<Reconciler>;
  /** Body text of a comment in CM, undefined when absent. */
  body(id: unknown): string | undefined;
  close(): Promise<void>;
}

/** Test timings: fast request polling; the period comes from the YAML. */
export const FAST_RECONCILER: ReconcilerOptions = {
  requestPollMs: 100,
  budget: { pauseMs: 500, staleAfterMs: 60_000, deferMs: 200 },
};

/**
 * `objects`: YAML `objects:` entries (6-space indent). `reconcile`: the integration's `reconcile:`
 * block, placed after the objects at the integration's indentation (the real loader parses it).
 */
export async function startReconcileHarness(options: {
  objects: string;
  reconcile?: string;
  org?: Partial<SalesforceOrgOptions>;
  /** Stream over the org's Pub/Sub API instead of CometD. */
  pubsub?: boolean;
}): Promise<ReconcileHarness> {
  const objects = `${options.objects}\n    reconcile: ${options.reconcile ?? '{ every: 1s, lookback: 60s }'}`;
  const { harness: bridge, cm } = await startAuthorisedPipeline({
    objects,
    cmToken: CM_TOKEN,
    ...(options.org ? { org: options.org } : {}),
    ...(options.pubsub ? { pubsub: true } : {}),
  });
  const shutdown = new Shutdown(pino({ level: 'silent' }));
  let reconcilers = 0;
  return {
    bridge,
    cm,
    shutdown,
    async startWorker() {
      // Reconcilers are started explicitly by the tests (startReconciler), with test timings.
      await startWorkerRole(bridge.secondContext(), shutdown, {
        sinkRetry: { baseDelayMs: 10, maxDelayMs: 50 },
        reconciler: false,
      });
    },
    async startReconciler(reconcilerOptions = FAST_RECONCILER) {
      const context = reconcilers++ === 0 ? bridge.context : bridge.secondContext();
      return startReconciler(context, shutdown, reconcilerOptions);
    },
    body: (id) => cm.control.comment('acme', 'emails', String(id))?.comment.messages[0]?.body.text,
    async close() {
      await shutdown.run('test over');
      await bridge.close();
      await cm.close();
    },
  };
}

/** A clock the org's store reads, which a test may hold still or move back (ties, late commits). */
export function orgClock() {
  let offset = 0;
  let frozen: number | undefined;
  return {
    now: () => frozen ?? Date.now() + offset,
    /** Hold the clock at `ms` (every record then gets the same SystemModstamp second). */
    freeze(ms: number) {
      frozen = ms;
    },
    /** Run again, `offsetMs` from real time (negative: in the past). */
    run(offsetMs = 0) {
      frozen = undefined;
      offset = offsetMs;
    },
  };
}
