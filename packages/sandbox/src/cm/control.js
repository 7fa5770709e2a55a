/**
 * `CmControl`: what a test (or the demo) can see and steer in the simulated CM tenant. The HTTP
 * control API under `/_sandbox/cm` (control-routes.ts) exposes the same operations.
 */
import { z } from 'zod';
import { FaultPlan, } from "./faults.js";
import { InvalidInputError, parseOrThrow } from "./input.js";
import { RequestCounters } from "./request-counters.js";
import { PROJECT_NAME_PATTERN, SOURCE_NAME_PATTERN, } from "./store.js";
export const sourceFieldsSchema = z.strictObject({
    title: z.string().max(128).optional(),
    description: z.string().max(16384).optional(),
    language: z.enum(['en', 'de', 'xlm']).optional(),
    should_translate: z.boolean().optional(),
    sensitive_properties: z.array(z.string()).max(4096).optional(),
});
export const tokensSchema = z.array(z.string().min(1, { error: 'a token must not be empty' }));
/** Checks a project/source pair against the name patterns (docs/communications-mining.md#limits); throws a readable error. */
export function assertSourceNames(project, name) {
    if (!PROJECT_NAME_PATTERN.test(project)) {
        throw new InvalidInputError(`Invalid project name ${JSON.stringify(project)}: must match ${PROJECT_NAME_PATTERN}`);
    }
    if (!SOURCE_NAME_PATTERN.test(name)) {
        throw new InvalidInputError(`Invalid source name ${JSON.stringify(name)}: must match ${SOURCE_NAME_PATTERN}`);
    }
}
export function createCmRuntime(store) {
    return { store, faults: new FaultPlan(), requests: new RequestCounters(), tokens: new Set() };
}
export function createCmControl(runtime, initial) {
    const { store, faults, requests } = runtime;
    const control = {
        sources: () => store.listSources(),
        createSource(project, name, fields = {}) {
            assertSourceNames(project, name);
            return store.createSource(project, name, parseOrThrow(sourceFieldsSchema, fields, 'source fields'));
        },
        comments: (project, source) => store.comments(project, source),
        comment: (project, source, id) => store.comment(project, source, id),
        history: (filter) => store.history(filter),
        counters: () => ({ requests: requests.snapshot(), inFlight: requests.inFlight(), comments: store.commentCounts() }),
        failNext: (opts) => faults.failNext(opts),
        failUntilCleared: (opts) => faults.failUntilCleared(opts),
        latency: (ms, opts) => faults.latency(ms, opts),
        dropNext: (count = 1, opts = {}) => faults.dropNext({ ...opts, count }),
        faults: () => faults.active(),
        clearFaults: () => faults.clear(),
        setTokens(tokens) {
            const valid = parseOrThrow(tokensSchema, tokens, 'tokens');
            runtime.tokens.clear();
            for (const token of valid)
                runtime.tokens.add(token);
        },
        reset() {
            store.clear();
            faults.clear();
            requests.clear();
            control.setTokens([...initial.tokens]);
            for (const { project, name } of initial.sources)
                control.createSource(project, name);
        },
    };
    return control;
}
