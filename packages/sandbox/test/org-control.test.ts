import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createOrgStore } from '../src/org/store.ts';
import { seededRandom, startActivity, startSalesforceOrg, type SimulatedSalesforceOrg } from '../src/org/index.ts';

let org: SimulatedSalesforceOrg;

beforeEach(async () => {
  org = await startSalesforceOrg({ autoApprove: true });
});
afterEach(async () => {
  await org.close();
});

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${org.url}/_sandbox/sf${path}`, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
}

type Header = {
  changeType: string;
  recordIds: string[];
  transactionKey: string;
  sequenceNumber: number;
  entityName: string;
};
const headers = () => org.events.retained().map((e) => e.message.payload.ChangeEventHeader as Header);

describe('records over the Control API', () => {
  test('create, update, delete, undelete and purge produce the matching change events', async () => {
    const created = await call('POST', '/records', { object: 'Case', fields: { Subject: 'Broken', Status: 'New' } });
    expect(created.status).toBe(201);
    const id = String(created.body.Id);
    expect(id).toMatch(/^500/);
    expect((await call('PATCH', `/records/${id}`, { fields: { Status: 'Working' } })).body).toMatchObject({
      Id: id,
      Status: 'Working',
    });
    expect((await call('DELETE', `/records/${id}`)).body).toMatchObject({ Id: id, IsDeleted: true });
    expect((await call('POST', `/records/${id}/undelete`)).body).toMatchObject({ Id: id, IsDeleted: false });
    expect((await call('POST', `/records/${id}/purge`)).status).toBe(200);
    expect((await call('GET', `/records/${id}`)).status).toBe(404);
    // purge is a hard delete: no event (docs/salesforce.md#event-body-by-change-type)
    expect(headers().map((h) => h.changeType)).toEqual(['CREATE', 'UPDATE', 'DELETE', 'UNDELETE']);
  });

  test('silent writes change the data without any change event (like a direct database change)', async () => {
    const created = await call('POST', '/records', { object: 'Case', fields: { Subject: 'quiet' }, silent: true });
    expect(created.status).toBe(201);
    expect(org.store.get(String(created.body.Id))).toMatchObject({ Subject: 'quiet' });
    expect(headers()).toEqual([]);
  });

  test('a transaction shares one transactionKey and merges identical changes', async () => {
    const a = org.store.create('Case', { Subject: 'a' }, { silent: true });
    const b = org.store.create('Case', { Subject: 'b' }, { silent: true });
    const res = await call('POST', '/transactions', {
      operations: [
        { op: 'update', id: a.Id, fields: { Status: 'Closed' } },
        { op: 'update', id: b.Id, fields: { Status: 'Closed' } },
        { op: 'create', object: 'CaseComment', fields: { ParentId: a.Id, CommentBody: 'no CDC for comments' } },
        { op: 'create', object: 'Case', fields: { Subject: 'follow-up' } },
      ],
    });
    expect(res.status).toBe(200);
    const records = res.body.records as Array<{ Id: string }>;
    expect(records.map((r) => r.Id.slice(0, 3))).toEqual(['500', '500', '00a', '500']);
    const events = headers();
    expect(new Set(events.map((h) => h.transactionKey)).size).toBe(1);
    expect(events.map((h) => [h.changeType, h.recordIds, h.sequenceNumber])).toEqual([
      ['UPDATE', [a.Id, b.Id], 1],
      ['CREATE', [records[3]?.Id], 2],
    ]);
  });

  test('invalid input is a 400 that says what is wrong, never a crash', async () => {
    const unknownObject = await call('POST', '/records', { object: 'Nope__c', fields: {} });
    expect(unknownObject.status).toBe(400);
    expect(String(unknownObject.body.message)).toContain('Nope__c');
    const badValue = await call('POST', '/records', { object: 'Case', fields: { Status: 'Exploded' } });
    expect(badValue.status).toBe(400);
    expect(String(badValue.body.message)).toContain('Exploded');
    const badShape = await call('POST', '/records', { object: 'Case', fields: { Subject: { nested: true } } });
    expect(badShape).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const badOp = await call('POST', '/transactions', { operations: [{ op: 'explode', id: '500000000000000AAA' }] });
    expect(badOp).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const notJson = await fetch(`${org.url}/_sandbox/sf/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(notJson.status).toBe(400);
    // a failing transaction leaves nothing behind
    const rolledBack = await call('POST', '/transactions', {
      operations: [
        { op: 'create', object: 'Case', fields: { Subject: 'kept?' } },
        { op: 'update', id: '500000000000000AAA', fields: {} },
      ],
    });
    expect(rolledBack.status).toBeGreaterThanOrEqual(400);
    expect([...org.store.records('Case')]).toEqual([]);
  });
});

describe('CDC edge cases over the Control API', () => {
  test('gap, overflow and merged events carry the documented headers', async () => {
    const a = org.store.create('Case', { Subject: 'a' }, { silent: true });
    const b = org.store.create('Case', { Subject: 'b' }, { silent: true });
    const gap = await call('POST', '/events/gap', {
      object: 'Case',
      changeType: 'GAP_UPDATE',
      recordIds: [a.Id, b.Id],
    });
    expect(gap.body.header).toMatchObject({ changeType: 'GAP_UPDATE', recordIds: [a.Id, b.Id], changeOrigin: '' });
    const overflow = await call('POST', '/events/overflow', { object: 'EmailMessage' });
    expect(overflow.body.header).toMatchObject({
      changeType: 'GAP_OVERFLOW',
      recordIds: ['000000000000000AAA'],
      entityName: 'EmailMessage',
    });
    const merged = await call('POST', '/events/merged', {
      object: 'Case',
      changeType: 'UPDATE',
      recordIds: [a.Id, b.Id],
      fields: { Status: 'Closed' },
    });
    expect(merged.body.header).toMatchObject({
      changeType: 'UPDATE',
      recordIds: [a.Id, b.Id],
      changedFields: ['Status'],
    });
    expect(Number(merged.body.replayId)).toBeGreaterThan(Number(gap.body.replayId));
    const noCdc = await call('POST', '/events/overflow', { object: 'CaseComment' });
    expect(noCdc.status).toBe(400);
  });

  test('purging retention empties the event log', async () => {
    org.store.create('Case', { Subject: 'x' });
    expect(org.events.retained()).toHaveLength(1);
    expect((await call('POST', '/events/purge', {})).body).toMatchObject({ retained: 0 });
  });
});

describe('tokens, faults and counters over the Control API', () => {
  async function login(): Promise<string> {
    const redirect = 'http://localhost:8787/oauth/callback';
    const authorize = await fetch(
      `${org.url}/services/oauth2/authorize?response_type=code&client_id=3MVG9SandboxBridgeConsumerKey&redirect_uri=${encodeURIComponent(redirect)}`,
      { redirect: 'manual' },
    );
    const code = new URL(authorize.headers.get('location') ?? '').searchParams.get('code') ?? '';
    const res = await fetch(`${org.url}/services/oauth2/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        client_id: '3MVG9SandboxBridgeConsumerKey',
        client_secret: 'sandbox-consumer-secret',
        redirect_uri: redirect,
      }),
    });
    return ((await res.json()) as { access_token: string }).access_token;
  }
  const limits = (token: string) =>
    fetch(`${org.url}/services/data/v62.0/limits`, { headers: { Authorization: `Bearer ${token}` } });

  test('expire-access-tokens makes REST answer 401 INVALID_SESSION_ID', async () => {
    const token = await login();
    expect((await limits(token)).status).toBe(200);
    expect((await call('POST', '/oauth/expire-access-tokens')).body).toEqual({ expired: 1 });
    const res = await limits(token);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
  });

  test('REST faults and counters over HTTP; bad fault bodies are 400', async () => {
    const token = await login();
    expect((await call('POST', '/faults/rest', { failNext: { count: 1, status: 500 } })).status).toBe(200);
    expect((await limits(token)).status).toBe(500);
    expect((await limits(token)).status).toBe(200);
    expect((await call('POST', '/faults/rest', { failNext: { count: 1, status: 418 } })).status).toBe(400);
    const counters = await call('GET', '/counters');
    expect(counters.body).toMatchObject({
      rest: { calls: { limits: 2 } },
      oauth: { grants: { authorization_code: 1 } },
    });
    expect((counters.body.streaming as { subscriptions: unknown[] }).subscriptions).toEqual([]);
  });

  test('CometD faults are accepted; unknown keys are refused', async () => {
    expect((await call('POST', '/faults/cometd', { unknownClient: true, latencyMs: 0 })).status).toBe(200);
    expect((await call('POST', '/faults/cometd', { explode: true })).status).toBe(400);
    expect((await call('GET', '/streaming')).body).toMatchObject({ activeClients: 0 });
  });
});

describe('activity generator', () => {
  function run(seed: number, steps: number) {
    const store = createOrgStore({ now: () => Date.parse('2024-05-10T12:00:00Z') });
    const activity = startActivity(store, {
      ratePerMinute: 0,
      random: seededRandom(seed),
      now: () => Date.parse('2024-05-10T12:00:00Z'),
    });
    const kinds = Array.from({ length: steps }, () => activity.step().kind);
    activity.stop();
    return { store, kinds };
  }

  test('a seeded run is repeatable and looks like Email-to-Case traffic', () => {
    const first = run(42, 60);
    const second = run(42, 60);
    expect(second.kinds).toEqual(first.kinds);
    expect(first.kinds[0]).toBe('newCase');
    expect(first.kinds).toEqual(
      expect.arrayContaining(['newCase', 'customerReply', 'agentReply', 'statusChange', 'caseComment']),
    );
    const cases = [...first.store.records('Case', { includeDeleted: true })];
    const emails = [...first.store.records('EmailMessage')];
    // every Case opens with an inbound email in the same transaction
    for (const c of cases) expect(emails.some((e) => e.ParentId === c.Id && e.Incoming === true)).toBe(true);
    expect(emails.some((e) => e.Incoming === false && e.Status === '3')).toBe(true);
    expect([...first.store.records('CaseComment')].length).toBeGreaterThan(0);
    expect(run(7, 60).kinds).not.toEqual(first.kinds);
  });

  test('the timer runs at the configured rate and stop() ends it', async () => {
    const activity = startActivity(org.store, { ratePerMinute: 6000, random: seededRandom(1) });
    await expect.poll(() => activity.count, { timeout: 2000 }).toBeGreaterThanOrEqual(3);
    activity.stop();
    const stoppedAt = activity.count;
    expect([...org.store.records('Case')].length).toBeGreaterThan(0);
    // a later control request proves the loop is idle without sleeping: count is unchanged
    await call('GET', '/counters');
    expect(activity.count).toBe(stoppedAt);
  });
});
