/**
 * The reconciler of one integration, run inside every worker process: it keeps the job schedulers
 * of the integration's objects in place, turns pending reconcile requests into runs, starts the
 * automatic backfill of first authorisation, and runs whatever reconcile-queue job BullMQ hands it.
 *
 * Which window a reconciliation reads (`SystemModstamp >= since`):
 * - the watermark minus the lookback (late commits, docs/salesforce.md#systemmodstamp-watermarks);
 * - with no watermark yet, the authorisation time minus the lookback: records that existed before
 *   authorisation wait for a backfill (product contract);
 * - a pending request widens it: to its `since`, or, when its `since` is null, to the whole object
 *   if there is no watermark yet (otherwise the watermark already covers what was missed).
 */
import { DelayedError, Worker, type Job, type Queue } from 'bullmq';
import type { RedisClient } from '../store/redis.ts';
import type { Logger } from 'pino';
import type { AuthStatus } from '../auth/token-store.ts';
import type { TokenEvent } from '../auth/token-service.ts';
import type { BridgeConfig, IntegrationConfig, ObjectConfig } from '../config/index.ts';
import type { MetricsRecorder } from '../metrics/recorder.ts';
import type { ChangeQueue } from '../queue/change-queue.ts';
import { integrationKeys, bridgeKeys } from '../store/keys.ts';
import type { RecordVersions } from '../store/record-versions.ts';
import { NotAuthorizedError } from '../salesforce/errors.ts';
import type { DescribeCache } from '../salesforce/describe-cache.ts';
import { SalesforceApiError, type SalesforceRestClient } from '../salesforce/rest-client.ts';
import { ApiBudget, type ApiBudgetOptions } from './api-budget.ts';
import { runBackfill, type BackfillProgress } from './backfill.ts';
import { sweepObject } from './id-sweep.ts';
import { reconcileObject, type ReconcileDeps } from './reconcile-object.ts';
import {
  digest,
  RECONCILE_JOB_NAME,
  ReconcileJobSchema,
  reconcileQueue,
  ReconcileTrigger,
  schedulerId,
  type ReconcileJob,
  type RunOutcome,
} from './reconcile-jobs.ts';
import { ReconcileState, type PendingRequest } from './reconcile-state.ts';

/** What reconciliation needs from its process: the parts the composition root (src/roles/context.ts) built. */
export interface ReconcilerHost {
  config: BridgeConfig;
  redis: RedisClient;
  logger: Logger;
  metrics: Pick<MetricsRecorder, 'inc'>;
  tokens: {
    store: { status(integration: string): Promise<AuthStatus> };
    subscribe(listener: (event: TokenEvent) => void): Promise<() => Promise<void>>;
  };
  integrations: ReadonlyMap<
    string,
    { rest: SalesforceRestClient; queue: ChangeQueue; versions: RecordVersions; describes: DescribeCache }
  >;
}

export interface ReconcilerOptions {
  /** API budget governor settings. */
  budget?: ApiBudgetOptions;
  /** The id sweep runs once every this many reconcile periods. @defaultValue 12 */
  sweepEvery?: number;
  /** How often pending reconcile requests are looked for (ms). @defaultValue 5000 */
  requestPollMs?: number;
  /** Runs in progress at once, per integration and process. @defaultValue 2 */
  concurrency?: number;
  /** Rows per keyset slice. @defaultValue DEFAULT_ROWS_PER_QUERY */
  rowsPerQuery?: number;
  /** Backfill objects that set `backfill:` when the integration is first authorised. @defaultValue true */
  autoBackfill?: boolean;
  /** How long a run holds its job before another worker may take it over after a crash (ms). @defaultValue 60000 */
  lockDurationMs?: number;
}

export class IntegrationReconciler {
  readonly budget: ApiBudget;
  readonly state: ReconcileState;
  readonly queue: Queue<ReconcileJob, RunOutcome>;
  readonly #worker: Worker<ReconcileJob, RunOutcome>;
  readonly #rest: SalesforceRestClient;
  /** The process's describes: a bulk backfill types its carried records with them. */
  readonly #describes: DescribeCache;
  readonly #versions: RecordVersions;
  readonly #changes: ChangeQueue;
  readonly #log: Logger;
  readonly #prefix: string;
  #requestTimer: NodeJS.Timeout | undefined;
  #polling = false;

  constructor(
    private readonly context: ReconcilerHost,
    readonly integration: IntegrationConfig,
    blocking: RedisClient,
    private readonly trigger: ReconcileTrigger,
    private readonly options: ReconcilerOptions,
  ) {
    const { config, redis } = context;
    this.#prefix = config.redis.prefix;
    this.#log = context.logger.child({ component: 'reconciler', integration: integration.key });
    this.budget = new ApiBudget(redis, this.#prefix, integration.key, options.budget);
    this.state = new ReconcileState(redis, this.#prefix, integration.key);
    const parts = context.integrations.get(integration.key);
    if (!parts) throw new Error(`no parts for integration ${integration.key}`);
    this.#versions = parts.versions;
    this.#rest = parts.rest;
    this.#describes = parts.describes;
    this.#changes = parts.queue;
    this.queue = reconcileQueue(redis, this.#prefix, integration.key);
    const keys = bridgeKeys(this.#prefix);
    this.#worker = new Worker<ReconcileJob, RunOutcome>(
      keys.reconcileQueueName(integration.key),
      (job, token) => this.#process(job, token),
      {
        connection: blocking,
        prefix: keys.queuePrefix(),
        concurrency: options.concurrency ?? 2,
        lockDuration: options.lockDurationMs ?? 60_000,
        autorun: false,
        drainDelay: 1,
      },
    );
    this.#worker.on('error', (error) => this.#log.warn({ err: error }, 'reconcile worker connection error'));
  }

  async start(): Promise<void> {
    await this.#upsertSchedulers();
    void this.#worker.run();
    const pollMs = this.options.requestPollMs ?? 5_000;
    this.#requestTimer = setInterval(() => void this.pollRequests(), pollMs);
    this.#requestTimer.unref();
    await this.ensureAutoBackfill();
  }

  /** One scheduler per object and kind; objects gone from the config lose theirs. */
  async #upsertSchedulers(): Promise<void> {
    const every = this.integration.reconcile.every;
    const sweepEvery = every * (this.options.sweepEvery ?? 12);
    const wanted = new Set<string>();
    for (const object of this.integration.objects) {
      wanted.add(schedulerId('reconcile', object.name));
      wanted.add(schedulerId('sweep', object.name));
      await this.queue.upsertJobScheduler(
        schedulerId('reconcile', object.name),
        { every },
        { name: RECONCILE_JOB_NAME, data: { kind: 'reconcile', object: object.name, trigger: 'schedule' } },
      );
      await this.queue.upsertJobScheduler(
        schedulerId('sweep', object.name),
        { every: sweepEvery },
        { name: RECONCILE_JOB_NAME, data: { kind: 'sweep', object: object.name, trigger: 'schedule' } },
      );
    }
    for (const scheduler of await this.queue.getJobSchedulers()) {
      const id = scheduler.id ?? scheduler.key;
      if (/^(reconcile|sweep)\|/.test(id) && !wanted.has(id)) await this.queue.removeJobScheduler(id);
    }
  }

  /** Turn pending requests (subscriber: first subscribe, expired replay id, overflow…) into runs. */
  async pollRequests(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const pending = await this.state.pendingRequests();
      if (pending.size === 0) return;
      // A still-pending request gets a new job once per bucket (its run may have been paused).
      const bucket = Math.floor(Date.now() / Math.max(5 * (this.options.requestPollMs ?? 5_000), 1_000));
      const jobs = [...pending]
        .filter(([object]) => this.integration.objects.some((o) => o.name === object))
        .map(([object, { raw }]) => ({
          name: RECONCILE_JOB_NAME,
          data: { kind: 'reconcile' as const, object, trigger: 'request' as const },
          opts: { jobId: `request|${object}|${digest(raw)}|${bucket}` },
        }));
      if (jobs.length > 0) await this.queue.addBulk(jobs);
    } catch (error) {
      this.#log.warn({ err: error }, 'could not read reconcile requests');
    } finally {
      this.#polling = false;
    }
  }

  /** First authorisation: backfill the objects that ask for it, once (the checkpoint marks it done). */
  async ensureAutoBackfill(): Promise<void> {
    if (this.options.autoBackfill === false) return;
    const objects = this.integration.objects.filter((object) => object.backfill !== undefined);
    if (objects.length === 0) return;
    const status = await this.context.tokens.store.status(this.integration.key);
    if (status.state !== 'authorized') return;
    const authorizedAt = Date.parse(status.authorizedAt ?? '') || Date.now();
    const keys = integrationKeys(this.#prefix, this.integration.key);
    for (const object of objects) {
      if ((await this.context.redis.exists(keys.backfill(object.name))) > 0) continue;
      await this.trigger.backfill(
        this.integration.key,
        [object.name],
        authorizedAt - (object.backfill ?? 0),
        'authorization',
        'first-authorization',
      );
      this.#log.info({ object: object.name }, 'automatic backfill of first authorisation queued');
    }
  }

  async #process(job: Job<ReconcileJob, RunOutcome>, token: string | undefined): Promise<RunOutcome> {
    const data = ReconcileJobSchema.parse(job.data);
    const object = this.integration.objects.find((o) => o.name === data.object);
    if (!object) return { outcome: 'skipped', reason: `${data.object} is no longer in the config` };
    const status = await this.context.tokens.store.status(this.integration.key);
    if (status.state !== 'authorized') return { outcome: 'skipped', reason: `integration is ${status.state}` };
    try {
      switch (data.kind) {
        case 'reconcile':
          return await this.#reconcile(object, data.trigger, status.authorizedAt);
        case 'sweep':
          return await this.#sweep(object, data.trigger);
        case 'backfill':
          return await this.#backfill(object, data.since === null ? null : Date.parse(data.since), job, token);
      }
    } catch (error) {
      if (error instanceof DelayedError) throw error;
      return this.#failed(object, data.kind, error);
    }
  }

  async #reconcile(
    object: ObjectConfig,
    trigger: 'schedule' | 'request' | 'admin',
    authorizedAt: string | undefined,
  ): Promise<RunOutcome> {
    const pending = await this.state.pendingRequest(object.name);
    if (trigger === 'request' && !pending) return { outcome: 'skipped', reason: 'request already served' };
    const lastRunAt = await this.state.lastRunAt(object.name, 'lastReconcileAt');
    // Only the periodic run stretches under a high API usage; asked-for runs wait only for a pause.
    const admission = await this.budget.admit(
      'reconcile',
      trigger === 'schedule' ? { lastRunAt, periodMs: this.integration.reconcile.every } : {},
    );
    if (!admission.ok) {
      this.#log.info({ object: object.name, reason: admission.reason }, 'reconciliation held back');
      return { outcome: admission.reason.startsWith('paused') ? 'paused' : 'skipped', reason: admission.reason };
    }
    const since = await this.#windowStart(object, pending, authorizedAt);
    const result = await reconcileObject(object, since, this.#deps());
    const labels = { integration: this.integration.key, object: object.name };
    this.context.metrics.inc('reconcileRuns', labels);
    this.context.metrics.inc('reconcileRecords', labels, result.scanned);
    await this.state.recordRun(object.name, 'lastReconcileAt');
    if (pending) await this.state.completeRequest(object.name, pending);
    await this.budget.clearPause();
    const stats = {
      ...result,
      since: since === null ? null : new Date(since).toISOString(),
      watermark: result.watermark === undefined ? undefined : new Date(result.watermark).toISOString(),
    };
    this.#log[result.refreshed + result.leftScope + result.deleted > 0 ? 'info' : 'debug'](
      { object: object.name, trigger, ...stats },
      'reconciled',
    );
    return { outcome: 'ran', stats };
  }

  async #windowStart(
    object: ObjectConfig,
    pending: PendingRequest | undefined,
    authorizedAt: string | undefined,
  ): Promise<number | null> {
    const watermark = await this.state.watermark(object.name);
    const lookback = this.integration.reconcile.lookback;
    const authorized = authorizedAt ? Date.parse(authorizedAt) : Number.NaN;
    const base =
      watermark !== undefined ? watermark - lookback : Number.isNaN(authorized) ? null : authorized - lookback;
    if (!pending) return base;
    if (pending.request.since === null) return watermark === undefined ? null : base;
    const requested = Date.parse(pending.request.since);
    if (Number.isNaN(requested)) return base;
    return base === null ? requested : Math.min(base, requested);
  }

  async #sweep(object: ObjectConfig, trigger: 'schedule' | 'admin'): Promise<RunOutcome> {
    const lastRunAt = await this.state.lastRunAt(object.name, 'lastSweepAt');
    const period = this.integration.reconcile.every * (this.options.sweepEvery ?? 12);
    // A job scheduler fires once as it is created: on a first start nothing has been pushed that
    // could have vanished, so the first sweep waits a full period instead of reading every id now.
    if (trigger === 'schedule' && lastRunAt === undefined) {
      await this.state.recordRun(object.name, 'lastSweepAt');
      return { outcome: 'skipped', reason: 'first period: nothing to sweep yet' };
    }
    const admission = await this.budget.admit('sweep', trigger === 'schedule' ? { lastRunAt, periodMs: period } : {});
    if (!admission.ok)
      return { outcome: admission.reason.startsWith('paused') ? 'paused' : 'skipped', reason: admission.reason };
    const result = await sweepObject(object, { ...this.#deps(), redis: this.context.redis, prefix: this.#prefix });
    await this.state.recordRun(object.name, 'lastSweepAt');
    await this.budget.clearPause();
    this.#log[result.refreshed > 0 ? 'info' : 'debug']({ object: object.name, ...result }, 'id sweep done');
    return { outcome: 'ran', stats: { ...result } };
  }

  async #backfill(
    object: ObjectConfig,
    since: number | null,
    job: Job<ReconcileJob, RunOutcome>,
    token: string | undefined,
  ): Promise<RunOutcome> {
    let lastLog = 0;
    const onProgress = (progress: BackfillProgress) => {
      if (Date.now() - lastLog < 5_000) return;
      lastLog = Date.now();
      this.#log.info({ ...progress }, 'backfill progress');
      void job
        .updateProgress({ enqueued: progress.enqueued, fraction: progress.fraction ?? null })
        .catch(() => undefined);
    };
    const result = await runBackfill(object, since, {
      ...this.#deps(),
      redis: this.context.redis,
      prefix: this.#prefix,
      budget: this.budget,
      describes: this.#describes,
      onProgress,
    });
    if (result.outcome === 'deferred') {
      this.#log.info({ object: object.name, enqueued: result.enqueued, reason: result.reason }, 'backfill deferred');
      if (token) {
        // Back to the queue until the budget allows more; the checkpoint keeps the position.
        await job.moveToDelayed(Date.now() + result.retryInMs, token);
        throw new DelayedError();
      }
      return { outcome: 'deferred', reason: result.reason };
    }
    this.#log.info({ object: object.name, enqueued: result.enqueued, resumed: result.resumed }, 'backfill done');
    return { outcome: 'ran', stats: { enqueued: result.enqueued, resumed: String(result.resumed) } };
  }

  async #failed(object: ObjectConfig, kind: ReconcileJob['kind'], error: unknown): Promise<RunOutcome> {
    if (error instanceof SalesforceApiError && error.isLimitExceeded) {
      // The daily allocation is used up: hold this integration's API work; a later run probes.
      const until = await this.budget.pauseForLimit();
      await this.state.recordError(object.name, `${error.message}: paused until ${new Date(until).toISOString()}`);
      this.#log.warn(
        { object: object.name, kind, until: new Date(until).toISOString() },
        'Salesforce API limit reached: reconciliation paused',
      );
      return { outcome: 'paused', reason: error.message };
    }
    if (error instanceof NotAuthorizedError) return { outcome: 'skipped', reason: error.message };
    await this.state
      .recordError(object.name, error instanceof Error ? error.message : String(error))
      .catch(() => undefined);
    this.#log.error({ err: error, object: object.name, kind }, 'reconcile run failed');
    throw error;
  }

  #deps(): ReconcileDeps {
    return {
      integration: this.integration,
      rest: this.#rest,
      queue: this.#changes,
      versions: this.#versions,
      state: this.state,
      logger: this.#log,
      ...(this.options.rowsPerQuery ? { rowsPerQuery: this.options.rowsPerQuery } : {}),
    };
  }

  async close(): Promise<void> {
    clearInterval(this.#requestTimer);
    await this.#worker.close();
    await this.queue.close();
  }
}
