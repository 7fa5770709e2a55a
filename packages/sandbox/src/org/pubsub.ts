/**
 * The sandbox org's Pub/Sub API (docs/salesforce.md#pubsub-api): a real gRPC server (plaintext, on
 * loopback) serving `eventbus.v1.PubSub` over the same change event log as the CometD endpoint, so
 * both transports see the same events with the same order.
 *
 * - Metadata `accesstoken`, `instanceurl`, `tenantid` on every call; a bad or expired token ends the
 *   call with `UNAUTHENTICATED` — also a Subscribe already running, at its next request or keepalive.
 * - `Subscribe`: the first FetchRequest names the topic and the start (LATEST, EARLIEST, CUSTOM after
 *   a replay id); later ones only add `num_requested` (a different topic is `INVALID_ARGUMENT`). Events
 *   are sent only against outstanding requests (at most 100 per request). With nothing to send, a
 *   keepalive response carries the latest replay id.
 * - Replay ids are 8 opaque bytes. One that is malformed, from the future or no longer retained ends
 *   the call with `INVALID_ARGUMENT` and the `…fetch.replayid.corrupted` error code.
 * - Errors end calls with a gRPC status whose message ends with `rpcId: <uuid>` and whose trailers
 *   carry Salesforce's code under `error-code` (docs/salesforce.md#pubsub-errors).
 * - Fault injection ({@link PubsubControl}): calls ended with a status, a subscription limit, denied
 *   topics, and events that reach the subscriber unreadable (payload bytes that do not decode with
 *   their schema, or a schema id `GetSchema` does not know).
 */
import { randomUUID } from 'node:crypto';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import type { ChangeEventLog, LoggedChangeEvent } from './change-events.ts';
import type { TokenAuthority } from './contracts.ts';
import { changeEventChannelOf } from './metadata.ts';
import { encodeEvent, objectSchema, type ObjectSchema } from './pubsub-avro.ts';

/** Salesforce's codes, sent in the `error-code` trailer. */
export const PubsubErrorCodes = {
  auth: 'sfdc.platform.eventbus.grpc.service.auth.error',
  replayIdCorrupted: 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted',
  topicNotFound: 'sfdc.platform.eventbus.grpc.topic.not.found',
  topicPermission: 'sfdc.platform.eventbus.grpc.subscription.permission.denied',
  topicChanged: 'sfdc.platform.eventbus.grpc.subscription.fetch.topic.mismatch',
  limitExceeded: 'sfdc.platform.eventbus.grpc.subscription.limit.exceeded',
  /**
   * The event delivery allocation is used up (docs/salesforce.md#pubsub-errors names no code for it:
   * clients act on `RESOURCE_EXHAUSTED` without the subscription-limit code).
   */
  deliveryLimit: 'sfdc.platform.eventbus.grpc.subscription.fetch.allocation.exceeded',
  unavailable: 'sfdc.platform.eventbus.grpc.service.unavailable',
} as const;

/** Most events one FetchRequest may ask for (docs/salesforce.md#pubsub-subscribe-semantics). */
export const MAX_NUM_REQUESTED = 100;
/** Longest silence before a keepalive (docs/salesforce.md#pubsub-subscribe-semantics). */
export const DEFAULT_KEEPALIVE_MS = 270_000;

/** The service, written as a protobufjs JSON descriptor (field numbers from docs/salesforce.md#pubsub-service-and-messages). */
export const PUBSUB_DESCRIPTOR = {
  nested: {
    eventbus: {
      nested: {
        v1: {
          nested: {
            TopicRequest: { fields: { topic_name: { type: 'string', id: 1 } } },
            TopicInfo: {
              fields: {
                topic_name: { type: 'string', id: 1 },
                tenant_guid: { type: 'string', id: 2 },
                can_publish: { type: 'bool', id: 3 },
                can_subscribe: { type: 'bool', id: 4 },
                schema_id: { type: 'string', id: 5 },
                rpc_id: { type: 'string', id: 6 },
              },
            },
            SchemaRequest: { fields: { schema_id: { type: 'string', id: 1 } } },
            SchemaInfo: {
              fields: {
                schema_json: { type: 'string', id: 1 },
                schema_id: { type: 'string', id: 2 },
                rpc_id: { type: 'string', id: 3 },
              },
            },
            EventHeader: { fields: { key: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
            ProducerEvent: {
              fields: {
                id: { type: 'string', id: 1 },
                schema_id: { type: 'string', id: 2 },
                payload: { type: 'bytes', id: 3 },
                headers: { rule: 'repeated', type: 'EventHeader', id: 4 },
              },
            },
            ConsumerEvent: {
              fields: { event: { type: 'ProducerEvent', id: 1 }, replay_id: { type: 'bytes', id: 2 } },
            },
            ReplayPreset: { values: { LATEST: 0, EARLIEST: 1, CUSTOM: 2 } },
            FetchRequest: {
              fields: {
                topic_name: { type: 'string', id: 1 },
                replay_preset: { type: 'ReplayPreset', id: 2 },
                replay_id: { type: 'bytes', id: 3 },
                num_requested: { type: 'int32', id: 4 },
                auth_refresh: { type: 'string', id: 5 },
              },
            },
            FetchResponse: {
              fields: {
                events: { rule: 'repeated', type: 'ConsumerEvent', id: 1 },
                latest_replay_id: { type: 'bytes', id: 2 },
                rpc_id: { type: 'string', id: 3 },
                pending_num_requested: { type: 'int32', id: 4 },
              },
            },
            PubSub: {
              methods: {
                Subscribe: {
                  requestType: 'FetchRequest',
                  requestStream: true,
                  responseType: 'FetchResponse',
                  responseStream: true,
                },
                GetSchema: { requestType: 'SchemaRequest', responseType: 'SchemaInfo' },
                GetTopic: { requestType: 'TopicRequest', responseType: 'TopicInfo' },
              },
            },
          },
        },
      },
    },
  },
};

interface FetchRequest {
  topic_name: string;
  replay_preset: 'LATEST' | 'EARLIEST' | 'CUSTOM';
  replay_id: Buffer;
  num_requested: number;
}

interface FetchResponse {
  events: { event: { id: string; schema_id: string; payload: Buffer; headers: [] }; replay_id: Buffer }[];
  latest_replay_id: Buffer;
  rpc_id: string;
  pending_num_requested: number;
}

type SubscribeCall = grpc.ServerDuplexStream<FetchRequest, FetchResponse>;

export interface PubsubEndpointOptions {
  log: ChangeEventLog;
  auth: TokenAuthority;
  orgId: string;
  /** Longest silence before a keepalive response, ms. Keep it small in tests. @defaultValue 270 000 */
  keepaliveMs?: number;
  /** @defaultValue 127.0.0.1 */
  host?: string;
}

/** Fault injection and inspection for tests. */
export interface PubsubControl {
  /** While on, subscribing to `topic` fails with `PERMISSION_DENIED`, and GetTopic says `can_subscribe: false`. */
  denyTopic(topic: string, on: boolean): void;
  /**
   * End every open Subscribe call with this status (`UNAVAILABLE` during maintenance,
   * `RESOURCE_EXHAUSTED`…); `OK` ends them normally, the server closing its side of the stream.
   */
  endStreams(code?: grpc.status, errorCode?: string): void;
  /** While on, new Subscribe calls fail with `RESOURCE_EXHAUSTED` (too many concurrent subscriptions). */
  subscriptionLimitExceeded(on: boolean): void;
  /**
   * While on, the event delivery allocation is used up: open calls end with `RESOURCE_EXHAUSTED`
   * ({@link PubsubErrorCodes}.deliveryLimit) and new ones fail with it, until it is switched off (the
   * allocation's 24-hour window has passed).
   */
  deliveryLimitExceeded(on: boolean): void;
  /**
   * While on, open and new calls receive nothing — no events, no keepalives — as on a connection that
   * went dark without being closed; events wait on the server. Off sends what waits.
   */
  stall(on: boolean): void;
  /** Send a keepalive on every open call now. */
  keepaliveNow(): void;
  /**
   * The next `count` events appended to the log reach Pub/Sub subscribers unreadable, every time they
   * are delivered: `payload` bytes that do not decode with their schema, or a `schema` id that
   * `GetSchema` answers with `NOT_FOUND`. CometD delivers them intact.
   */
  corruptNextEvents(kind: PubsubCorruption, count?: number): void;
  counters(): PubsubCounters;
}

/** How {@link PubsubControl.corruptNextEvents} spoils an event. */
export type PubsubCorruption = 'payload' | 'schema';

/** Bytes no record schema decodes: a string length whose varint never ends. */
const UNDECODABLE_PAYLOAD = Buffer.alloc(12, 0xff);

export interface PubsubCounters {
  subscribeCalls: number;
  /** Subscribe calls open right now, per topic. */
  openStreams: Record<string, number>;
  /** Events sent, per topic. */
  eventsDelivered: number;
  keepalives: number;
  /** Sum of `num_requested` received. */
  requested: number;
  /** The most events any one call had requested and not yet received. */
  maxOutstanding: number;
  schemaRequests: number;
  topicRequests: number;
  /** The first FetchRequest of every call: topic and where it started (`LATEST`, `EARLIEST`, or the replay id as a number). */
  starts: { topic: string; from: string | number }[];
  /** Status codes calls were ended with. */
  errors: { code: number; errorCode: string }[];
}

export interface PubsubEndpoint {
  /** `127.0.0.1:<port>`: the `salesforce.pubsubUrl` of a bridge talking to this org. */
  url: string;
  control: PubsubControl;
  close(): Promise<void>;
}

/** 8 bytes, big-endian: opaque to clients, a number to the sandbox. */
export function encodeReplayId(replayId: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(replayId));
  return bytes;
}

function decodeReplayId(bytes: Buffer): number | undefined {
  return bytes.length === 8 ? Number(bytes.readBigUInt64BE()) : undefined;
}

interface Subscription {
  call: SubscribeCall;
  topic: string;
  /** Highest replay id handled for this call (sent, or covered by a keepalive). */
  cursor: number;
  /** Requested and not yet sent. */
  outstanding: number;
  lastSentAt: number;
  closed: boolean;
}

export async function startPubsubEndpoint(opts: PubsubEndpointOptions): Promise<PubsubEndpoint> {
  const { log, auth } = opts;
  const keepaliveMs = opts.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
  const schemas = new Map<string, ObjectSchema>();
  const schemaOfEntity = new Map<string, ObjectSchema>();
  const schemaOfTopic = new Map<string, ObjectSchema>();
  for (const meta of log.cdcObjects()) {
    const schema = objectSchema(meta);
    schemas.set(schema.id, schema);
    schemaOfEntity.set(meta.name, schema);
    schemaOfTopic.set(changeEventChannelOf(meta), schema);
  }
  const subscriptions = new Set<Subscription>();
  const denied = new Set<string>();
  const faults = { subscriptionLimit: false, deliveryLimit: false, stalled: false };
  /** Corruptions waiting for the next appended events, and the events they were given to. */
  const corruptNext: PubsubCorruption[] = [];
  const corrupted = new Map<number, PubsubCorruption>();
  const counts = {
    subscribeCalls: 0,
    eventsDelivered: 0,
    keepalives: 0,
    requested: 0,
    maxOutstanding: 0,
    schemaRequests: 0,
    topicRequests: 0,
  };
  const starts: PubsubCounters['starts'] = [];
  const errors: PubsubCounters['errors'] = [];

  const statusError = (code: grpc.status, message: string, errorCode: string): Partial<grpc.StatusObject> => {
    const metadata = new grpc.Metadata();
    metadata.set('error-code', errorCode);
    errors.push({ code, errorCode });
    return { code, details: `${message} rpcId: ${randomUUID()}`, metadata };
  };

  const deliveryLimitError = () =>
    statusError(
      grpc.status.RESOURCE_EXHAUSTED,
      'The event delivery allocation is exceeded.',
      PubsubErrorCodes.deliveryLimit,
    );

  /** The metadata's token, checked the way REST checks a Bearer header. */
  const authError = (metadata: grpc.Metadata): Partial<grpc.StatusObject> | undefined => {
    const token = metadata.get('accesstoken')[0];
    const tenant = metadata.get('tenantid')[0];
    const instance = metadata.get('instanceurl')[0];
    const check = auth.check(typeof token === 'string' ? `Bearer ${token}` : undefined);
    if (!check.ok || typeof instance !== 'string' || instance === '' || tenant !== check.orgId)
      return statusError(grpc.status.UNAUTHENTICATED, 'Invalid or expired session.', PubsubErrorCodes.auth);
    return undefined;
  };

  const end = (sub: Subscription, error: Partial<grpc.StatusObject>): void => {
    if (sub.closed) return;
    sub.closed = true;
    subscriptions.delete(sub);
    sub.call.emit('error', error);
  };

  const respond = (sub: Subscription, events: LoggedChangeEvent[], latest: number): void => {
    const response: FetchResponse = {
      events: events.map((e) => {
        const schema = schemaOfEntity.get(e.entityName);
        if (!schema) throw new Error(`no schema for ${e.entityName}`);
        const corruption = corrupted.get(e.replayId);
        return {
          event: {
            id: randomUUID(),
            schema_id: corruption === 'schema' ? `unknown-${schema.id}` : schema.id,
            payload: corruption === 'payload' ? UNDECODABLE_PAYLOAD : encodeEvent(schema, e.message),
            headers: [],
          },
          replay_id: encodeReplayId(e.replayId),
        };
      }),
      latest_replay_id: encodeReplayId(latest),
      rpc_id: randomUUID(),
      pending_num_requested: sub.outstanding,
    };
    sub.lastSentAt = Date.now();
    sub.call.write(response);
  };

  /** Send what is retained after the cursor, as far as the outstanding requests allow. */
  const pump = (sub: Subscription): void => {
    if (faults.stalled) return;
    while (!sub.closed && sub.outstanding > 0) {
      const events = log.eventsAfter(sub.cursor, sub.topic, Math.min(sub.outstanding, MAX_NUM_REQUESTED));
      const last = events.at(-1);
      if (!last) return;
      sub.outstanding -= events.length;
      sub.cursor = last.replayId;
      counts.eventsDelivered += events.length;
      respond(sub, events, last.replayId);
    }
  };

  const keepalive = (sub: Subscription): void => {
    if (sub.closed || faults.stalled) return;
    const check = auth.check(tokenHeader(sub.call.metadata));
    if (!check.ok) {
      end(sub, statusError(grpc.status.UNAUTHENTICATED, 'Invalid or expired session.', PubsubErrorCodes.auth));
      return;
    }
    // Nothing missed up to the latest id, unless retained events wait for requests.
    if (log.eventsAfter(sub.cursor, sub.topic, 1).length === 0) sub.cursor = Math.max(sub.cursor, log.lastReplayId());
    counts.keepalives += 1;
    respond(sub, [], Math.max(sub.cursor, 0));
  };

  const subscribe = (call: SubscribeCall): void => {
    counts.subscribeCalls += 1;
    let sub: Subscription | undefined;
    const failEarly = (error: Partial<grpc.StatusObject>) => {
      if (sub) end(sub, error);
      else call.emit('error', error);
    };
    call.on('data', (request: FetchRequest) => {
      if (sub?.closed) return;
      const unauthenticated = authError(call.metadata);
      if (unauthenticated) {
        failEarly(unauthenticated);
        return;
      }
      const requested = Math.max(0, Math.min(MAX_NUM_REQUESTED, request.num_requested));
      counts.requested += requested;
      if (sub) {
        if (request.topic_name !== '' && request.topic_name !== sub.topic) {
          end(
            sub,
            statusError(
              grpc.status.INVALID_ARGUMENT,
              `Topic ${request.topic_name} differs from the subscription's topic ${sub.topic}.`,
              PubsubErrorCodes.topicChanged,
            ),
          );
          return;
        }
        sub.outstanding += requested;
        counts.maxOutstanding = Math.max(counts.maxOutstanding, sub.outstanding);
        pump(sub);
        return;
      }
      const topic = request.topic_name;
      if (!log.isKnownChannel(topic)) {
        failEarly(statusError(grpc.status.NOT_FOUND, `Topic ${topic} not found.`, PubsubErrorCodes.topicNotFound));
        return;
      }
      if (denied.has(topic)) {
        failEarly(
          statusError(
            grpc.status.PERMISSION_DENIED,
            `User not allowed to subscribe to ${topic}.`,
            PubsubErrorCodes.topicPermission,
          ),
        );
        return;
      }
      if (faults.subscriptionLimit) {
        failEarly(
          statusError(
            grpc.status.RESOURCE_EXHAUSTED,
            'Too many concurrent subscriptions.',
            PubsubErrorCodes.limitExceeded,
          ),
        );
        return;
      }
      if (faults.deliveryLimit) {
        failEarly(deliveryLimitError());
        return;
      }
      let cursor: number;
      if (request.replay_preset === 'CUSTOM') {
        const after = decodeReplayId(request.replay_id);
        if (after === undefined || !log.canReplayFrom(after)) {
          failEarly(
            statusError(
              grpc.status.INVALID_ARGUMENT,
              'The Replay ID validation failed: it is malformed or no longer retained.',
              PubsubErrorCodes.replayIdCorrupted,
            ),
          );
          return;
        }
        cursor = after;
        starts.push({ topic, from: after });
      } else if (request.replay_preset === 'EARLIEST') {
        cursor = Number.NEGATIVE_INFINITY;
        starts.push({ topic, from: 'EARLIEST' });
      } else {
        cursor = log.lastReplayId();
        starts.push({ topic, from: 'LATEST' });
      }
      sub = { call, topic, cursor, outstanding: requested, lastSentAt: Date.now(), closed: false };
      counts.maxOutstanding = Math.max(counts.maxOutstanding, requested);
      subscriptions.add(sub);
      // Headers now: the client knows the subscription is accepted before any event arrives.
      call.sendMetadata(new grpc.Metadata());
      pump(sub);
    });
    const forget = () => {
      if (sub) {
        sub.closed = true;
        subscriptions.delete(sub);
      }
    };
    call.on('end', () => {
      forget();
      call.end();
    });
    call.on('cancelled', forget);
    call.on('error', forget);
  };

  const getTopic: grpc.handleUnaryCall<{ topic_name: string }, unknown> = (call, callback) => {
    counts.topicRequests += 1;
    const unauthenticated = authError(call.metadata);
    if (unauthenticated) {
      callback(unauthenticated);
      return;
    }
    const topic = call.request.topic_name;
    if (!log.isKnownChannel(topic)) {
      callback(statusError(grpc.status.NOT_FOUND, `Topic ${topic} not found.`, PubsubErrorCodes.topicNotFound));
      return;
    }
    callback(null, {
      topic_name: topic,
      tenant_guid: opts.orgId,
      can_publish: false,
      can_subscribe: !denied.has(topic),
      // `/data/ChangeEvents` carries several schemas: each event names its own.
      schema_id: schemaOfTopic.get(topic)?.id ?? '',
      rpc_id: randomUUID(),
    });
  };

  const getSchema: grpc.handleUnaryCall<{ schema_id: string }, unknown> = (call, callback) => {
    counts.schemaRequests += 1;
    const unauthenticated = authError(call.metadata);
    if (unauthenticated) {
      callback(unauthenticated);
      return;
    }
    const schema = schemas.get(call.request.schema_id);
    if (!schema) {
      callback(
        statusError(
          grpc.status.NOT_FOUND,
          `Schema ${call.request.schema_id} not found.`,
          PubsubErrorCodes.topicNotFound,
        ),
      );
      return;
    }
    callback(null, { schema_json: schema.json, schema_id: schema.id, rpc_id: randomUUID() });
  };

  const definition = protoLoader.fromJSON(PUBSUB_DESCRIPTOR as Parameters<typeof protoLoader.fromJSON>[0], {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    eventbus: { v1: { PubSub: grpc.ServiceClientConstructor } };
  };
  const server = new grpc.Server();
  server.addService(loaded.eventbus.v1.PubSub.service, {
    Subscribe: subscribe,
    GetTopic: getTopic,
    GetSchema: getSchema,
  });
  const host = opts.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });

  const stopFollowing = log.onAppend((event) => {
    const corruption = corruptNext.shift();
    if (corruption) corrupted.set(event.replayId, corruption);
    for (const sub of subscriptions) pump(sub);
  });
  const keepaliveTimer = setInterval(
    () => {
      const now = Date.now();
      for (const sub of subscriptions) if (now - sub.lastSentAt >= keepaliveMs) keepalive(sub);
    },
    Math.max(10, Math.min(keepaliveMs / 4, 5_000)),
  );
  keepaliveTimer.unref();

  const control: PubsubControl = {
    denyTopic(topic, on) {
      if (on) denied.add(topic);
      else denied.delete(topic);
    },
    endStreams(code = grpc.status.UNAVAILABLE, errorCode: string = PubsubErrorCodes.unavailable) {
      for (const sub of [...subscriptions]) {
        if (code !== grpc.status.OK) {
          end(sub, statusError(code, 'The service is unavailable.', errorCode));
          continue;
        }
        sub.closed = true;
        subscriptions.delete(sub);
        sub.call.end();
      }
    },
    subscriptionLimitExceeded(on) {
      faults.subscriptionLimit = on;
    },
    deliveryLimitExceeded(on) {
      faults.deliveryLimit = on;
      if (on) for (const sub of [...subscriptions]) end(sub, deliveryLimitError());
    },
    stall(on) {
      faults.stalled = on;
      if (!on) for (const sub of [...subscriptions]) pump(sub);
    },
    keepaliveNow() {
      for (const sub of [...subscriptions]) keepalive(sub);
    },
    corruptNextEvents(kind, count = 1) {
      for (let i = 0; i < count; i++) corruptNext.push(kind);
    },
    counters() {
      const openStreams: Record<string, number> = {};
      for (const sub of subscriptions) openStreams[sub.topic] = (openStreams[sub.topic] ?? 0) + 1;
      return { ...counts, openStreams, starts: [...starts], errors: [...errors] };
    },
  };

  return {
    url: `${host}:${port}`,
    control,
    async close() {
      stopFollowing();
      clearInterval(keepaliveTimer);
      for (const sub of subscriptions) if (!sub.call.cancelled) sub.call.end();
      subscriptions.clear();
      await new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Calls still open after a moment are cut: a test's org must always close.
        setTimeout(() => server.forceShutdown(), 1_000).unref();
      });
    },
  };
}

function tokenHeader(metadata: grpc.Metadata): string | undefined {
  const token = metadata.get('accesstoken')[0];
  return typeof token === 'string' ? `Bearer ${token}` : undefined;
}
