import { z } from 'zod';
import { createCmControl, createCmRuntime, tokensSchema } from "./control.js";
import { parseOrThrow } from "./input.js";
import { buildCmApp, DEFAULT_BODY_LIMIT_BYTES } from "./server.js";
import { CmStore } from "./store.js";
export { CM_ROUTE_NAMES } from "./faults.js";
export { commentSchema, validateSyncBody } from "./comment-schema.js";
export { CONTROL_PREFIX } from "./control-routes.js";
export { MAX_IDS_PER_DELETE } from "./api-routes.js";
export { DEFAULT_BODY_LIMIT_BYTES } from "./server.js";
const optionsSchema = z.strictObject({
    host: z.string().min(1).optional(),
    port: z.number().int().min(0).max(65535).optional(),
    basePath: z
        .string()
        .regex(/^\/?([A-Za-z0-9._~-]+\/)*([A-Za-z0-9._~-]+)?\/?$/, {
        error: 'must be path segments like /org/tenant/reinfer_',
    })
        .optional(),
    tokens: tokensSchema,
    sources: z.array(z.strictObject({ project: z.string(), name: z.string() })).optional(),
    autoCreateSources: z.boolean().optional(),
    bodyLimitBytes: z.number().int().positive().optional(),
});
/** `org/tenant/reinfer_/` → `/org/tenant/reinfer_`; `''` and `/` → `''`. */
function normaliseBasePath(basePath) {
    const trimmed = basePath.replace(/^\/+|\/+$/g, '');
    return trimmed === '' ? '' : `/${trimmed}`;
}
export async function startCommunicationsMining(opts) {
    const valid = parseOrThrow(optionsSchema, opts, 'CommunicationsMiningOptions');
    const basePath = normaliseBasePath(valid.basePath ?? '');
    const runtime = createCmRuntime(new CmStore());
    const control = createCmControl(runtime, { tokens: valid.tokens, sources: valid.sources ?? [] });
    control.reset(); // creates the configured sources and installs the tokens
    const closing = new AbortController();
    const app = buildCmApp({
        runtime,
        control,
        basePath,
        autoCreateSources: valid.autoCreateSources ?? false,
        bodyLimitBytes: valid.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
        closing: closing.signal,
    });
    const host = valid.host ?? '127.0.0.1';
    await app.listen({ host, port: valid.port ?? 0 });
    const { port } = app.server.address();
    const urlHost = host.includes(':') ? `[${host}]` : host;
    let closed;
    return {
        url: `http://${urlHost}:${port}${basePath}`,
        control,
        close() {
            closed ??= (async () => {
                closing.abort();
                await app.close();
            })();
            return closed;
        },
    };
}
