/**
 * What `sf-cm-bridge backfill` does when it runs (the command and its help are in backfill.ts):
 * loaded only then, so the command list and `--help` start without loading the bridge.
 */
import type { Logger } from 'pino';
import {
  loadConfigFile,
  parseDuration,
  secretValues,
  type IntegrationConfig,
  type ObjectConfig,
} from '../config/index.ts';
import { UsageError } from '../errors.ts';
import { createLogger, SecretScrubber } from '../logging.ts';
import { ApiBudget, type ApiBudgetOptions } from '../reconcile/api-budget.ts';
import { runBackfill, type BackfillMode, type BackfillProgress } from '../reconcile/backfill.ts';
import type { PollOptions } from '../salesforce/bulk/bulk-query-client.ts';
import { ReconcileState } from '../reconcile/reconcile-state.ts';
import { assertRedisReachable, createRedis } from '../store/redis.ts';
import { createContext, type BridgeContext } from '../roles/context.ts';
import { NotAuthorizedError } from '../salesforce/errors.ts';
import { configPath, EXIT } from './command.ts';

export interface BackfillRequest {
  integration: string;
  object?: string;
  since: number | null;
}

/** Positionals and options → what to backfill; a UsageError (exit 2) says what is wrong. */
export function parseBackfillArgs(
  values: Record<string, string | boolean | undefined>,
  positionals: string[],
  now = Date.now(),
): BackfillRequest {
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length === 0
        ? 'name the integration: <project>/<integration>'
        : `one integration only, got ${positionals.join(' ')}`,
    );
  const integration = positionals[0] ?? '';
  if (!/^[^/\s]+\/[^/\s]+$/.test(integration)) throw new UsageError(`"${integration}" is not <project>/<integration>`);
  const object = typeof values.object === 'string' ? values.object : undefined;
  return { integration, ...(object !== undefined ? { object } : {}), since: parseSince(values.since, now) };
}

function parseSince(value: string | boolean | undefined, now: number): number | null {
  if (value === undefined || value === false) return null;
  if (typeof value !== 'string' || value === '')
    throw new UsageError('--since needs a value: an ISO 8601 time or a duration such as 30d');
  const duration = parseDuration(value);
  if (duration !== undefined && duration > 0) return now - duration;
  // Date-only or date-time with a zone: anything else is ambiguous about the time zone.
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new UsageError(`--since "${value}" is neither an ISO 8601 time (2024-05-01T00:00:00Z) nor a duration (30d)`);
}

export async function runBackfillCommand(
  values: Record<string, string | boolean | undefined>,
  request: BackfillRequest,
): Promise<number> {
  const config = loadConfigFile(configPath(values));
  const integration = config.integrations.find((i) => i.key === request.integration);
  if (!integration) {
    throw new UsageError(
      `no integration "${request.integration}" in ${config.file} (it has: ${config.integrations.map((i) => i.key).join(', ')})`,
    );
  }
  const objects =
    request.object === undefined ? integration.objects : integration.objects.filter((o) => o.name === request.object);
  if (objects.length === 0) {
    throw new UsageError(
      `integration ${integration.key} has no object "${request.object}" (it has: ${integration.objects.map((o) => o.name).join(', ')})`,
    );
  }

  const scrubber = new SecretScrubber();
  scrubber.add(...secretValues(config));
  const tty = process.stderr.isTTY;
  // On a terminal the progress bar is the output; log lines only for warnings.
  const logger = createLogger({ scrubber, base: { command: 'backfill' }, ...(tty ? { level: 'warn' } : {}) });
  await assertRedisReachable(config.redis);
  const redis = createRedis(config.redis);
  const context = createContext({ config, logger, redis, scrubber });
  try {
    const status = await context.tokens.store.status(integration.key);
    if (status.state !== 'authorized') throw new NotAuthorizedError(integration.key, status.state);
    const reporter = tty ? new ProgressBar(process.stderr) : new ProgressLog(logger);
    const totals = await backfillObjects(context, integration, objects, request.since, {
      onProgress: (p) => reporter.update(p),
      onDeferred: (o, r) => reporter.deferred(o, r),
    });
    reporter.finish();
    process.stdout.write(
      `${integration.key}: ${totals.map((t) => `${t.object} ${t.enqueued} record(s)${t.mode === 'bulk' ? ' (Bulk API 2.0)' : ''}${t.resumed ? ' (resumed)' : ''}`).join(', ')} queued; workers push them.\n`,
    );
    return EXIT.ok;
  } finally {
    await context.close();
    await redis.quit().catch(() => redis.disconnect());
  }
}

export interface BackfillTotals {
  object: string;
  enqueued: number;
  resumed: boolean;
  mode: BackfillMode;
}

/**
 * Backfill `objects` one after the other, in this process. While the API budget defers it, waits
 * and asks again; Ctrl-C leaves a checkpoint to resume from.
 */
export async function backfillObjects(
  context: BridgeContext,
  integration: IntegrationConfig,
  objects: readonly ObjectConfig[],
  since: number | null,
  hooks: {
    onProgress?: (progress: BackfillProgress) => void;
    onDeferred?: (object: string, reason: string) => void;
    budget?: ApiBudgetOptions;
    rowsPerQuery?: number;
    signal?: AbortSignal;
    bulkPoll?: PollOptions;
    bulkPageRecords?: number;
    aheadChanges?: number;
  } = {},
): Promise<BackfillTotals[]> {
  const prefix = context.config.redis.prefix;
  const budget = new ApiBudget(context.redis, prefix, integration.key, hooks.budget);
  const parts = context.integrations.get(integration.key);
  if (!parts) throw new Error(`no parts for integration ${integration.key}`);
  const { rest, queue, describes } = parts;
  const totals: BackfillTotals[] = [];
  for (const object of objects) {
    for (;;) {
      const result = await runBackfill(object, since, {
        integration,
        rest,
        queue,
        describes,
        versions: parts.versions,
        state: new ReconcileState(context.redis, prefix, integration.key),
        logger: context.logger,
        redis: context.redis,
        prefix,
        budget,
        ...(hooks.rowsPerQuery ? { rowsPerQuery: hooks.rowsPerQuery } : {}),
        ...(hooks.bulkPoll ? { bulkPoll: hooks.bulkPoll } : {}),
        ...(hooks.bulkPageRecords ? { bulkPageRecords: hooks.bulkPageRecords } : {}),
        ...(hooks.aheadChanges ? { aheadChanges: hooks.aheadChanges } : {}),
        ...(hooks.signal ? { signal: hooks.signal } : {}),
        ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
      });
      if (result.outcome === 'done') {
        totals.push({ object: object.name, enqueued: result.enqueued, resumed: result.resumed, mode: result.mode });
        break;
      }
      hooks.onDeferred?.(object.name, result.reason);
      await new Promise((resolve) => setTimeout(resolve, Math.max(100, result.retryInMs)));
      hooks.signal?.throwIfAborted();
    }
  }
  return totals;
}

interface Reporter {
  update(progress: BackfillProgress): void;
  deferred(object: string, reason: string): void;
  finish(): void;
}

/** Rate over the records queued by this process (a resumed run starts its own count). */
class RateMeter {
  #start: { at: number; enqueued: number } | undefined;

  sample(progress: BackfillProgress, now = Date.now()): { rate: number; etaSeconds: number | undefined } {
    this.#start ??= { at: now, enqueued: progress.enqueued };
    const seconds = (now - this.#start.at) / 1000;
    const rate = seconds > 0 ? (progress.enqueued - this.#start.enqueued) / seconds : 0;
    const fraction = progress.fraction;
    // ETA from how far through the SystemModstamp range the cursor is, at the elapsed pace.
    const etaSeconds =
      fraction !== undefined && fraction > 0 && fraction < 1 && seconds > 0
        ? (seconds * (1 - fraction)) / fraction
        : undefined;
    return { rate, etaSeconds };
  }

  reset(): void {
    this.#start = undefined;
  }
}

function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

class ProgressBar implements Reporter {
  readonly #meter = new RateMeter();
  #object: string | undefined;

  constructor(private readonly out: NodeJS.WriteStream) {}

  update(progress: BackfillProgress): void {
    if (progress.object !== this.#object) {
      if (this.#object !== undefined) this.out.write('\n');
      this.#object = progress.object;
      this.#meter.reset();
    }
    const { rate, etaSeconds } = this.#meter.sample(progress);
    const width = 30;
    const filled = Math.round((progress.fraction ?? 0) * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const percent =
      progress.fraction === undefined ? ' --%' : `${String(Math.floor(progress.fraction * 100)).padStart(3)}%`;
    this.out.write(
      `\r${progress.object} [${bar}] ${percent}  ${progress.enqueued.toLocaleString('en')} records  ${Math.round(rate).toLocaleString('en')}/s  ETA ${formatEta(etaSeconds)}${progress.resumed ? '  (resumed)' : ''}\x1b[K`,
    );
  }

  deferred(object: string, reason: string): void {
    this.out.write(`\r${object}: waiting: ${reason}\x1b[K`);
  }

  finish(): void {
    if (this.#object !== undefined) this.out.write('\n');
  }
}

class ProgressLog implements Reporter {
  readonly #meter = new RateMeter();
  #lastAt = 0;
  #object: string | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly everyMs = 5_000,
  ) {}

  update(progress: BackfillProgress): void {
    if (progress.object !== this.#object) {
      this.#object = progress.object;
      this.#meter.reset();
      this.#lastAt = 0;
    }
    const { rate, etaSeconds } = this.#meter.sample(progress);
    if (Date.now() - this.#lastAt < this.everyMs) return;
    this.#lastAt = Date.now();
    this.logger.info(
      {
        object: progress.object,
        enqueued: progress.enqueued,
        ratePerSecond: Math.round(rate),
        percent: progress.fraction === undefined ? undefined : Math.floor(progress.fraction * 100),
        eta: formatEta(etaSeconds),
        resumed: progress.resumed,
      },
      'backfill progress',
    );
  }

  deferred(object: string, reason: string): void {
    this.logger.warn({ object, reason }, 'backfill waiting');
  }

  finish(): void {
    /* the summary line follows on stdout */
  }
}
