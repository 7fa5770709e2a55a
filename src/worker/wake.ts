/**
 * Sleeps that one call cuts short, all at once. A worker runs several loops; each may be waiting
 * (a paused integration, a failed loop backing off), and closing or resuming must reach every one
 * of them, not just the last to start waiting (docs/errors.md, "Shutdown").
 */
import { setTimeout as delay } from 'node:timers/promises';

export class WakeSignal {
  readonly #sleepers = new Set<AbortController>();

  /** Resolves after `ms`, or at once when `wakeAll()` is called meanwhile. */
  async sleep(ms: number): Promise<void> {
    const controller = new AbortController();
    this.#sleepers.add(controller);
    try {
      await delay(ms, undefined, { signal: controller.signal }).catch(() => undefined);
    } finally {
      this.#sleepers.delete(controller);
    }
  }

  /** Wake every sleeper now. */
  wakeAll(): void {
    for (const controller of this.#sleepers) controller.abort();
    this.#sleepers.clear();
  }

  /** Sleepers waiting right now. */
  get sleeping(): number {
    return this.#sleepers.size;
  }
}
