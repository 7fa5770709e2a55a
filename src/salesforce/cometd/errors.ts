/**
 * CometD failures, typed by what the subscriber must do about them
 * (docs/salesforce.md#streaming-errors, #faye-client-behaviour).
 *
 * Classification reads the wire strings (`error`, and `ext.sfdc.failureReason` of a denied handshake)
 * with regexes. Never `code` alone: faye's `Error.parse` yields `code: null` for any string with
 * `{ } , '` in it, which includes the replay-id and unknown-channel errors
 * (docs/salesforce.md#faye-client-behaviour).
 */
import { BridgeError } from '../../errors.ts';

/** A failed meta reply as it came over the wire. */
export interface CometdFailureReply {
  /** `/meta/handshake`, `/meta/connect`, `/meta/subscribe`… */
  channel: string;
  error: string;
  /** `ext.sfdc.failureReason`, when Salesforce sent one. */
  failureReason?: string | undefined;
  /** The channel a failed `/meta/subscribe` was for. */
  subscription?: string | undefined;
  /** `advice.reconnect`, when sent: `none` means faye has given this client up for good. */
  reconnect?: string | undefined;
}

export abstract class CometdError extends BridgeError {
  /** The exact wire text (error, then failureReason when there was one). */
  readonly wire: string;
  readonly metaChannel: string;
  /** The CDC channel of a failed subscribe. */
  readonly subscription: string | undefined;

  constructor(reply: CometdFailureReply, hint: string) {
    const wire = reply.failureReason ? `${reply.error} (${reply.failureReason})` : reply.error;
    super(`${reply.channel} failed: ${wire}`, hint);
    this.wire = wire;
    this.metaChannel = reply.channel;
    this.subscription = reply.subscription;
  }
}

/**
 * `401::Authentication invalid` (connect) or `403::Handshake denied` with a 401 failureReason:
 * the token is dead. Terminal for this client: refresh the token and build a new client. Never
 * taken for an expired replay id (auth failures have their own type).
 */
export class StreamAuthenticationError extends CometdError {
  readonly code = 'BRIDGE_ERR_STREAM_AUTHENTICATION';
}

/** `403::Unknown client`: the server forgot the session; faye handshakes again and resubscribes. */
export class UnknownClientError extends CometdError {
  readonly code = 'BRIDGE_ERR_STREAM_UNKNOWN_CLIENT';
}

/** The stored replay id left the retention window: reset, resubscribe at -1, reconcile (docs/salesforce.md#replay-ids-and-retention). */
export class ReplayIdInvalidError extends CometdError {
  readonly code = 'BRIDGE_ERR_STREAM_REPLAY_ID_INVALID';

  constructor(
    reply: CometdFailureReply,
    readonly replayId: number,
  ) {
    super(reply, 'the stored position fell out of the 72 h retention; the object is reconciled by SOQL');
  }
}

/** The channel does not exist or the user may not subscribe to it (docs/salesforce.md#streaming-errors, #subscriber-permissions): one object's problem. */
export class ChannelUnavailableError extends CometdError {
  readonly code = 'BRIDGE_ERR_STREAM_CHANNEL_UNAVAILABLE';
}

/** `403::Organization total events daily limit exceeded`: stay disconnected, back off long, reconcile. */
export class DailyDeliveryLimitError extends CometdError {
  readonly code = 'BRIDGE_ERR_STREAM_DAILY_LIMIT';
}

/** Per-server connection cap or the org's concurrent client allocation: back off with jitter. */
export class ConnectionLimitError extends CometdError {
  readonly code = 'BRIDGE_ERR_STREAM_CONNECTION_LIMIT';
}

/** Anything else (server busy, subscribe before handshake, missing cookie…): rebuild with backoff. */
export class TransientCometdError extends CometdError {
  readonly code = 'BRIDGE_ERR_STREAM_TRANSIENT';
}

const AUTHENTICATION = /^401::(Authentication invalid|Request requires authentication)/;
const UNKNOWN_CLIENT = /^40[123]::Unknown client/;
const REPLAY_ID_INVALID = /^400::The replayId \{(-?\d+)\} you provided was invalid/;
const CHANNEL_UNAVAILABLE =
  /^(400::The channel you requested to subscribe to does not exist|403::User not allowed to subscribe|403::Restricted channel|403::Cannot create channel)/;
const DAILY_LIMIT = /^403::Organization total events daily limit exceeded/;
const CONNECTION_LIMIT =
  /^(403::To protect all customers .*simultaneous connections per server|403::Organization concurrent user limit exceeded)/s;

/** Type a failed meta reply by what to do about it. */
export function classifyCometdFailure(reply: CometdFailureReply): CometdError {
  // A denied handshake names the cause in failureReason; match both strings.
  const texts = [reply.error, reply.failureReason ?? ''];
  const matches = (pattern: RegExp) => texts.some((text) => pattern.test(text));

  if (matches(AUTHENTICATION)) {
    return new StreamAuthenticationError(
      reply,
      'the access token was rejected: it is refreshed and a new client is built',
    );
  }
  if (matches(CONNECTION_LIMIT))
    return new ConnectionLimitError(reply, 'too many CometD clients: backing off before the next handshake');
  if (matches(DAILY_LIMIT)) {
    return new DailyDeliveryLimitError(
      reply,
      'the org used its daily CDC delivery allocation: streaming resumes later and the objects are reconciled',
    );
  }
  const replay = REPLAY_ID_INVALID.exec(reply.error);
  if (replay) return new ReplayIdInvalidError(reply, Number(replay[1]));
  if (matches(CHANNEL_UNAVAILABLE)) {
    return new ChannelUnavailableError(
      reply,
      'select the object for Change Data Capture in Setup, check the channel name, and give the integration user View All (Data) on it (docs/salesforce.md#subscriber-permissions)',
    );
  }
  if (matches(UNKNOWN_CLIENT))
    return new UnknownClientError(reply, 'the server lost the session; the client handshakes again and resubscribes');
  return new TransientCometdError(reply, 'retried with backoff');
}
