/**
 * Pure parts of the subscriber, table-driven: what a CDC message becomes
 * (docs/salesforce.md#change-event-format), how a CometD failure is typed from its wire strings
 * (docs/salesforce.md#streaming-errors, #faye-client-behaviour), and the backoff windows.
 */
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../src/salesforce/cometd/backoff.ts';
import { interpretChangeEvent, type EventOutcome } from '../../../src/salesforce/cometd/change-event.ts';
import {
  ChannelUnavailableError,
  ConnectionLimitError,
  DailyDeliveryLimitError,
  ReplayIdInvalidError,
  StreamAuthenticationError,
  TransientCometdError,
  UnknownClientError,
  classifyCometdFailure,
  type CometdFailureReply,
} from '../../../src/salesforce/cometd/errors.ts';

const A = '5005f00002cQ9dRAAS';
const B = '5005f00002cQ9dSAAS';
const CONTEXT = {
  integration: 'acme/emails',
  object: 'Case',
  channel: '/data/CaseChangeEvent',
  now: 1_700_000_000_000,
};

function message(header: Record<string, unknown>, replayId: unknown = 42, body: Record<string, unknown> = {}) {
  return {
    schema: 'abc',
    payload: {
      ChangeEventHeader: {
        entityName: 'Case',
        recordIds: [A],
        changeType: 'CREATE',
        commitTimestamp: 1_712_694_387_000,
        ...header,
      },
      ...body,
    },
    event: { replayId },
  };
}

function summary(outcome: EventOutcome) {
  if (outcome.type === 'changes')
    return { type: outcome.type, jobs: outcome.jobs.map((j) => `${j.kind}:${j.recordId}:${j.origin}`) };
  return { type: outcome.type, replayId: outcome.replayId };
}

describe('CDC message → outcome', () => {
  const cases: [string, unknown, ReturnType<typeof summary>][] = [
    ['CREATE → one CREATE job', message({}), { type: 'changes', jobs: [`CREATE:${A}:cdc`] }],
    [
      'UPDATE merged over two records → one job per id',
      message({ changeType: 'UPDATE', recordIds: [A, B] }),
      { type: 'changes', jobs: [`UPDATE:${A}:cdc`, `UPDATE:${B}:cdc`] },
    ],
    [
      'a record named twice → one job',
      message({ changeType: 'UPDATE', recordIds: [A, A] }),
      { type: 'changes', jobs: [`UPDATE:${A}:cdc`] },
    ],
    ['DELETE → DELETE job', message({ changeType: 'DELETE' }), { type: 'changes', jobs: [`DELETE:${A}:cdc`] }],
    ['UNDELETE → UNDELETE job', message({ changeType: 'UNDELETE' }), { type: 'changes', jobs: [`UNDELETE:${A}:cdc`] }],
    [
      'GAP_UPDATE over two records → GAP jobs',
      message({ changeType: 'GAP_UPDATE', recordIds: [A, B] }),
      { type: 'changes', jobs: [`GAP:${A}:gap`, `GAP:${B}:gap`] },
    ],
    [
      'GAP_DELETE → GAP job (fetch tells)',
      message({ changeType: 'GAP_DELETE' }),
      { type: 'changes', jobs: [`GAP:${A}:gap`] },
    ],
    [
      'GAP_OVERFLOW → reconcile the object',
      message({ changeType: 'GAP_OVERFLOW', recordIds: ['000000000000000AAA'] }),
      { type: 'reconcile', replayId: 42 },
    ],
    [
      'wildcard record id → reconcile the object',
      message({ changeType: 'UPDATE', recordIds: ['500*'] }),
      { type: 'reconcile', replayId: 42 },
    ],
    [
      'invalid record id → malformed, replay id kept',
      message({ recordIds: ['nope!'] }),
      { type: 'malformed', replayId: 42 },
    ],
    ['no recordIds → malformed', message({ recordIds: [] }), { type: 'malformed', replayId: 42 }],
    ['SNAPSHOT (reserved) → malformed', message({ changeType: 'SNAPSHOT' }), { type: 'malformed', replayId: 42 }],
    [
      'commitTimestamp as a string → malformed',
      message({ commitTimestamp: '2024-01-01' }),
      { type: 'malformed', replayId: 42 },
    ],
    [
      'another entity on this channel → malformed',
      message({ entityName: 'Account' }),
      { type: 'malformed', replayId: 42 },
    ],
    ['no replay id → malformed without one', message({}, 'x'), { type: 'malformed', replayId: undefined }],
    ['not an object → malformed', 'garbage', { type: 'malformed', replayId: undefined }],
    ['null → malformed', null, { type: 'malformed', replayId: undefined }],
  ];
  it.each(cases)('%s', (_name, data, expected) => {
    expect(summary(interpretChangeEvent(data, CONTEXT))).toEqual(expected);
  });

  it('jobs carry channel, replay id, commit time and the enqueue time', () => {
    const outcome = interpretChangeEvent(message({ changeType: 'DELETE' }), CONTEXT);
    expect(outcome).toMatchObject({
      type: 'changes',
      jobs: [
        {
          integration: 'acme/emails',
          object: 'Case',
          channel: '/data/CaseChangeEvent',
          replayId: 42,
          commitTimestamp: 1_712_694_387_000,
          enqueuedAt: CONTEXT.now,
        },
      ],
    });
  });

  it('a malformed event says what is wrong', () => {
    const outcome = interpretChangeEvent(message({ changeType: 'SNAPSHOT' }), CONTEXT);
    expect(outcome.type === 'malformed' && outcome.reason).toMatch(/changeType/);
  });
});

describe('CometD failure → typed error, from the wire strings', () => {
  const TWO_SPACES =
    '400::The replayId {1} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.';
  const ONE_SPACE =
    '400::The replayId {77} you provided was invalid. Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.';
  const PER_SERVER =
    '403::To protect all customers from excessive use and Denial of Service attacks, we limit the number of simultaneous connections per server.  Your request has been denied because this limit has been exceeded.  Please try your request again later.';
  const cases: [string, CometdFailureReply, new (...args: never[]) => Error][] = [
    [
      'connect 401',
      { channel: '/meta/connect', error: '401::Authentication invalid', reconnect: 'none' },
      StreamAuthenticationError,
    ],
    [
      'handshake denied, 401 reason',
      { channel: '/meta/handshake', error: '403::Handshake denied', failureReason: '401::Authentication invalid' },
      StreamAuthenticationError,
    ],
    [
      'handshake without a header',
      {
        channel: '/meta/handshake',
        error: '403::Handshake denied',
        failureReason: '401::Request requires authentication',
      },
      StreamAuthenticationError,
    ],
    [
      'unknown client',
      { channel: '/meta/connect', error: '403::Unknown client', reconnect: 'handshake' },
      UnknownClientError,
    ],
    [
      'replay id, two spaces (real servers)',
      { channel: '/meta/subscribe', error: TWO_SPACES, subscription: '/data/CaseChangeEvent' },
      ReplayIdInvalidError,
    ],
    [
      'replay id, one space (the docs)',
      { channel: '/meta/subscribe', error: ONE_SPACE, subscription: '/data/CaseChangeEvent' },
      ReplayIdInvalidError,
    ],
    [
      'channel does not exist',
      {
        channel: '/meta/subscribe',
        error: '400::The channel you requested to subscribe to does not exist /data/Nope',
        subscription: '/data/Nope',
      },
      ChannelUnavailableError,
    ],
    [
      'no View All Data',
      { channel: '/meta/subscribe', error: '403::User not allowed to subscribe CDC without View All Data permissions' },
      ChannelUnavailableError,
    ],
    ['restricted channel', { channel: '/meta/subscribe', error: '403::Restricted channel' }, ChannelUnavailableError],
    [
      'cannot create channel',
      { channel: '/meta/subscribe', error: '403::Cannot create channel /data/X' },
      ChannelUnavailableError,
    ],
    [
      'daily limit on connect',
      { channel: '/meta/connect', error: '403::Organization total events daily limit exceeded' },
      DailyDeliveryLimitError,
    ],
    [
      'per-server connection cap',
      { channel: '/meta/handshake', error: '403::Handshake denied', failureReason: PER_SERVER, reconnect: 'none' },
      ConnectionLimitError,
    ],
    [
      'org concurrent clients',
      { channel: '/meta/handshake', error: '403::Organization concurrent user limit exceeded' },
      ConnectionLimitError,
    ],
    [
      'server busy',
      {
        channel: '/meta/connect',
        error: '403::Handshake denied',
        failureReason: '503::Server is too busy.  Please try your request again later.',
      },
      TransientCometdError,
    ],
    [
      'subscribe before handshake',
      { channel: '/meta/subscribe', error: '403::Client has not completed handshake' },
      TransientCometdError,
    ],
  ];
  it.each(cases)('%s', (_name, reply, type) => {
    const error = classifyCometdFailure(reply);
    expect(error).toBeInstanceOf(type);
    expect(error.wire).toContain(reply.error);
  });

  it('the replay id error names the rejected id', () => {
    const error = classifyCometdFailure({
      channel: '/meta/subscribe',
      error: TWO_SPACES,
      subscription: '/data/CaseChangeEvent',
    });
    expect(error instanceof ReplayIdInvalidError && error.replayId).toBe(1);
    expect(error.subscription).toBe('/data/CaseChangeEvent');
  });
});

describe('backoff: exponential, full jitter, ceiling', () => {
  it('windows double up to the ceiling; jitter spans the whole window', () => {
    const top = new Backoff({ baseMs: 100, ceilingMs: 1_000 }, () => 0.999_999);
    expect(Array.from({ length: 6 }, () => top.next())).toEqual([99, 199, 399, 799, 999, 999]);
    const bottom = new Backoff({ baseMs: 100, ceilingMs: 1_000 }, () => 0);
    expect(bottom.next()).toBe(0);
  });

  it('reset starts from the base window again', () => {
    const backoff = new Backoff({ baseMs: 100, ceilingMs: 10_000 }, () => 0.5);
    backoff.next();
    backoff.next();
    expect(backoff.attempts).toBe(2);
    backoff.reset();
    expect(backoff.next()).toBe(50);
  });
});
