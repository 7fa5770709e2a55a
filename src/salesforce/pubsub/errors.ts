/**
 * Pub/Sub call failures, typed by what the subscriber must do about them
 * (docs/salesforce.md#pubsub-errors). A failed call ends with a gRPC status; its message ends with
 * `rpcId: <id>`, and Salesforce's own code travels in the `error-code` trailer. Classification reads
 * the status code first and the trailer for the cases the code alone does not tell apart.
 */
import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { BridgeError } from '../../errors.ts';

/** Trailer key of Salesforce's error code. */
export const ERROR_CODE_TRAILER = 'error-code';
/** The stored replay id is invalid or no longer retained (docs/salesforce.md#pubsub-errors). */
export const REPLAY_ID_CORRUPTED = 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted';
/** Too many concurrent subscriptions. */
export const SUBSCRIPTION_LIMIT_EXCEEDED = 'sfdc.platform.eventbus.grpc.subscription.limit.exceeded';

/**
 * What the stream does about a failure:
 * - `authentication`: refresh the token once, then subscribe again;
 * - `replay_invalid`: forget the position, subscribe at the tip, reconcile by SOQL;
 * - `topic_unavailable`: that object cannot stream (no permission, no such topic);
 * - `limit`: a subscription or delivery allocation: back off long;
 * - `transient`: anything else (`UNAVAILABLE` during maintenance, a cut connection): back off and retry.
 */
export type PubsubFailureKind = 'authentication' | 'replay_invalid' | 'topic_unavailable' | 'limit' | 'transient';

export class PubsubCallError extends BridgeError {
  readonly code = 'BRIDGE_ERR_PUBSUB_CALL';
  readonly kind: PubsubFailureKind;
  /** gRPC status code (`status.UNAUTHENTICATED`…). */
  readonly grpcCode: GrpcStatus;
  /** Salesforce's `error-code` trailer, when sent. */
  readonly errorCode: string | undefined;
  /** The `rpcId` Salesforce support asks for, when the message carried one. */
  readonly rpcId: string | undefined;
  readonly topic: string | undefined;

  constructor(init: {
    grpcCode: GrpcStatus;
    details: string;
    errorCode?: string | undefined;
    topic?: string | undefined;
  }) {
    const kind = classify(init.grpcCode, init.errorCode);
    super(
      `Pub/Sub ${GrpcStatus[init.grpcCode]}${init.topic ? ` on ${init.topic}` : ''}: ${init.details}${
        init.errorCode ? ` (${init.errorCode})` : ''
      }`,
      HINTS[kind],
    );
    this.kind = kind;
    this.grpcCode = init.grpcCode;
    this.errorCode = init.errorCode;
    this.rpcId = /rpcId: ?([\w-]+)/.exec(init.details)?.[1];
    this.topic = init.topic;
  }

  /** From the status a grpc-js call ended with. */
  static fromStatus(error: Partial<ServiceError>, topic?: string): PubsubCallError {
    const metadata = error.metadata instanceof Metadata ? error.metadata : undefined;
    const trailer = metadata?.get(ERROR_CODE_TRAILER)[0];
    return new PubsubCallError({
      grpcCode: error.code ?? GrpcStatus.UNKNOWN,
      details: error.details ?? error.message ?? 'no details',
      errorCode: typeof trailer === 'string' ? trailer : trailer?.toString('utf8'),
      topic,
    });
  }
}

const HINTS: Record<PubsubFailureKind, string> = {
  authentication: 'the access token was refused: the bridge refreshes it once; if that fails, authorise again',
  replay_invalid: 'the stored replay id is no longer retained: the bridge subscribes at the tip and reconciles by SOQL',
  topic_unavailable:
    'the integration user cannot subscribe to this topic: enable Change Data Capture for the object and grant View All Data',
  limit: 'a Pub/Sub allocation is used up: the bridge backs off and reconciles later',
  transient: 'the bridge retries with backoff; UNAVAILABLE is normal during Salesforce maintenance',
};

function classify(code: GrpcStatus, errorCode: string | undefined): PubsubFailureKind {
  if (errorCode === REPLAY_ID_CORRUPTED || /replayid/i.test(errorCode ?? '')) return 'replay_invalid';
  if (code === GrpcStatus.UNAUTHENTICATED || /auth\.error|\.auth\./.test(errorCode ?? '')) return 'authentication';
  if (code === GrpcStatus.RESOURCE_EXHAUSTED || errorCode === SUBSCRIPTION_LIMIT_EXCEEDED) return 'limit';
  if (code === GrpcStatus.PERMISSION_DENIED || code === GrpcStatus.NOT_FOUND) return 'topic_unavailable';
  return 'transient';
}
