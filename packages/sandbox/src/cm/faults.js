/**
 * Fault injection for the simulated CM API (`/api` routes only). Faults let integration tests play the
 * failures a client must survive (docs/communications-mining.md#errors-retries-and-timeouts): 429 (with
 * `Retry-After`), 5xx, slow responses and connections that die without an answer.
 *
 * Order: one-shot faults (`failNext`, `dropNext`) fire first, oldest first, each on the next request
 * whose route matches; then "until cleared" failures. Latency is added before whatever happens.
 */
import { STATUS_CODES } from 'node:http';
import { z } from 'zod';
import { parseOrThrow } from "./input.js";
/** Names of the `/api` routes, used to aim a fault and to key request counters. */
export const CM_ROUTE_NAMES = [
    'listSources',
    'listProjectSources',
    'getSource',
    'createSource',
    'updateSource',
    'sync',
    'getComment',
    'deleteComments',
];
const route = z.enum(CM_ROUTE_NAMES).optional();
const errorStatus = z.number().int().min(400).max(599);
/** `null` sends no `Retry-After` header; 429 defaults to 1 second, other statuses to none. */
const retryAfterSeconds = z.number().int().nonnegative().nullable().optional();
export const failNextSchema = z.strictObject({
    status: errorStatus,
    /** How many matching requests fail. Default 1. */
    count: z.number().int().positive().optional(),
    retryAfterSeconds,
    route,
    /** Envelope message. Default like the real API: `"<status> <reason>"`. */
    message: z.string().optional(),
});
export const failUntilClearedSchema = failNextSchema.omit({ count: true });
export const latencySchema = z.strictObject({
    /** Added before every matching request is handled; 0 removes it. */
    ms: z.number().int().nonnegative().max(600_000),
    route,
});
export const dropNextSchema = z.strictObject({
    /** How many matching requests lose their connection. Default 1. */
    count: z.number().int().positive().optional(),
    route,
    /**
     * `before-handling` (default): the request is not processed. `after-handling`: the request is
     * processed (a sync is stored) and then the answer is lost: the case that makes retries replay.
     */
    phase: z.enum(['before-handling', 'after-handling']).optional(),
});
function failAction(opts) {
    return {
        kind: 'fail',
        status: opts.status,
        message: opts.message ?? `${opts.status} ${STATUS_CODES[opts.status] ?? 'Error'}`,
        retryAfterSeconds: opts.retryAfterSeconds === undefined ? (opts.status === 429 ? 1 : null) : opts.retryAfterSeconds,
    };
}
export class FaultPlan {
    #oneShot = [];
    #untilCleared = [];
    #latency = new Map();
    failNext(opts) {
        const valid = parseOrThrow(failNextSchema, opts, 'failNext options');
        this.#oneShot.push({ action: failAction(valid), route: valid.route, remaining: valid.count ?? 1 });
    }
    failUntilCleared(opts) {
        const valid = parseOrThrow(failUntilClearedSchema, opts, 'failUntilCleared options');
        this.#untilCleared.push({ action: failAction(valid), route: valid.route });
    }
    latency(ms, opts = {}) {
        const valid = parseOrThrow(latencySchema, { ...opts, ms }, 'latency options');
        const key = valid.route ?? '*';
        if (valid.ms === 0)
            this.#latency.delete(key);
        else
            this.#latency.set(key, valid.ms);
    }
    dropNext(opts = {}) {
        const valid = parseOrThrow(dropNextSchema, opts, 'dropNext options');
        this.#oneShot.push({
            action: { kind: 'drop', phase: valid.phase ?? 'before-handling' },
            route: valid.route,
            remaining: valid.count ?? 1,
        });
    }
    clear() {
        this.#oneShot = [];
        this.#untilCleared = [];
        this.#latency.clear();
    }
    active() {
        return {
            oneShot: this.#oneShot.map((rule) => ({
                action: rule.action,
                route: rule.route ?? null,
                remaining: rule.remaining,
            })),
            untilCleared: this.#untilCleared.map((rule) => ({ action: rule.action, route: rule.route ?? null })),
            latency: [...this.#latency].map(([key, ms]) => ({ ms, route: key === '*' ? null : key })),
        };
    }
    /** What to do to one request on `route`; consumes a one-shot fault when one matches. */
    decide(route) {
        const latencyMs = this.#latency.get(route) ?? this.#latency.get('*') ?? 0;
        const matches = (rule) => rule.route === undefined || rule.route === route;
        const index = this.#oneShot.findIndex(matches);
        const oneShot = this.#oneShot[index];
        if (oneShot) {
            if (--oneShot.remaining === 0)
                this.#oneShot.splice(index, 1);
            return { latencyMs, action: oneShot.action };
        }
        return { latencyMs, action: this.#untilCleared.find(matches)?.action };
    }
}
