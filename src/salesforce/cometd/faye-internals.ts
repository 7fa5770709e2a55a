/**
 * The two places we reach past faye 1.4's public API, kept here so they are easy to audit when
 * faye changes (read against node_modules/faye/src/protocol/{client,dispatcher,scheduler}.js).
 *
 * - Batching off: Salesforce wants one Bayeux message per POST
 *   (docs/salesforce.md#endpoint-headers-and-cookies); jsforce does the same by setting
 *   `dispatcher._transport.batching = false` (docs/salesforce.md#jsforce-streaming-client). faye picks
 *   a new transport object at every handshake, so we set it on each one as it is installed.
 * - Aborting in-flight requests when a client is retired, so a stalled long-poll does not hold a
 *   socket until faye's own request timeout.
 *
 * Retiring itself uses faye's public `scheduler` option (a scheduler decides whether a message may
 * be sent or retried), so a retired client can never send again, whatever timers it has left.
 */
import type faye from 'faye';

interface Transport {
  batching?: boolean;
}

interface Envelope {
  message?: { channel?: string };
  request?: PromiseLike<unknown> | null;
  timer?: NodeJS.Timeout | null;
}

interface Dispatcher {
  _transport?: Transport;
  _envelopes?: Map<string, Envelope>;
}

function dispatcherOf(client: faye.Client): Dispatcher | undefined {
  const dispatcher = (client as unknown as { _dispatcher?: unknown })._dispatcher;
  return typeof dispatcher === 'object' && dispatcher !== null ? dispatcher : undefined;
}

/** Make every transport this client installs send one message per HTTP request. */
export function disableBatching(client: faye.Client): void {
  const dispatcher = dispatcherOf(client);
  if (!dispatcher) return;
  let current = dispatcher._transport;
  if (current) current.batching = false;
  Object.defineProperty(dispatcher, '_transport', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (transport: Transport | undefined) => {
      if (transport) transport.batching = false;
      current = transport;
    },
  });
}

/** Abort every request the client still has open (except the channels in `keep`) and forget them. */
export function abortInFlight(client: faye.Client, keep: readonly string[] = []): void {
  const envelopes = dispatcherOf(client)?._envelopes;
  if (!(envelopes instanceof Map)) return;
  for (const [id, envelope] of envelopes) {
    if (keep.includes(envelope.message?.channel ?? '')) continue;
    if (envelope.timer) clearTimeout(envelope.timer);
    envelope.timer = null;
    const request = envelope.request;
    envelope.request = null;
    envelopes.delete(id);
    void Promise.resolve(request).then((req) => {
      const destroyable = req as { destroy?: () => void } | null | undefined;
      destroyable?.destroy?.();
    });
  }
}

interface SchedulerOptions {
  timeout: number;
  interval: number;
  attempts?: number;
  deadline?: number;
}

/**
 * A faye scheduler (faye's default logic) that refuses every send once `isRetired()` says so,
 * except a single `/meta/disconnect` attempt, which tells the server to free the client slot.
 */
export function retiringScheduler(
  isRetired: () => boolean,
): new (message: faye.Message, options: SchedulerOptions) => unknown {
  return class RetiringScheduler {
    #attempts = 0;

    constructor(
      private readonly message: faye.Message,
      private readonly options: SchedulerOptions,
    ) {}

    getTimeout(): number {
      return this.options.timeout;
    }

    getInterval(): number {
      return this.options.interval;
    }

    isDeliverable(): boolean {
      if (isRetired() && (this.message.channel !== '/meta/disconnect' || this.#attempts > 0)) return false;
      if (this.options.attempts !== undefined && this.#attempts >= this.options.attempts) return false;
      if (this.options.deadline !== undefined && Date.now() > this.options.deadline) return false;
      return true;
    }

    send(): void {
      this.#attempts += 1;
    }

    succeed(): void {}

    fail(): void {}

    abort(): void {}
  };
}
