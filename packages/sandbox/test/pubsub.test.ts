/**
 * The sandbox's Pub/Sub API, spoken to by a plain grpc-js client built from the same descriptor:
 * Avro payloads with bitmaps, flow control, keepalives, replay, and the error statuses with `rpcId`
 * and the `error-code` trailer.
 */
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import avro from 'avsc';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChangeEventLog } from '../src/org/change-events.ts';
import {
  encodeReplayId,
  PUBSUB_DESCRIPTOR,
  PubsubErrorCodes,
  startPubsubEndpoint,
  type PubsubEndpoint,
} from '../src/org/pubsub.ts';
import { createOrgStore, type OrgStoreWithEvents } from '../src/org/store.ts';
import { StubTokenAuthority } from './cometd-harness.ts';

const ORG_ID = '00D5f000000SbxAAAQ';
const TOPIC = '/data/CaseChangeEvent';

interface Response {
  events: { event: { schema_id: string; payload: Buffer }; replay_id: Buffer }[];
  latest_replay_id: Buffer;
  rpc_id: string;
  pending_num_requested: number;
}

type Stub = grpc.Client & {
  Subscribe(metadata: grpc.Metadata): grpc.ClientDuplexStream<object, Response>;
  GetSchema(
    request: object,
    metadata: grpc.Metadata,
    cb: (e: grpc.ServiceError | null, r?: { schema_json: string }) => void,
  ): void;
  GetTopic(
    request: object,
    metadata: grpc.Metadata,
    cb: (e: grpc.ServiceError | null, r?: { can_subscribe: boolean; schema_id: string }) => void,
  ): void;
};

let store: OrgStoreWithEvents;
let log: ChangeEventLog;
let auth: StubTokenAuthority;
let endpoint: PubsubEndpoint;
let stub: Stub;
const calls: grpc.ClientDuplexStream<object, Response>[] = [];

function metadata(token = 'good-token'): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('accesstoken', token);
  m.set('instanceurl', 'http://127.0.0.1');
  m.set('tenantid', ORG_ID);
  return m;
}

/** A Subscribe call that collects responses and its end. */
function subscribe(first: object, token?: string) {
  const call = stub.Subscribe(metadata(token));
  calls.push(call);
  const responses: Response[] = [];
  const ended = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
  call.on('data', (r: Response) => responses.push(r));
  call.write(first);
  return { call, responses, ended, events: () => responses.flatMap((r) => r.events) };
}

async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function decoder(schemaId: string): Promise<avro.Type> {
  const info = await new Promise<{ schema_json: string }>((resolve, reject) =>
    stub.GetSchema({ schema_id: schemaId }, metadata(), (e, r) =>
      e || !r ? reject(e ?? new Error('none')) : resolve(r),
    ),
  );
  return avro.Type.forSchema(JSON.parse(info.schema_json) as avro.Schema);
}

beforeEach(async () => {
  store = createOrgStore();
  log = new ChangeEventLog({ objects: store.objects() });
  log.follow(store);
  auth = new StubTokenAuthority();
  endpoint = await startPubsubEndpoint({ log, auth, orgId: ORG_ID, keepaliveMs: 300 });
  const definition = protoLoader.fromJSON(PUBSUB_DESCRIPTOR as Parameters<typeof protoLoader.fromJSON>[0], {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
  });
  const Service = (
    grpc.loadPackageDefinition(definition) as unknown as {
      eventbus: { v1: { PubSub: grpc.ServiceClientConstructor } };
    }
  ).eventbus.v1.PubSub;
  stub = new Service(endpoint.url, grpc.credentials.createInsecure()) as unknown as Stub;
});

afterEach(async () => {
  for (const call of calls.splice(0)) call.cancel();
  stub.close();
  await endpoint.close();
});

describe('sandbox Pub/Sub API', () => {
  it('delivers Avro events in the object schema, with changedFields and nulledFields as bitmaps', async () => {
    const sub = subscribe({ topic_name: TOPIC, replay_preset: 'LATEST', num_requested: 10 });
    await eventually(() => endpoint.control.counters().openStreams[TOPIC] === 1);
    const id = store.create('Case', { Subject: 'first', Description: 'body' })['Id'] as string;
    store.update(id, { Subject: 'second', Description: null });
    await eventually(() => sub.events().length === 2);
    const [created, updated] = sub.events();
    const type = await decoder(updated!.event.schema_id);
    const record = type.fromBuffer(updated!.event.payload) as Record<string, unknown> & {
      ChangeEventHeader: { changeType: string; recordIds: string[]; changedFields: string[]; nulledFields: string[] };
    };
    expect(record.ChangeEventHeader.changeType).toBe('UPDATE');
    expect(record.ChangeEventHeader.recordIds).toEqual([id]);
    expect(record['Subject']).toBe('second');
    expect(typeof record['LastModifiedDate']).toBe('number');
    const names = JSON.parse(JSON.stringify(type.schema())).fields.map((f: { name: string }) => f.name) as string[];
    const bitsToNames = (bitmap: string[]) => {
      const bits = BigInt(bitmap[0] ?? '0x0');
      return names.filter((_, i) => (bits >> BigInt(i)) & 1n);
    };
    expect(bitsToNames(record.ChangeEventHeader.changedFields)).toEqual(
      expect.arrayContaining(['Subject', 'Description', 'LastModifiedDate']),
    );
    expect(bitsToNames(record.ChangeEventHeader.nulledFields)).toEqual(['Description']);
    expect(decoderReplay(created!.replay_id)).toBeLessThan(decoderReplay(updated!.replay_id));
  });

  it('sends no more events than requested, and the rest after the next request', async () => {
    for (let i = 0; i < 7; i++) store.create('Case', { Subject: `c${i}` });
    const sub = subscribe({ topic_name: TOPIC, replay_preset: 'EARLIEST', num_requested: 3 });
    await eventually(() => sub.events().length === 3);
    expect(sub.responses.at(-1)?.pending_num_requested).toBe(0);
    // Nothing more arrives until asked (a keepalive may, with no events).
    await eventually(() => endpoint.control.counters().keepalives > 0);
    expect(sub.events()).toHaveLength(3);
    sub.call.write({ topic_name: TOPIC, num_requested: 100 });
    await eventually(() => sub.events().length === 7);
    expect(sub.responses.at(-1)?.pending_num_requested).toBe(96);
    expect(endpoint.control.counters().maxOutstanding).toBeLessThanOrEqual(100);
  });

  it('keepalives carry the latest replay id when nothing is waiting, and an idle call gets them', async () => {
    const sub = subscribe({ topic_name: TOPIC, replay_preset: 'LATEST', num_requested: 5 });
    store.create('Account', { Name: 'elsewhere' });
    const last = log.lastReplayId();
    await eventually(() =>
      sub.responses.some((r) => r.events.length === 0 && decoderReplay(r.latest_replay_id) === last),
    );
  });

  it('a replay id resumes after that event; a malformed or purged one ends the call with the corrupted code', async () => {
    const ids = [1, 2, 3].map((i) => store.create('Case', { Subject: `r${i}` })['Id'] as string);
    const first = log.eventsAfter(0, TOPIC)[0]!;
    const resumed = subscribe({
      topic_name: TOPIC,
      replay_preset: 'CUSTOM',
      replay_id: encodeReplayId(first.replayId),
      num_requested: 10,
    });
    await eventually(() => resumed.events().length === 2);
    expect(ids).toHaveLength(3);

    const malformed = subscribe({
      topic_name: TOPIC,
      replay_preset: 'CUSTOM',
      replay_id: Buffer.from([1, 2]),
      num_requested: 1,
    });
    const error = await malformed.ended;
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toMatch(/rpcId: [0-9a-f-]{36}$/);
    expect(error.metadata.get('error-code')).toEqual([PubsubErrorCodes.replayIdCorrupted]);

    log.purge();
    const purged = subscribe({
      topic_name: TOPIC,
      replay_preset: 'CUSTOM',
      replay_id: encodeReplayId(first.replayId),
      num_requested: 1,
    });
    expect((await purged.ended).metadata.get('error-code')).toEqual([PubsubErrorCodes.replayIdCorrupted]);
  });

  it('an expired token ends a running call with UNAUTHENTICATED; a bad one is refused at once', async () => {
    const refused = subscribe({ topic_name: TOPIC, replay_preset: 'LATEST', num_requested: 1 }, 'bad-token');
    expect((await refused.ended).code).toBe(grpc.status.UNAUTHENTICATED);
    const running = subscribe({ topic_name: TOPIC, replay_preset: 'LATEST', num_requested: 1 });
    await eventually(() => endpoint.control.counters().openStreams[TOPIC] === 1);
    auth.valid.clear();
    const error = await running.ended;
    expect(error.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(error.metadata.get('error-code')).toEqual([PubsubErrorCodes.auth]);
  });

  it('unknown and denied topics, and a changed topic, end with NOT_FOUND, PERMISSION_DENIED, INVALID_ARGUMENT', async () => {
    expect((await subscribe({ topic_name: '/data/NopeChangeEvent', num_requested: 1 }).ended).code).toBe(
      grpc.status.NOT_FOUND,
    );
    endpoint.control.denyTopic(TOPIC, true);
    expect((await subscribe({ topic_name: TOPIC, num_requested: 1 }).ended).code).toBe(grpc.status.PERMISSION_DENIED);
    const topic = await new Promise<{ can_subscribe: boolean; schema_id: string }>((resolve, reject) =>
      stub.GetTopic({ topic_name: TOPIC }, metadata(), (e, r) =>
        e || !r ? reject(e ?? new Error('none')) : resolve(r),
      ),
    );
    expect(topic.can_subscribe).toBe(false);
    expect(topic.schema_id).not.toBe('');
    endpoint.control.denyTopic(TOPIC, false);
    const sub = subscribe({ topic_name: TOPIC, num_requested: 1 });
    sub.call.write({ topic_name: '/data/AccountChangeEvent', num_requested: 1 });
    expect((await sub.ended).code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

function decoderReplay(bytes: Buffer): number {
  return Number(bytes.readBigUInt64BE());
}
