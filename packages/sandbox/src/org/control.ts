/**
 * Control API of the simulated org, under `/_sandbox/sf/…`: what a test, `sf-cm-bridge demo` or a
 * developer uses to make things happen in the org (records, CDC edge cases, token expiry, faults)
 * and to read what the bridge did (counters). No OAuth: it is not part of Salesforce.
 *
 * Bodies are validated with zod; a bad body, an unknown object or a bad field value is a 400 with
 * `{"error": "<code>", "message": "<what is wrong>"}`.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { OrgStore, SRecord } from './contracts.ts';
import type { ChangeEventLog, LoggedChangeEvent } from './change-events.ts';
import type { StreamingControl } from './cometd.ts';
import type { OAuthControl } from './oauth.ts';
import { AppPoliciesSchema } from './app-policies.ts';
import type { BulkQueryControl } from './bulk.ts';
import type { RestControl } from './rest.ts';
import { OrgStoreError, type OrgStoreWithEvents } from './store.ts';

export interface ControlRoutesOptions {
  store: OrgStoreWithEvents;
  events: ChangeEventLog;
  oauth: OAuthControl;
  rest: RestControl;
  bulk: BulkQueryControl;
  streaming: StreamingControl;
  counters: () => unknown;
}

const fieldValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const fields = z.record(z.string(), fieldValue);
const recordId = z.string().min(15).max(18);
const silent = z.boolean().optional();

const operation = z.discriminatedUnion('op', [
  z.object({ op: z.literal('create'), object: z.string().min(1), fields }).strict(),
  z.object({ op: z.literal('update'), id: recordId, fields }).strict(),
  z.object({ op: z.literal('delete'), id: recordId }).strict(),
  z.object({ op: z.literal('undelete'), id: recordId }).strict(),
  z.object({ op: z.literal('purge'), id: recordId }).strict(),
]);
type Operation = z.infer<typeof operation>;

const schemas = {
  createRecord: z.object({ object: z.string().min(1), fields, silent }).strict(),
  updateRecord: z.object({ fields, silent }).strict(),
  mutate: z.object({ silent }).strict(),
  idParams: z.object({ id: recordId }),
  transaction: z.object({ operations: z.array(operation).min(1), silent }).strict(),
  gap: z
    .object({
      object: z.string().min(1),
      changeType: z.enum(['GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE']),
      recordIds: z.array(recordId).min(1),
    })
    .strict(),
  overflow: z.object({ object: z.string().min(1) }).strict(),
  merged: z
    .object({
      object: z.string().min(1),
      changeType: z.enum(['CREATE', 'UPDATE', 'DELETE', 'UNDELETE']),
      recordIds: z.array(recordId).min(2),
      fields: fields.optional(),
    })
    .strict(),
  purgeEvents: z.object({ beforeReplayId: z.number().int().optional() }).strict(),
  revokeRefresh: z.object({ includeAccessTokens: z.boolean().optional() }).strict(),
  tokenTtl: z.object({ ms: z.number().int().positive() }).strict(),
  autoApprove: z.object({ enabled: z.boolean() }).strict(),
  newApp: z
    .object({
      clientId: z.string().min(1),
      clientSecret: z.string().min(1),
      redirectUris: z.array(z.url()).min(1),
      requireSecret: z.boolean().optional(),
      rotateRefreshTokens: z.boolean().optional(),
      scopes: z.array(z.string()).optional(),
      policies: AppPoliciesSchema.optional(),
      propagationDelayMs: z.number().int().min(0).optional(),
    })
    .strict(),
  appChange: z.object({ policies: AppPoliciesSchema.optional(), rotateRefreshTokens: z.boolean().optional() }).strict(),
  clientIdParams: z.object({ clientId: z.string().min(1) }),
  bulkFaults: z
    .object({
      failNextJobs: z
        .object({ count: z.number().int().positive(), errorMessage: z.string().min(1).optional() })
        .strict()
        .optional(),
      queueDelayMs: z.number().int().min(0).optional(),
      processingMs: z.number().int().min(0).optional(),
      paceResults: z
        .object({ rows: z.number().int().min(0), delayMs: z.number().int().min(0) })
        .strict()
        .optional(),
      capPageRecords: z.number().int().min(0).optional(),
    })
    .strict(),
  restFaults: z
    .object({
      latencyMs: z.number().int().min(0).optional(),
      failNext: z
        .object({ count: z.number().int().positive(), status: z.union([z.literal(500), z.literal(503)]).optional() })
        .strict()
        .optional(),
      dropNext: z.number().int().positive().optional(),
    })
    .strict(),
  restLimits: z
    .object({
      dailyApiLimit: z.number().int().positive().optional(),
      maxBatchSize: z.number().int().positive().optional(),
      resetUsage: z.boolean().optional(),
    })
    .strict(),
  cometdFaults: z
    .object({
      /** Forget every client: next connect gets `403::Unknown client` (docs/salesforce.md#streaming-errors). */
      unknownClient: z.literal(true).optional(),
      /** Cut every open CometD request without a response. */
      dropConnections: z.literal(true).optional(),
      /** Lose the next N replies that carry events: delivered by the server, cut before the client reads them. */
      loseRepliesWithEvents: z.number().int().min(0).optional(),
      /** Server-initiated `/meta/disconnect` (docs/salesforce.md#bayeux-message-exchange). */
      serverDisconnect: z.literal(true).optional(),
      latencyMs: z.number().int().min(0).optional(),
      dailyLimitExceeded: z.boolean().optional(),
      connectionLimitExceeded: z.boolean().optional(),
      denyChannel: z
        .object({ channel: z.string().startsWith('/'), on: z.boolean() })
        .strict()
        .optional(),
    })
    .strict(),
} as const;

/** A bad Control API request (HTTP 400 unless said otherwise). */
class ControlError extends Error {
  constructor(
    readonly error: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input ?? {});
  if (!result.success) throw new ControlError('invalid_request', z.prettifyError(result.error));
  return result.data;
}

function eventSummary(event: LoggedChangeEvent | undefined, object: string) {
  if (!event)
    throw new ControlError(
      'unknown_entity',
      `'${object}' has no change events (unknown object, or CDC not supported for it)`,
    );
  return { replayId: event.replayId, channels: event.channels, header: event.message.payload.ChangeEventHeader };
}

function applyOperation(tx: OrgStore, op: Operation): SRecord | { Id: string; purged?: true; deleted?: true } {
  switch (op.op) {
    case 'create':
      return tx.create(op.object, op.fields);
    case 'update':
      return tx.update(op.id, op.fields);
    case 'delete':
      tx.delete(op.id);
      return { Id: op.id, deleted: true };
    case 'undelete':
      return tx.undelete(op.id);
    case 'purge':
      tx.purge(op.id);
      return { Id: op.id, purged: true };
  }
}

export const controlRoutes: FastifyPluginAsync<ControlRoutesOptions> = async (app, opts) => {
  const { store, events, oauth, rest } = opts;
  const entityName = (object: string) => store.describe(object)?.name ?? object;

  app.setErrorHandler((err: Error & { statusCode?: number }, _request, reply: FastifyReply) => {
    if (err instanceof ControlError) return reply.code(err.status).send({ error: err.error, message: err.message });
    if (err instanceof OrgStoreError) {
      return reply
        .code(err.statusCode)
        .send({ error: err.errorCode, message: err.message, ...(err.fields.length ? { fields: err.fields } : {}) });
    }
    if (err.statusCode && err.statusCode < 500)
      return reply.code(err.statusCode).send({ error: 'invalid_request', message: err.message });
    return reply.code(500).send({ error: 'internal_error', message: err.message });
  });

  // ---- records ----

  app.post('/records', async (request, reply) => {
    const body = parse(schemas.createRecord, request.body);
    const record = store.create(body.object, body.fields, { silent: body.silent ?? false });
    return reply.code(201).send(record);
  });

  app.get('/records/:id', async (request) => {
    const { id } = parse(schemas.idParams, request.params);
    const record = store.get(id, { includeDeleted: true });
    if (!record) throw new ControlError('not_found', `no record with Id ${id}`, 404);
    return record;
  });

  app.patch('/records/:id', async (request) => {
    const { id } = parse(schemas.idParams, request.params);
    const body = parse(schemas.updateRecord, request.body);
    return store.update(id, body.fields, { silent: body.silent ?? false });
  });

  app.delete('/records/:id', async (request) => {
    const { id } = parse(schemas.idParams, request.params);
    const body = parse(schemas.mutate, request.body);
    store.delete(id, { silent: body.silent ?? false });
    return store.get(id, { includeDeleted: true }) ?? { Id: id };
  });

  app.post('/records/:id/undelete', async (request) => {
    const { id } = parse(schemas.idParams, request.params);
    const body = parse(schemas.mutate, request.body);
    return store.undelete(id, { silent: body.silent ?? false });
  });

  app.post('/records/:id/purge', async (request) => {
    const { id } = parse(schemas.idParams, request.params);
    store.purge(id);
    return { Id: id, purged: true };
  });

  // One Salesforce transaction: one transactionKey, merged same-type events (docs/salesforce.md#changeeventheader).
  app.post('/transactions', async (request) => {
    const body = parse(schemas.transaction, request.body);
    const records = store.transaction((tx) => body.operations.map((op) => applyOperation(tx, op)), {
      silent: body.silent ?? false,
    });
    return { records };
  });

  // ---- CDC edge cases (docs/salesforce.md#changeeventheader, #gap-events, #overflow-events) ----

  app.post('/events/gap', async (request) => {
    const body = parse(schemas.gap, request.body);
    return eventSummary(
      events.appendGap(entityName(body.object), body.changeType, body.recordIds, { commitUser: store.defaultUserId }),
      body.object,
    );
  });

  app.post('/events/overflow', async (request) => {
    const body = parse(schemas.overflow, request.body);
    return eventSummary(
      events.appendOverflow(entityName(body.object), { commitUser: store.defaultUserId }),
      body.object,
    );
  });

  app.post('/events/merged', async (request) => {
    const body = parse(schemas.merged, request.body);
    const event = events.appendMerged(entityName(body.object), body.changeType, body.recordIds, body.fields ?? {}, {
      commitUser: store.defaultUserId,
    });
    return eventSummary(event, body.object);
  });

  /** Drop retained events (all, or those before a replay id): the retention window has passed. */
  app.post('/events/purge', async (request) => {
    const body = parse(schemas.purgeEvents, request.body);
    if (body.beforeReplayId === undefined) events.purge();
    else events.purgeBefore(body.beforeReplayId);
    return { retained: events.retained().length, lastReplayId: events.lastReplayId() };
  });

  app.get('/events', async () => ({
    lastReplayId: events.lastReplayId(),
    events: events
      .retained()
      .map((e) => ({ replayId: e.replayId, channels: e.channels, header: e.message.payload.ChangeEventHeader })),
  }));

  // ---- tokens ----

  app.post('/oauth/expire-access-tokens', async () => ({ expired: oauth.expireAccessTokens() }));

  app.post('/oauth/revoke-refresh-tokens', async (request) => {
    const body = parse(schemas.revokeRefresh, request.body);
    return { revoked: oauth.revokeRefreshTokens(body) };
  });

  app.put('/oauth/access-token-ttl', async (request) => {
    const body = parse(schemas.tokenTtl, request.body);
    oauth.setAccessTokenTtl(body.ms);
    return { ms: body.ms };
  });

  app.put('/oauth/auto-approve', async (request) => {
    const body = parse(schemas.autoApprove, request.body);
    oauth.setAutoApprove(body.enabled);
    return { enabled: body.enabled };
  });

  /** A new External Client App (or Connected App); its client id is unknown until it has propagated. */
  app.post('/oauth/apps', async (request, reply) => {
    const body = parse(schemas.newApp, request.body);
    oauth.addApp(body);
    return reply.code(201).send({ clientId: body.clientId, propagationDelayMs: body.propagationDelayMs ?? 0 });
  });

  /** What an admin changes in Setup: the app's policies (merged key by key) and rotation. */
  app.patch('/oauth/apps/:clientId', async (request) => {
    const { clientId } = parse(schemas.clientIdParams, request.params);
    const body = parse(schemas.appChange, request.body);
    const changed = oauth.updateApp(clientId, body);
    if (!changed) throw new ControlError('not_found', `no app with client id ${clientId}`, 404);
    return { clientId, policies: changed.policies ?? {}, rotateRefreshTokens: changed.rotateRefreshTokens ?? false };
  });

  // ---- faults and limits ----

  app.post('/faults/rest', async (request) => {
    const body = parse(schemas.restFaults, request.body);
    if (body.latencyMs !== undefined) rest.setLatency(body.latencyMs);
    if (body.failNext) rest.failNext(body.failNext.count, body.failNext.status ?? 503);
    if (body.dropNext !== undefined) rest.dropNext(body.dropNext);
    return { ok: true };
  });

  // Bulk API 2.0 query jobs: failures, timing, pacing and page size; `GET` lists jobs and result reads.
  app.post('/faults/bulk', async (request) => {
    const body = parse(schemas.bulkFaults, request.body);
    const { bulk } = opts;
    if (body.failNextJobs) bulk.failNextJobs(body.failNextJobs.count, body.failNextJobs.errorMessage);
    bulk.setTiming({
      ...(body.queueDelayMs !== undefined ? { queueDelayMs: body.queueDelayMs } : {}),
      ...(body.processingMs !== undefined ? { processingMs: body.processingMs } : {}),
    });
    if (body.paceResults) bulk.paceResults(body.paceResults.rows, body.paceResults.delayMs);
    if (body.capPageRecords !== undefined) bulk.capPageRecords(body.capPageRecords);
    return { ok: true };
  });

  app.delete('/faults/bulk', async () => {
    opts.bulk.clearFaults();
    return { ok: true };
  });

  app.get('/bulk', async () => ({ jobs: opts.bulk.jobs(), resultReads: opts.bulk.resultReads() }));

  app.delete('/faults/rest', async () => {
    rest.clearFaults();
    return { ok: true };
  });

  app.put('/limits/rest', async (request) => {
    const body = parse(schemas.restLimits, request.body);
    if (body.dailyApiLimit !== undefined) rest.setDailyApiLimit(body.dailyApiLimit);
    if (body.maxBatchSize !== undefined) rest.setMaxBatchSize(body.maxBatchSize);
    if (body.resetUsage) rest.resetApiUsage();
    return rest.counters().apiUsage;
  });

  app.post('/faults/cometd', async (request) => {
    const body = parse(schemas.cometdFaults, request.body);
    const streaming = opts.streaming;
    if (body.latencyMs !== undefined) streaming.latency(body.latencyMs);
    if (body.dailyLimitExceeded !== undefined) streaming.dailyLimitExceeded(body.dailyLimitExceeded);
    if (body.connectionLimitExceeded !== undefined) streaming.connectionLimitExceeded(body.connectionLimitExceeded);
    if (body.denyChannel) streaming.denyChannel(body.denyChannel.channel, body.denyChannel.on);
    if (body.unknownClient) streaming.injectUnknownClient();
    if (body.serverDisconnect) streaming.serverDisconnect();
    if (body.dropConnections) streaming.dropConnections();
    if (body.loseRepliesWithEvents !== undefined) streaming.loseRepliesWithEvents(body.loseRepliesWithEvents);
    return { ok: true };
  });

  /** Bayeux subscriptions with the replay id each asked for, events delivered, clients. */
  app.get('/streaming', async () => opts.streaming.counters());

  app.get('/counters', async () => opts.counters());
};
