/**
 * Keeps a role process's memory near its live size in a burst (docs/runtime.md, "Memory in a burst").
 *
 * What a burst leaves in a bridge process is mostly garbage, not live data: the buffers between the
 * stream and the workers are bounded (the ingest holds the next CometD connect while it is a flush
 * behind), and a heap snapshot at the peak holds ~45 MB of live objects. V8 sizes its old space from
 * the machine's memory, so on a large host it lets garbage pile up for hundreds of MB before a full
 * collection. `--max-old-space-size` would bound that, but only as a start-up flag that every launcher
 * would have to pass, and as a hard limit that crashes a process whose live set grows with its
 * integrations. Instead the process looks at its own RSS: above the soft limit it asks for one full
 * collection, at most once per `minGapMs`. Below it nothing happens, so an idle process costs nothing.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface HeapGovernorOptions {
  /** RSS above which a full collection is asked for, bytes. */
  softLimitBytes: number;
  /** How often RSS is read, ms. @defaultValue 100 */
  checkEveryMs?: number;
  /**
   * Least time between two collections, ms: bounds their CPU cost when the live set itself is large.
   * 250 ms, not more: in a burst the heap grows by ~100 MB a second, and with a 1 s gap it outgrew
   * the limit between two collections (docs/runtime.md#memory-of-the-all-role-in-a-burst).
   * @defaultValue 250
   */
  minGapMs?: number;
  /** Reads the process's RSS (tests give their own). @defaultValue process.memoryUsage.rss */
  rss?: () => number;
  /** Runs a full collection. @defaultValue V8's `gc`, exposed at run time */
  collect?: () => void;
}

/** The soft limit when `SFCM_MEMORY_SOFT_LIMIT_MB` does not set one: well under the 300 MB a role may use. */
export const DEFAULT_SOFT_LIMIT_MB = 230;

/** V8's full collection, made callable without `--expose-gc` on the command line. */
export function exposedGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  setFlagsFromString('--expose-gc');
  // The flag applies to contexts created after it: a new one carries `gc`.
  return runInNewContext('gc') as () => void;
}

/** `SFCM_MEMORY_SOFT_LIMIT_MB`: a positive number of MB, `0` turns the governor off; anything else is ignored. */
export function softLimitFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return DEFAULT_SOFT_LIMIT_MB * 1024 * 1024;
  const mb = Number(value);
  if (!Number.isFinite(mb) || mb < 0) return DEFAULT_SOFT_LIMIT_MB * 1024 * 1024;
  return mb === 0 ? undefined : mb * 1024 * 1024;
}

export class HeapGovernor {
  readonly #options: Required<HeapGovernorOptions>;
  #timer: NodeJS.Timeout | undefined;
  #lastCollectionAt = Number.NEGATIVE_INFINITY;
  /** Full collections asked for so far. */
  collections = 0;

  constructor(options: HeapGovernorOptions) {
    this.#options = {
      checkEveryMs: 100,
      minGapMs: 250,
      rss: () => process.memoryUsage.rss(),
      collect: options.collect ?? exposedGc(),
      ...options,
    };
  }

  start(): void {
    this.#timer ??= setInterval(() => this.check(), this.#options.checkEveryMs);
    this.#timer.unref();
  }

  /** One look: collect when over the soft limit and the last collection is old enough. */
  check(now = performance.now()): boolean {
    if (this.#options.rss() <= this.#options.softLimitBytes) return false;
    if (now - this.#lastCollectionAt < this.#options.minGapMs) return false;
    this.#lastCollectionAt = now;
    this.collections += 1;
    this.#options.collect();
    return true;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
