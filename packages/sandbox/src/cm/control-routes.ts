/**
 * HTTP form of `CmControl`, under `/_sandbox/cm` (outside the CM base path, no CM token, no faults)
 * so a bridge running in another process can be observed and steered too.
 *
 *   GET    /_sandbox/cm/sources                                  → { sources }
 *   POST   /_sandbox/cm/sources            { project, name, …fields } → { source }
 *   GET    /_sandbox/cm/sources/:project/:source/comments        → { comments }
 *   GET    /_sandbox/cm/sources/:project/:source/comments/:id    → { comment } | 404
 *   GET    /_sandbox/cm/history?project=&source=&id=             → { history }
 *   GET    /_sandbox/cm/counters                                 → { counters }
 *   GET    /_sandbox/cm/faults                                   → { faults }
 *   POST   /_sandbox/cm/faults             { kind: failNext|failUntilCleared|latency|dropNext, … } → { faults }
 *   DELETE /_sandbox/cm/faults                                   → {}
 *   PUT    /_sandbox/cm/tokens             { tokens: [...] }     → {}
 *   POST   /_sandbox/cm/reset                                    → {}
 *
 * Every answer uses the CM envelope; bad input is a 400 naming what is wrong.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { tokensSchema, type CmControl } from './control.ts';
import { ok, sendError } from './envelope.ts';
import { dropNextSchema, failNextSchema, failUntilClearedSchema, latencySchema } from './faults.ts';
import { parseOrThrow } from './input.ts';

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

export async function cmControlRoutes(app: FastifyInstance, opts: { control: CmControl }): Promise<void> {
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
