/**
 * The simulated CM HTTP API (docs/communications-mining.md#routes, #syncing-comments, #sources),
 * registered under `<basePath>/api`. Every request goes through, in order: fault injection (faults.ts),
 * Bearer auth, then the route. Routes validate all input with zod and answer with the CM envelope.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { COMMENT_ID_PATTERN, validateSyncBody } from "./comment-schema.js";
import { assertSourceNames, sourceFieldsSchema } from "./control.js";
import { ok, sendError } from "./envelope.js";
import { formatIssues } from "./input.js";
import { SourceExistsError } from "./store.js";
/** Ids per delete (docs/communications-mining.md#delete-comments): the CLI calls 32 "the maximum the API permits"; the OpenAPI says 128. Strict. */
export const MAX_IDS_PER_DELETE = 32;
const sourceParams = z.object({ project: z.string(), source: z.string() });
const commentParams = sourceParams.extend({ id: z.string() });
const projectParams = z.object({ project: z.string() });
const sourceBody = z.strictObject({ source: sourceFieldsSchema });
const deleteQuery = z.strictObject({ id: z.union([z.string(), z.array(z.string())]).optional() }, { error: 'only repeated "id" query parameters are supported: ?id=a&id=b' });
/** Requests whose connection is destroyed after the route handled them (`dropNext` after-handling). */
const dropAfterHandling = new WeakSet();
/** A stored comment as `GET …/comments/<id>` returns it: as sent, plus response-only fields (docs/communications-mining.md#comment-fields). */
function commentView(stored) {
    return {
        ...stored.comment,
        uid: stored.uid,
        source_id: stored.source_id,
        created_at: stored.created_at,
        last_modified: stored.last_modified,
        has_annotations: false,
    };
}
function sourceNotFound(reply, project, name) {
    return sendError(reply, 404, `Source '${project}/${name}' not found`);
}
function bearerToken(request) {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer (\S+)$/i.exec(header.trim());
    return match?.[1];
}
function sendFault(reply, fault) {
    if (fault.retryAfterSeconds !== null)
        reply.header('retry-after', String(fault.retryAfterSeconds));
    return sendError(reply, fault.status, fault.message);
}
/** Ends the exchange with no response at all: the client sees a reset / "other side closed". */
function destroyConnection(request, reply) {
    reply.hijack();
    request.raw.socket.destroy();
}
export async function cmApiRoutes(app, opts) {
    const { runtime, autoCreateSources, closing } = opts;
    const { store, faults, requests } = runtime;
    const routeNames = new Map();
    const routeNameOf = (request) => {
        const method = request.method === 'HEAD' ? 'GET' : request.method;
        return routeNames.get(`${method} ${request.routeOptions.url ?? ''}`);
    };
    const route = (name, method, url, handler) => {
        routeNames.set(`${method} ${app.prefix}${url}`, name);
        app.route({ method, url, handler });
    };
    app.addHook('onRequest', async (request, reply) => {
        const name = routeNameOf(request);
        if (name === undefined)
            return;
        requests.track(reply.raw);
        const { latencyMs, action } = faults.decide(name);
        if (latencyMs > 0) {
            try {
                await sleep(latencyMs, undefined, { signal: closing });
            }
            catch {
                requests.record(name, 'dropped');
                destroyConnection(request, reply);
                return reply;
            }
        }
        if (action?.kind === 'fail')
            return sendFault(reply, action);
        if (action?.kind === 'drop') {
            requests.record(name, 'dropped');
            if (action.phase === 'after-handling')
                dropAfterHandling.add(request);
            else {
                destroyConnection(request, reply);
                return reply;
            }
        }
        const token = bearerToken(request);
        if (token === undefined)
            return sendError(reply, 401, 'Missing "Authorization: Bearer <token>" header');
        if (!runtime.tokens.has(token))
            return sendError(reply, 401, 'Invalid or revoked API token');
    });
    app.addHook('onSend', async (request, reply, payload) => {
        // The real server reports its processing time (docs/communications-mining.md#response-envelope).
        reply.header('server-timing', `total;dur=${reply.elapsedTime.toFixed(1)}`);
        if (dropAfterHandling.has(request))
            request.raw.socket.destroy();
        return payload;
    });
    app.addHook('onResponse', async (request, reply) => {
        const name = routeNameOf(request);
        if (name !== undefined && !dropAfterHandling.has(request))
            requests.record(name, reply.statusCode);
    });
    // Sources (docs/communications-mining.md#sources).
    route('listSources', 'GET', '/v1/sources', async () => ok({ sources: store.listSources() }));
    route('listProjectSources', 'GET', '/v1/sources/:project', async (request, reply) => {
        const { project } = projectParams.parse(request.params);
        // `id:<source_id>` addresses a source by id (docs/communications-mining.md#routes).
        if (project.startsWith('id:')) {
            const source = store.getSourceById(project.slice(3));
            return source ? ok({ source }) : sendError(reply, 404, `Source with id '${project.slice(3)}' not found`);
        }
        return ok({ sources: store.listSources(project) });
    });
    route('getSource', 'GET', '/v1/sources/:project/:source', async (request, reply) => {
        const { project, source } = sourceParams.parse(request.params);
        const found = store.getSource(project, source);
        return found ? ok({ source: found }) : sourceNotFound(reply, project, source);
    });
    route('createSource', 'PUT', '/v1/sources/:project/:source', async (request, reply) => {
        const { project, source } = sourceParams.parse(request.params);
        assertSourceNames(project, source);
        const body = sourceBody.safeParse(request.body);
        if (!body.success)
            return sendError(reply, 400, `Invalid source body, expected {"source": {...}}: ${formatIssues(body.error)}`);
        try {
            return ok({ source: store.createSource(project, source, body.data.source) });
        }
        catch (error) {
            if (error instanceof SourceExistsError)
                return sendError(reply, 409, error.message);
            throw error;
        }
    });
    route('updateSource', 'POST', '/v1/sources/:project/:source', async (request, reply) => {
        const { project, source } = sourceParams.parse(request.params);
        const body = sourceBody.safeParse(request.body);
        if (!body.success)
            return sendError(reply, 400, `Invalid source body, expected {"source": {...}}: ${formatIssues(body.error)}`);
        const updated = store.updateSource(project, source, body.data.source);
        return updated ? ok({ source: updated }) : sourceNotFound(reply, project, source);
    });
    // Comments (docs/communications-mining.md#syncing-comments).
    route('sync', 'POST', '/v1/sources/:project/:source/sync', async (request, reply) => {
        const { project, source } = sourceParams.parse(request.params);
        if (!store.getSource(project, source)) {
            if (!autoCreateSources)
                return sourceNotFound(reply, project, source);
            assertSourceNames(project, source);
            store.createSource(project, source);
        }
        const batch = validateSyncBody(request.body);
        if (!batch.ok)
            return sendError(reply, batch.error.status, batch.error.message);
        return ok(store.sync(project, source, batch.comments));
    });
    route('getComment', 'GET', '/v1/sources/:project/:source/comments/:id', async (request, reply) => {
        const { project, source, id } = commentParams.parse(request.params);
        if (!store.getSource(project, source))
            return sourceNotFound(reply, project, source);
        const stored = store.comment(project, source, id);
        return stored
            ? ok({ comment: commentView(stored) })
            : sendError(reply, 404, `Comment ${JSON.stringify(id)} not found in source '${project}/${source}'`);
    });
    // Deleting a missing id is ignored, so deleting twice succeeds. The real API's answer for a
    // missing id is UNVERIFIED (docs/communications-mining.md#delete-comments); clients should treat 404 on delete as success anyway.
    route('deleteComments', 'DELETE', '/v1/sources/:project/:source/comments', async (request, reply) => {
        const { project, source } = sourceParams.parse(request.params);
        if (!store.getSource(project, source))
            return sourceNotFound(reply, project, source);
        const query = deleteQuery.safeParse(request.query);
        if (!query.success)
            return sendError(reply, 400, `Invalid query: ${query.error.issues.map((i) => i.message).join('; ')}`);
        const raw = query.data.id;
        const ids = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
        if (ids.length === 0)
            return sendError(reply, 400, 'Name the comments to delete: ?id=a&id=b');
        if (ids.length > MAX_IDS_PER_DELETE) {
            return sendError(reply, 400, `At most ${MAX_IDS_PER_DELETE} ids per delete call, got ${ids.length}`);
        }
        const invalid = ids.find((id) => !COMMENT_ID_PATTERN.test(id));
        if (invalid !== undefined)
            return sendError(reply, 400, `Invalid comment id ${JSON.stringify(invalid)}`);
        store.deleteComments(project, source, ids);
        return ok({});
    });
}
