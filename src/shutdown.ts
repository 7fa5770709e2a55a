/**
 * Graceful shutdown. Roles register close hooks as they start; on SIGTERM/SIGINT the hooks run in
 * reverse order (last started, first stopped: stop taking work before closing the connections that
 * work needs), each with a deadline, and the whole run with one too: a process stops within 5 s
 * (Docker's default stop timeout is 10 s), whatever it was waiting for (docs/errors.md, "Shutdown").
 * Leaving a hook unfinished loses nothing: a worker's jobs go to another worker after their lock
 * expires, and a subscriber's unconfirmed events are replayed from the stored position. A second
 * signal exits at once.
 */
import type { Logger } from 'pino';

type Hook = { name: string; close: () => Promise<void> | void };

export class Shutdown {
  readonly #hooks: Hook[] = [];
  #running: Promise<void> | undefined;
  #signalsInstalled = false;
  #signalled = false;
  /** Resolves once the process's roles have started (see `startingUp`). */
  #startup: Promise<void> = Promise.resolve();

  constructor(
    private readonly logger: Logger,
    private readonly hookTimeoutMs = 4_000,
    /** The whole run after a signal; past it the process exits with code 1. */
    private readonly signalDeadlineMs = 4_500,
    /** How long a signal during start-up waits for the roles to finish starting. */
    private readonly startupWaitMs = 2_000,
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

  /**
   * The roles are starting: a signal that arrives meanwhile waits for them (at most
   * `startupWaitMs`), so that every role has registered its close hook before the hooks run —
   * otherwise a worker that already took jobs would be cut off mid-batch.
   */
  startingUp(startup: Promise<unknown>): void {
    this.#startup = startup.then(
      () => undefined,
      () => undefined,
    );
  }

  /** Run every hook once (later calls wait for the same run). */
  run(reason: string): Promise<void> {
    this.#running ??= this.#runHooks(reason);
    return this.#running;
  }

  /** Install SIGTERM/SIGINT handlers that run the hooks and then exit with `exitCode` (once; later calls do nothing). */
  installSignalHandlers(exitCode = 0): void {
    if (this.#signalsInstalled) return;
    this.#signalsInstalled = true;
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.#signalled) {
        this.logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      this.logger.info({ signal }, 'shutting down');
      const deadline = setTimeout(() => {
        this.logger.warn({ signal, deadlineMs: this.signalDeadlineMs }, 'shutdown took too long: exiting now');
        process.exit(1);
      }, this.signalDeadlineMs);
      deadline.unref();
      this.#signalled = true;
      const startupWait = new Promise<void>((resolve) => setTimeout(resolve, this.startupWaitMs).unref());
      void Promise.race([this.#startup, startupWait])
        .then(() => this.run(signal))
        .then(() => process.exit(exitCode));
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
        const started = Date.now();
        const outcome = await Promise.race([Promise.resolve(hook.close()).then(() => 'closed' as const), deadline]);
        if (outcome === 'timeout') this.logger.warn({ hook: hook.name, reason }, 'close hook timed out');
        else this.logger.debug({ hook: hook.name, ms: Date.now() - started }, 'closed');
      } catch (error) {
        this.logger.error({ hook: hook.name, err: error }, 'close hook failed');
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
