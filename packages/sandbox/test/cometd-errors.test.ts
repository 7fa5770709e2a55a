import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CometdErrors } from '../src/org/cometd.ts';
import { startHarness, waitFor, type Harness } from './cometd-harness.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const CASES = '/data/CaseChangeEvent';
const HANDSHAKE = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1' };

/** One raw Bayeux POST, the way faye's node transport sends it. */
async function post(url: string, messages: object[], headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer good-token', ...headers },
    body: JSON.stringify(messages),
  });
  const text = await res.text();
  return {
    status: res.status,
    setCookie: res.headers.get('set-cookie'),
    replies: JSON.parse(text) as Array<Record<string, unknown>>,
  };
}

describe('CometD endpoint, handshake and auth errors', () => {
  it('the API version is mandatory and must be 37.0 or later', async () => {
    const missing = await post(`${h.baseUrl}/cometd`, [HANDSHAKE]);
    expect(missing.status).toBe(400);
    expect(missing.replies[0]).toMatchObject({
      channel: '/meta/handshake',
      id: '1',
      successful: false,
      error: "400::API version in the URI is mandatory. URI format: '/cometd/66.0'",
    });
    const old = await post(`${h.baseUrl}/cometd/36.0`, [HANDSHAKE]);
    expect(old.replies[0]?.['error']).toMatch(
      /^400::Unsupported API version\. Only API versions '37\.0' and later are supported\./,
    );
    const ok = await post(`${h.baseUrl}/cometd/37.0`, [HANDSHAKE]);
    expect(ok.replies[0]).toMatchObject({ successful: true });
  });

  it('a handshake without Authorization is denied with failureReason "Request requires authentication"', async () => {
    const client = h.client({ token: null });
    client.faye.handshake();
    const reply = await waitFor(() => client.metaReplies('/meta/handshake')[0], 'the handshake reply');
    expect(reply).toMatchObject({
      successful: false,
      error: '403::Handshake denied',
      ext: { sfdc: { failureReason: '401::Request requires authentication' } },
    });
  });

  it('a handshake with a bad token is denied with failureReason "Authentication invalid" and reconnect none', async () => {
    const client = h.client({ token: 'stale-token' });
    const sub = client.subscribe(CASES);
    const reply = await waitFor(() => client.metaReplies('/meta/handshake')[0], 'the handshake reply');
    expect(reply).toMatchObject({
      successful: false,
      error: '403::Handshake denied',
      ext: { sfdc: { failureReason: '401::Authentication invalid' } },
      advice: { reconnect: 'none' },
    });
    void sub;
  });

  it('a token revoked mid-session gets 401::Authentication invalid on /meta/connect with reconnect none', async () => {
    const client = h.client();
    await client.subscribed(CASES);
    h.auth.valid.delete('good-token');
    const reply = await waitFor(
      () => client.metaReplies('/meta/connect').find((m) => m.successful === false),
      'a failed connect',
    );
    expect(reply).toMatchObject({
      error: '401::Authentication invalid',
      advice: { reconnect: 'none', interval: 0 },
      clientId: expect.any(String),
    });
  });

  it('the BAYEUX_BROWSER cookie set at handshake is required afterwards', async () => {
    const hs = await post(h.url, [HANDSHAKE]);
    expect(hs.setCookie).toMatch(/^BAYEUX_BROWSER=[\w-]+; Path=\/cometd/);
    const clientId = hs.replies[0]?.['clientId'] as string;
    const cookie = hs.setCookie!.split(';')[0]!;
    const connect = {
      channel: '/meta/connect',
      clientId,
      connectionType: 'long-polling',
      id: '2',
      advice: { timeout: 0 },
    };
    const without = await post(h.url, [connect]);
    expect(without.replies[0]).toMatchObject({
      successful: false,
      error: `400::Client ${clientId} has established a session, but no BAYEUX_BROWSER cookie present`,
    });
    const withCookie = await post(h.url, [connect], { Cookie: cookie });
    expect(withCookie.replies[0]).toMatchObject({ successful: true, channel: '/meta/connect' });
  });

  it("attach() leaves every other path to the server's own listeners", async () => {
    const res = await fetch(`${h.baseUrl}/services/data/v62.0`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('not cometd');
  });

  it('only long-polling is accepted as connection type', async () => {
    const hs = await post(h.url, [HANDSHAKE]);
    const clientId = hs.replies[0]?.['clientId'] as string;
    const res = await post(h.url, [{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '2' }], {
      Cookie: hs.setCookie!.split(';')[0]!,
    });
    expect(res.replies[0]).toMatchObject({ successful: false, error: '400::Invalid connection type websocket' });
  });
});

describe('CometD endpoint, subscribe errors', () => {
  it('unknown channels, wrong case and non-CDC objects do not exist', async () => {
    const client = h.client();
    for (const channel of [
      '/data/casechangeevent',
      '/data/NopeChangeEvent',
      '/data/Complaint__cChangeEvent',
      '/topic/Cases',
    ]) {
      await expect(client.subscribed(channel)).rejects.toThrow(CometdErrors.channelDoesNotExist(channel));
    }
  });

  it('a channel denied by the control fails with the View All Data error', async () => {
    h.endpoint.control.denyChannel('/data/TaskChangeEvent', true);
    const client = h.client();
    await expect(client.subscribed('/data/TaskChangeEvent')).rejects.toThrow(
      '403::User not allowed to subscribe CDC without View All Data permissions',
    );
    h.endpoint.control.denyChannel('/data/TaskChangeEvent', false);
    await client.subscribed('/data/TaskChangeEvent');
  });
});

describe('CometD endpoint, session faults', () => {
  it('after 403::Unknown client faye handshakes again, resubscribes with its replay map, and events keep arriving', async () => {
    const client = h.client();
    await client.subscribed(CASES);
    h.store.create('Case', { Subject: 'before' });
    await waitFor(() => client.deliveries.length >= 1, 'the first event');
    client.replay[CASES] = client.deliveries[0]!.data.event.replayId;

    h.endpoint.control.injectUnknownClient();
    const unknown = await waitFor(
      () => client.metaReplies('/meta/connect').find((m) => m.error === '403::Unknown client'),
      'unknown client',
    );
    expect(unknown.advice).toEqual({ interval: 0, reconnect: 'handshake' });
    await waitFor(
      () => client.metaReplies('/meta/subscribe').filter((m) => m.successful).length >= 2,
      'the resubscribe',
    );
    expect(h.endpoint.control.counters().subscriptions).toEqual([
      { clientId: expect.any(String), channel: CASES, replayFrom: client.replay[CASES] },
    ]);

    h.store.create('Case', { Subject: 'after' });
    await waitFor(() => client.deliveries.length >= 2, 'the event after the rehandshake');
    expect(client.deliveries.map((d) => d.data.payload['Subject'])).toEqual(['before', 'after']);
    expect(h.endpoint.control.counters().handshakes).toBe(2);
  });

  it('dropped connections: faye reconnects and no event is lost', async () => {
    const client = h.client();
    await client.subscribed(CASES);
    await waitFor(() => h.endpoint.control.counters().openLongPolls === 1, 'a held long-poll');
    let down = 0;
    client.faye.bind('transport:down', () => (down += 1));
    h.endpoint.control.dropConnections();
    h.store.create('Case', { Subject: 'while down' });
    await waitFor(() => client.deliveries.length >= 1, 'the event after reconnect');
    expect(down).toBeGreaterThanOrEqual(1);
    expect(client.deliveries[0]!.data.payload['Subject']).toBe('while down');
  });

  it('latency delays every request but events still arrive in order', async () => {
    h.endpoint.control.latency(150);
    const client = h.client();
    const started = Date.now();
    await client.subscribed(CASES);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300); // handshake + subscribe
    h.store.create('Case', { Subject: 'slow 1' });
    h.store.create('Case', { Subject: 'slow 2' });
    await waitFor(() => client.deliveries.length >= 2, 'events');
    expect(client.deliveries.map((d) => d.data.payload['Subject'])).toEqual(['slow 1', 'slow 2']);
  });

  it('daily event limit: /meta/connect fails with the org limit error', async () => {
    const client = h.client();
    await client.subscribed(CASES);
    h.endpoint.control.dailyLimitExceeded(true);
    const reply = await waitFor(
      () => client.metaReplies('/meta/connect').find((m) => m.successful === false),
      'a failed connect',
    );
    expect(reply).toMatchObject({
      error: '403::Organization total events daily limit exceeded',
      advice: { reconnect: 'none' },
    });
  });

  it('per-server connection limit: the handshake is denied with its failureReason', async () => {
    h.endpoint.control.connectionLimitExceeded(true);
    const hs = await post(h.url, [HANDSHAKE]);
    expect(hs.replies[0]).toMatchObject({
      successful: false,
      error: '403::Handshake denied',
      advice: { reconnect: 'none' },
      ext: {
        sfdc: {
          failureReason:
            '403::To protect all customers from excessive use and Denial of Service attacks, we limit the number of simultaneous connections per server.  Your request has been denied because this limit has been exceeded.  Please try your request again later.',
        },
      },
    });
  });

  it('server-initiated /meta/disconnect: the client sees it, handshakes again and keeps receiving', async () => {
    const client = h.client();
    await client.subscribed(CASES);
    h.endpoint.control.serverDisconnect();
    await waitFor(() => client.metaReplies('/meta/disconnect').length >= 1, 'the disconnect message');
    await waitFor(
      () => client.metaReplies('/meta/subscribe').filter((m) => m.successful).length >= 2,
      'the resubscribe',
    );
    h.store.create('Case', { Subject: 'after disconnect' });
    await waitFor(() => client.deliveries.length >= 1, 'the event');
    expect(h.endpoint.control.counters()).toMatchObject({ handshakes: 2, activeClients: 1, eventsDelivered: 1 });
  });
});
