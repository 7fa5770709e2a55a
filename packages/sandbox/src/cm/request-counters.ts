/**
 * Requests seen by the simulated CM API, by route name and outcome. The outcome is the HTTP status
 * (`"200"`, `"429"`…) or `"dropped"` when the sandbox destroyed the connection instead of answering.
 * Requests that match no route are counted under `"unmatched"`.
 */
import type { CmRouteName } from './faults.ts';

export type CountedRoute = CmRouteName | 'unmatched';
export type RequestCountsByRoute = Partial<Record<CountedRoute, Record<string, number>>>;

export class RequestCounters {
  #counts: RequestCountsByRoute = {};
  #inFlight = 0;

  /** Counts a request as in flight until its connection answers or closes. */
  track(response: { once(event: 'close', listener: () => void): unknown }): void {
    this.#inFlight++;
    response.once('close', () => this.#inFlight--);
  }

  /** `/api` requests received and not yet answered (or dropped), latency included. */
  inFlight(): number {
    return this.#inFlight;
  }

  record(route: CountedRoute, outcome: number | 'dropped'): void {
    const byOutcome = (this.#counts[route] ??= {});
    const key = String(outcome);
    byOutcome[key] = (byOutcome[key] ?? 0) + 1;
  }

  /** A copy: later requests do not change it. */
  snapshot(): RequestCountsByRoute {
    return Object.fromEntries(Object.entries(this.#counts).map(([route, byOutcome]) => [route, { ...byOutcome }]));
  }

  clear(): void {
    this.#counts = {};
  }
}
