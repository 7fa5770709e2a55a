/**
 * One gRPC channel to Salesforce's Pub/Sub API (docs/salesforce.md#pubsub-connection), speaking the
 * `.proto` next to this file. Every call carries the `accesstoken`, `instanceurl` and `tenantid`
 * metadata; a client is bound to one access token (a new token means a new client, as for CometD).
 * TLS always, except to a loopback host (the sandbox), which is plaintext.
 *
 * `subscribe()` opens one `Subscribe` call for one topic: the first `FetchRequest` names the topic and
 * where to start; later ones only ask for more events (docs/salesforce.md#pubsub-subscribe-semantics).
 */
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { isLoopbackHost } from '../../config/index.ts';
import { PubsubCallError } from './errors.ts';

const PROTO_PATH = fileURLToPath(new URL('./pubsub_api.proto', import.meta.url));
/** Largest `num_requested` of one FetchRequest (docs/salesforce.md#pubsub-subscribe-semantics). */
export const MAX_NUM_REQUESTED = 100;
/** Unary calls (GetTopic, GetSchema) give up after this long. */
const UNARY_DEADLINE_MS = 30_000;

export interface TopicInfo {
  topicName: string;
  tenantGuid: string;
  canPublish: boolean;
  canSubscribe: boolean;
  schemaId: string;
  rpcId: string;
}

export interface ConsumerEvent {
  event: { id: string; schemaId: string; payload: Buffer };
  replayId: Buffer;
}

export interface FetchResponse {
  events: ConsumerEvent[];
  latestReplayId: Buffer;
  rpcId: string;
  pendingNumRequested: number;
}

/** Where a subscription starts: the tip, the oldest retained event, or just after a stored id. */
export type SubscribeFrom = { preset: 'LATEST' } | { preset: 'EARLIEST' } | { after: Buffer };

export interface SubscriptionListener {
  /** The server accepted the call (its response headers arrived). */
  accepted(): void;
  response(response: FetchResponse): void;
  /** The call ended: with the error it failed with, or undefined when the server closed it cleanly. */
  ended(error: PubsubCallError | undefined): void;
}

export interface PubsubEndpoint {
  host: string;
  port: number;
  /** Plaintext only to a loopback host. */
  plaintext: boolean;
}

export function pubsubEndpoint(url: string): PubsubEndpoint {
  const colon = url.lastIndexOf(':');
  const host = url.slice(0, colon);
  const port = Number(url.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535)
    throw new Error(`Pub/Sub endpoint must be host:port, got ${JSON.stringify(url)}`);
  return { host, port, plaintext: isLoopbackHost(host) };
}

export interface PubsubClientOptions {
  /** `host:port` (docs/salesforce.md#pubsub-connection). */
  url: string;
  accessToken: string;
  instanceUrl: string;
  /** The org id. */
  tenantId: string;
}

interface FetchRequestMessage {
  topicName?: string;
  replayPreset?: 'LATEST' | 'EARLIEST' | 'CUSTOM';
  replayId?: Buffer;
  numRequested: number;
}

/** The service stub proto-loader builds (its typing is `any`-shaped; this is the part we call). */
interface PubSubStub extends grpc.Client {
  GetTopic(
    request: { topicName: string },
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: TopicInfo) => void,
  ): grpc.ClientUnaryCall;
  GetSchema(
    request: { schemaId: string },
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: { schemaJson: string; schemaId: string }) => void,
  ): grpc.ClientUnaryCall;
  Subscribe(metadata: grpc.Metadata): grpc.ClientDuplexStream<FetchRequestMessage, FetchResponse>;
}

let serviceConstructor: grpc.ServiceClientConstructor | undefined;

function pubSubService(): grpc.ServiceClientConstructor {
  if (!serviceConstructor) {
    const definition = protoLoader.loadSync(PROTO_PATH, {
      keepCase: false,
      longs: Number,
      enums: String,
      defaults: true,
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      eventbus: { v1: { PubSub: grpc.ServiceClientConstructor } };
    };
    serviceConstructor = loaded.eventbus.v1.PubSub;
  }
  return serviceConstructor;
}

export class PubsubClient {
  readonly accessToken: string;
  readonly endpoint: PubsubEndpoint;
  readonly #stub: PubSubStub;
  readonly #metadata: grpc.Metadata;
  readonly #calls = new Set<grpc.ClientDuplexStream<FetchRequestMessage, FetchResponse>>();

  constructor(options: PubsubClientOptions) {
    this.accessToken = options.accessToken;
    this.endpoint = pubsubEndpoint(options.url);
    const credentials = this.endpoint.plaintext ? grpc.credentials.createInsecure() : grpc.credentials.createSsl();
    const Service = pubSubService();
    this.#stub = new Service(`${this.endpoint.host}:${this.endpoint.port}`, credentials, {
      // Salesforce sends a keepalive response at least every 270 s; gRPC pings keep NATs open in between.
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    }) as unknown as PubSubStub;
    this.#metadata = new grpc.Metadata();
    this.#metadata.set('accesstoken', options.accessToken);
    this.#metadata.set('instanceurl', options.instanceUrl);
    this.#metadata.set('tenantid', options.tenantId);
  }

  getTopic(topicName: string): Promise<TopicInfo> {
    return new Promise((resolve, reject) => {
      this.#stub.GetTopic({ topicName }, this.#metadata, this.#deadline(), (error, response) => {
        if (error || !response) reject(PubsubCallError.fromStatus(error ?? {}, topicName));
        else resolve(response);
      });
    });
  }

  /** The Avro schema JSON of `schemaId`. */
  getSchema(schemaId: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#stub.GetSchema({ schemaId }, this.#metadata, this.#deadline(), (error, response) => {
        if (error || !response) reject(PubsubCallError.fromStatus(error ?? {}));
        else resolve(response.schemaJson);
      });
    });
  }

  /** Open a Subscribe call on `topic`, asking for `numRequested` events at once. */
  subscribe(
    topic: string,
    from: SubscribeFrom,
    numRequested: number,
    listener: SubscriptionListener,
  ): PubsubSubscription {
    const call = this.#stub.Subscribe(this.#metadata);
    this.#calls.add(call);
    let ended = false;
    const end = (error: PubsubCallError | undefined) => {
      if (ended) return;
      ended = true;
      this.#calls.delete(call);
      listener.ended(error);
    };
    call.on('metadata', () => {
      if (!ended) listener.accepted();
    });
    call.on('data', (response: FetchResponse) => {
      if (!ended) listener.response(response);
    });
    call.on('error', (error: grpc.ServiceError) => {
      end(error.code === grpc.status.CANCELLED ? undefined : PubsubCallError.fromStatus(error, topic));
    });
    call.on('end', () => end(undefined));
    const first: FetchRequestMessage =
      'after' in from
        ? { topicName: topic, replayPreset: 'CUSTOM', replayId: from.after, numRequested }
        : { topicName: topic, replayPreset: from.preset, numRequested };
    call.write(first);
    return new PubsubSubscription(call, topic);
  }

  /** Cancel every open call and close the channel. */
  close(): void {
    for (const call of this.#calls) call.cancel();
    this.#calls.clear();
    this.#stub.close();
  }

  #deadline(): grpc.CallOptions {
    return { deadline: Date.now() + UNARY_DEADLINE_MS };
  }
}

/** An open Subscribe call: ask for more, or cancel it. */
export class PubsubSubscription {
  constructor(
    readonly call: grpc.ClientDuplexStream<FetchRequestMessage, FetchResponse>,
    readonly topic: string,
  ) {}

  /** Ask for `numRequested` more events (at most {@link MAX_NUM_REQUESTED}). */
  request(numRequested: number): void {
    if (this.call.writable) this.call.write({ topicName: this.topic, numRequested });
  }

  cancel(): void {
    this.call.cancel();
  }
}
