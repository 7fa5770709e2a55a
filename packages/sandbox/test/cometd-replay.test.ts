import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, waitFor, type Harness } from './cometd-harness.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const CASES = '/data/CaseChangeEvent';

function createCases(n: number, label: string): string[] {
  return Array.from({ length: n }, (_, i) => h.store.create('Case', { Subject: `${label} ${i + 1}` })['Id'] as string);
}

const subjects = (client: ReturnType<Harness['client']>) =>
  client.deliveries.map((d) => d.data.payload['Subject'] ?? d.data.payload.ChangeEventHeader.changeType);

describe('CometD replay', () => {
  it('without ext.replay (-1) a subscriber gets only new events', async () => {
    createCases(2, 'old');
    const client = h.client();
    await client.subscribed(CASES);
    createCases(1, 'new');
    await waitFor(() => client.deliveries.length >= 1, 'the new event');
    expect(subjects(client)).toEqual(['new 1']);
    expect(h.endpoint.control.counters().subscriptions).toEqual([
      { clientId: expect.any(String), channel: CASES, replayFrom: -1 },
    ]);
  });

  it('a stored replay id replays only the events after it, then live ones', async () => {
    createCases(3, 'old');
    const [first] = h.log.retained();
    const client = h.client({ replay: { [CASES]: first!.replayId } });
    await client.subscribed(CASES);
    await waitFor(() => client.deliveries.length >= 2, 'the replayed events');
    createCases(1, 'live');
    await waitFor(() => client.deliveries.length >= 3, 'the live event');
    expect(subjects(client)).toEqual(['old 2', 'old 3', 'live 1']);
    const ids = client.deliveries.map((d) => d.data.event.replayId);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ids[0]).toBeGreaterThan(first!.replayId);
  });

  it('-2 replays every retained event, then live ones', async () => {
    createCases(3, 'old');
    const client = h.client({ replay: { [CASES]: -2 } });
    await client.subscribed(CASES);
    createCases(1, 'live');
    await waitFor(() => client.deliveries.length >= 4, 'all events');
    expect(subjects(client)).toEqual(['old 1', 'old 2', 'old 3', 'live 1']);
  });

  it('replayed events go only to the client that asked; a live subscriber sees each event once', async () => {
    createCases(2, 'old');
    const live = h.client();
    await live.subscribed(CASES);
    const replaying = h.client({ replay: { [CASES]: -2 } });
    await replaying.subscribed(CASES);
    createCases(1, 'live');
    await waitFor(() => replaying.deliveries.length >= 3 && live.deliveries.length >= 1, 'deliveries');
    expect(subjects(replaying)).toEqual(['old 1', 'old 2', 'live 1']);
    expect(subjects(live)).toEqual(['live 1']);
  });

  it('events committed while a replay catch-up is queued arrive once, in replay order, with no gap', async () => {
    createCases(50, 'old');
    const client = h.client({ replay: { [CASES]: -2 } });
    // Keep committing while the subscribe is in flight and after it.
    let n = 0;
    const writer = setInterval(() => createCases(1, `live ${++n}`), 2);
    try {
      await client.subscribed(CASES);
      await waitFor(() => n >= 40, 'concurrent writes');
    } finally {
      clearInterval(writer);
    }
    const expected = h.log.retained().map((e) => e.replayId);
    await waitFor(() => client.deliveries.length >= expected.length, 'every event');
    expect(client.deliveries.map((d) => d.data.event.replayId)).toEqual(expected);
  });

  it('a replay id older than retention fails the subscribe with the exact two-space error', async () => {
    createCases(2, 'old');
    const [first] = h.log.retained();
    h.endpoint.control.purgeRetention();
    const client = h.client({ replay: { [CASES]: first!.replayId } });
    await expect(client.subscribed(CASES)).rejects.toThrow(
      `400::The replayId {${first!.replayId}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`,
    );
    // Salesforce's advice: resubscribe with -2 (or -1) and reconcile.
    client.replay[CASES] = -2;
    await client.subscribed(CASES);
    createCases(1, 'after purge');
    await waitFor(() => client.deliveries.length >= 1, 'the live event');
    expect(subjects(client)).toEqual(['after purge 1']);
  });

  it('retention is a time window: events older than retentionMs are gone and their ids invalid', async () => {
    await h.close();
    let clock = Date.parse('2024-05-20T00:00:00.000Z');
    h = await startHarness({ now: () => clock, retentionMs: 72 * 3600_000 });
    createCases(1, 'day 0');
    const [old] = h.log.retained();
    clock += 48 * 3600_000;
    createCases(1, 'day 2');
    clock += 25 * 3600_000; // day 0's event is 73 h old now
    const all = h.client({ replay: { [CASES]: -2 } });
    await all.subscribed(CASES);
    await waitFor(() => all.deliveries.length >= 1, 'the retained event');
    expect(subjects(all)).toEqual(['day 2 1']);
    const stale = h.client({ replay: { [CASES]: old!.replayId - 1 } });
    await expect(stale.subscribed(CASES)).rejects.toThrow(/^400::The replayId \{\d+\} you provided was invalid/);
  });
});
