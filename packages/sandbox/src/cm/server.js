/**
 * Assembles the simulated CM Fastify app: the API under `<basePath>/api`, the control API under
 * `/_sandbox/cm`, and one error and not-found handler that keep every answer in the CM envelope.
 * Builds, never listens: index.ts does that.
 */
import Fastify, {} from 'fastify';
import { cmApiRoutes } from "./api-routes.js";
import { CONTROL_PREFIX, cmControlRoutes } from "./control-routes.js";
import { sendError } from "./envelope.js";
import { InvalidInputError } from "./input.js";
import { SourceExistsError } from "./store.js";
/** UNVERIFIED on the real API (docs/communications-mining.md#errors-retries-and-timeouts: no byte limit documented); generous but finite. */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024 * 1024;
export function buildCmApp(opts) {
    const app = Fastify({
        logger: false,
        bodyLimit: opts.bodyLimitBytes,
        // Comment ids are up to 1024 characters, up to 3× that once percent-encoded (docs/communications-mining.md#comment-fields).
        routerOptions: { maxParamLength: 4096 },
        // Keep-alive sockets from test clients must not hold `close()` open.
        forceCloseConnections: true,
    });
    // An empty body with a JSON content type (a DELETE from a client that always sets the header) is
    // "no body", not an error; the routes that need a body say so in their own words.
    const defaultJsonParser = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
        const text = body.toString();
        if (text === '')
            done(null, undefined);
        // Fastify's default parser answers through `done` and returns nothing; its type also admits the
        // promise-returning parser form, hence the `void`.
        else
            void defaultJsonParser(request, text, done);
    });
    app.setErrorHandler((error, _request, reply) => {
        if (error instanceof InvalidInputError)
            return sendError(reply, 400, error.message);
        if (error instanceof SourceExistsError)
            return sendError(reply, 409, error.message);
        if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
            return sendError(reply, 413, `Request body is larger than the ${opts.bodyLimitBytes}-byte limit`);
        }
        const status = error.statusCode ?? 500;
        if (status >= 400 && status < 500) {
            const what = error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ? 'Malformed JSON body: ' : '';
            return sendError(reply, status, `${what}${error.message}`);
        }
        // A sandbox bug, not a simulated outage: say what broke so the developer can see it.
        return sendError(reply, 500, `Internal sandbox error: ${error.message}`);
    });
    app.setNotFoundHandler((request, reply) => {
        const path = request.url.split('?')[0] ?? '';
        if (!path.startsWith(CONTROL_PREFIX))
            opts.runtime.requests.record('unmatched', 404);
        // A client that drops the tenant path must fail visibly, and be told why
        // (docs/communications-mining.md#pitfall-1-the-base-url-loses-its-tenant-path).
        const hint = opts.basePath !== '' && path.startsWith('/api/') ? ` (this API lives under ${opts.basePath}/api/…)` : '';
        return sendError(reply, 404, `404 Not Found: ${request.method} ${path}${hint}`);
    });
    app.register(cmApiRoutes, {
        prefix: `${opts.basePath}/api`,
        runtime: opts.runtime,
        autoCreateSources: opts.autoCreateSources,
        closing: opts.closing,
    });
    app.register(cmControlRoutes, { prefix: CONTROL_PREFIX, control: opts.control });
    return app;
}
