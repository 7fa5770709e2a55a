/**
 * The simulated org driven by real jsforce, the way the bridge will drive Salesforce.
 */
import jsforce from 'jsforce';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DEFAULT_CONNECTED_APP, startSalesforceOrg, type SimulatedSalesforceOrg } from '../src/org/index.ts';

let org: SimulatedSalesforceOrg;
let conn: InstanceType<typeof jsforce.Connection>;

beforeEach(async () => {
  org = await startSalesforceOrg({ autoApprove: true, maxBatchSize: 3, cometdTimeoutSeconds: 2 });
  const oauth2 = new jsforce.OAuth2({
    loginUrl: org.url,
    clientId: DEFAULT_CONNECTED_APP.clientId,
    clientSecret: DEFAULT_CONNECTED_APP.clientSecret,
    redirectUri: DEFAULT_CONNECTED_APP.redirectUris[0] ?? '',
    useVerifier: true,
  });
  const res = await fetch(oauth2.getAuthorizationUrl({ scope: 'api refresh_token' }), { redirect: 'manual' });
  const code = new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '';
  conn = new jsforce.Connection({ oauth2, version: '62.0' });
  await conn.authorize(code);
});

afterEach(async () => {
  await org.close();
});

describe('jsforce against the simulated org', () => {
  test('query with autoFetch follows nextRecordsUrl across small pages', async () => {
    for (let i = 0; i < 8; i++) org.store.create('Case', { Subject: `case ${i}` });
    const records: Array<{ Subject: string }> = [];
    await new Promise<void>((resolve, reject) => {
      conn
        .query('SELECT Id, Subject FROM Case ORDER BY Subject')
        .on('record', (r: { Subject: string }) => records.push(r))
        .on('end', () => resolve())
        .on('error', reject)
        .run({ autoFetch: true, maxFetch: 100 });
    });
    expect(records.map((r) => r.Subject)).toEqual(Array.from({ length: 8 }, (_, i) => `case ${i}`));
    expect(org.rest.counters().calls).toMatchObject({ query: 1, queryMore: 2 });
  });

  test('queryAll through jsforce (scanAll) sees soft-deleted rows', async () => {
    const kept = org.store.create('Case', { Subject: 'kept' });
    const binned = org.store.create('Case', { Subject: 'binned' });
    org.store.delete(String(binned.Id));
    const live = await conn.query('SELECT Id FROM Case');
    expect(live.records.map((r) => r.Id)).toEqual([kept.Id]);
    const all = await conn.query('SELECT Id, IsDeleted FROM Case WHERE IsDeleted = true', { scanAll: true });
    expect(all.records).toMatchObject([{ Id: binned.Id, IsDeleted: true }]);
  });

  test('sobject().retrieve(ids) uses the collections POST, nulls for deleted', async () => {
    const a = org.store.create('Case', { Subject: 'a', Status: 'Working' });
    const b = org.store.create('Case', { Subject: 'b' });
    org.store.delete(String(b.Id));
    const rows = await conn.sobject('Case').retrieve([String(a.Id), String(b.Id)]);
    expect(rows[0]).toMatchObject({ Id: a.Id, Subject: 'a', Status: 'Working' });
    expect(rows[1]).toBeNull();
    // jsforce described the object first to learn every field (docs/salesforce.md#retrieving-records-by-id)
    expect(org.rest.counters().calls).toMatchObject({ describe: 1, collectionsRetrieve: 1 });
    const single = await conn.sobject('Case').retrieve(String(a.Id), { fields: ['Subject'] });
    expect(single).toMatchObject({ Subject: 'a' });
  });

  test('describe and describeGlobal', async () => {
    const describe = await conn.describe('EmailMessage');
    expect(describe.keyPrefix).toBe('02s');
    expect(describe.fields.find((f) => f.name === 'ParentId')).toMatchObject({
      referenceTo: ['Case'],
      relationshipName: 'Parent',
    });
    const global = await conn.describeGlobal();
    expect(global.sobjects.map((o) => o.name)).toEqual(
      expect.arrayContaining(['Case', 'EmailMessage', 'CaseComment', 'Complaint__c']),
    );
  });

  test('updated() and deleted() windows', async () => {
    const c = org.store.create('Case', { Subject: 'x' });
    const gone = org.store.create('Case', { Subject: 'y' });
    org.store.delete(String(gone.Id));
    const start = new Date(Date.now() - 60 * 60 * 1000);
    const end = new Date(Date.now() + 60 * 60 * 1000);
    // The current minute is not covered yet, so everything made in it shows up in the next window.
    const updated = await conn.sobject('Case').updated(start, end);
    const deleted = await conn.sobject('Case').deleted(start, end);
    const covered = Date.parse(updated.latestDateCovered.replace('+0000', 'Z'));
    expect(covered).toBeLessThanOrEqual(Date.now());
    const stamp = (id: unknown) =>
      Date.parse(String(org.store.get(String(id), { includeDeleted: true })?.SystemModstamp));
    expect(updated.ids.includes(String(c.Id))).toBe(stamp(c.Id) < covered);
    expect(deleted.deletedRecords.some((d) => d.id === gone.Id)).toBe(stamp(gone.Id) < covered);
  });

  test('conn.limitInfo tracks Sforce-Limit-Info', async () => {
    await conn.limits();
    expect(conn.limitInfo.apiUsage).toEqual({ used: 1, limit: 100_000 });
  });

  test('after expireAccessTokens() jsforce refreshes once and the call succeeds', async () => {
    org.store.create('Case', { Subject: 'still here' });
    const old = conn.accessToken;
    org.oauth.expireAccessTokens();
    const result = await conn.query<{ Subject: string }>('SELECT Subject FROM Case');
    expect(result.records.map((r) => r.Subject)).toEqual(['still here']);
    expect(conn.accessToken).not.toBe(old);
    expect(org.oauth.counters().grants.refresh_token).toBe(1);
  });

  test('CometD is served on the same host: a jsforce streaming client receives a CaseChangeEvent', async () => {
    const received = new Promise<{
      payload: { ChangeEventHeader: { changeType: string; recordIds: string[] }; Subject?: string };
    }>((resolve, reject) => {
      const client = conn.streaming.createClient([]);
      const subscription = client.subscribe('/data/CaseChangeEvent', (message: unknown) => {
        resolve(
          message as { payload: { ChangeEventHeader: { changeType: string; recordIds: string[] }; Subject?: string } },
        );
        client.disconnect();
      });
      subscription.then(
        () => org.store.create('Case', { Subject: 'streamed' }),
        (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
      );
    });
    const message = await received;
    expect(message.payload.ChangeEventHeader.changeType).toBe('CREATE');
    expect(message.payload.Subject).toBe('streamed');
  });
});
