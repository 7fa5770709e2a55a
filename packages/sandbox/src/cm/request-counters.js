export class RequestCounters {
    #counts = {};
    #inFlight = 0;
    /** Counts a request as in flight until its connection answers or closes. */
    track(response) {
        this.#inFlight++;
        response.once('close', () => this.#inFlight--);
    }
    /** `/api` requests received and not yet answered (or dropped), latency included. */
    inFlight() {
        return this.#inFlight;
    }
    record(route, outcome) {
        const byOutcome = (this.#counts[route] ??= {});
        const key = String(outcome);
        byOutcome[key] = (byOutcome[key] ?? 0) + 1;
    }
    /** A copy: later requests do not change it. */
    snapshot() {
        return Object.fromEntries(Object.entries(this.#counts).map(([route, byOutcome]) => [route, { ...byOutcome }]));
    }
    clear() {
        this.#counts = {};
    }
}
