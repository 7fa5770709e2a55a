/**
 * Graceful shutdown. Roles register close hooks as they start; on SIGTERM/SIGINT the hooks run in
 * reverse order (last started, first stopped: stop taking work before closing the connections that
 * work needs), each with a deadline. A second signal exits at once.
 */
import type { Logger } from 'pino';

type Hook = { name: string; close: () => Promise<void> | void };

export class Shutdown {
  readonly #hooks: Hook[] = [];
  #running: Promise<void> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly hookTimeoutMs = 25_000,
  ) {}

  /** Register a close hook; returns a function that removes it. */
  onShutdown(name: string, close: () => Promise<void> | void): () => void {
    const hook = { name, close };
    this.#hooks.push(hook);
    return () => {
      const index = this.#hooks.indexOf(hook);
      if (index !== -1) this.#hooks.splice(index, 1);
    };
  }

  get isShuttingDown(): boolean {
    return this.#running !== undefined;
  }

  /** Run every hook once (later calls wait for the same run). */
  run(reason: string): Promise<void> {
    this.#running ??= this.#runHooks(reason);
    return this.#running;
  }

  /** Install SIGTERM/SIGINT handlers that run the hooks and then exit with `exitCode`. */
  installSignalHandlers(exitCode = 0): void {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.isShuttingDown) {
        this.logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      this.logger.info({ signal }, 'shutting down');
      void this.run(signal).then(() => process.exit(exitCode));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  async #runHooks(reason: string): Promise<void> {
    for (const hook of [...this.#hooks].reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.hookTimeoutMs);
        timer.unref();
      });
      try {
        const outcome = await Promise.race([Promise.resolve(hook.close()).then(() => 'closed' as const), deadline]);
        if (outcome === 'timeout') this.logger.warn({ hook: hook.name, reason }, 'close hook timed out');
      } catch (error) {
        this.logger.error({ hook: hook.name, err: error }, 'close hook failed');
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
