import { z } from 'zod';
import { tokensSchema } from "./control.js";
import { ok, sendError } from "./envelope.js";
import { dropNextSchema, failNextSchema, failUntilClearedSchema, latencySchema } from "./faults.js";
import { parseOrThrow } from "./input.js";
export const CONTROL_PREFIX = '/_sandbox/cm';
const faultBody = z.discriminatedUnion('kind', [
    failNextSchema.extend({ kind: z.literal('failNext') }),
    failUntilClearedSchema.extend({ kind: z.literal('failUntilCleared') }),
    latencySchema.extend({ kind: z.literal('latency') }),
    dropNextSchema.extend({ kind: z.literal('dropNext') }),
]);
const createSourceBody = z.object({ project: z.string(), name: z.string() }).catchall(z.unknown());
const tokensBody = z.strictObject({ tokens: tokensSchema });
const historyQuery = z.strictObject({
    project: z.string().optional(),
    source: z.string().optional(),
    id: z.string().optional(),
});
const sourceParams = z.object({ project: z.string(), source: z.string() });
const commentParams = sourceParams.extend({ id: z.string() });
export async function cmControlRoutes(app, opts) {
    const { control } = opts;
    app.get('/sources', async () => ok({ sources: control.sources() }));
    app.post('/sources', async (request) => {
        const { project, name, ...fields } = parseOrThrow(createSourceBody, request.body, 'source');
        return ok({ source: control.createSource(project, name, fields) });
    });
    app.get('/sources/:project/:source/comments', async (request) => {
        const { project, source } = sourceParams.parse(request.params);
        return ok({ comments: control.comments(project, source) });
    });
    app.get('/sources/:project/:source/comments/:id', async (request, reply) => {
        const { project, source, id } = commentParams.parse(request.params);
        const comment = control.comment(project, source, id);
        return comment
            ? ok({ comment })
            : sendError(reply, 404, `No comment ${JSON.stringify(id)} in '${project}/${source}'`);
    });
    app.get('/history', async (request) => {
        const { project, source, id } = parseOrThrow(historyQuery, request.query, 'history query');
        return ok({ history: control.history({ project, source, commentId: id }) });
    });
    app.get('/counters', async () => ok({ counters: control.counters() }));
    app.get('/faults', async () => ok({ faults: control.faults() }));
    app.post('/faults', async (request) => {
        const body = parseOrThrow(faultBody, request.body, 'fault');
        switch (body.kind) {
            case 'failNext': {
                const { kind: _, ...fault } = body;
                control.failNext(fault);
                break;
            }
            case 'failUntilCleared': {
                const { kind: _, ...fault } = body;
                control.failUntilCleared(fault);
                break;
            }
            case 'latency':
                control.latency(body.ms, { route: body.route });
                break;
            case 'dropNext':
                control.dropNext(body.count, { route: body.route, phase: body.phase });
                break;
        }
        return ok({ faults: control.faults() });
    });
    app.delete('/faults', async () => {
        control.clearFaults();
        return ok({});
    });
    app.put('/tokens', async (request) => {
        control.setTokens(parseOrThrow(tokensBody, request.body, 'tokens body').tokens);
        return ok({});
    });
    app.post('/reset', async () => {
        control.reset();
        return ok({});
    });
}
