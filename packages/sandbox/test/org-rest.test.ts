import { afterEach, describe, expect, test } from 'vitest';
import {
  DEFAULT_CONNECTED_APP,
  startSalesforceOrg,
  type SalesforceOrgOptions,
  type SimulatedSalesforceOrg,
} from '../src/org/index.ts';

let org: SimulatedSalesforceOrg;
let token: string;

afterEach(async () => {
  await org.close();
});

/** Starts an org and logs in through the real code flow (auto-approved). */
async function start(opts: SalesforceOrgOptions = {}) {
  org = await startSalesforceOrg({ autoApprove: true, ...opts });
  const app = DEFAULT_CONNECTED_APP;
  const redirectUri = app.redirectUris[0] ?? '';
  const authorize = await fetch(
    `${org.url}/services/oauth2/authorize?response_type=code&client_id=${app.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}`,
    { redirect: 'manual' },
  );
  const code = new URL(authorize.headers.get('location') ?? '').searchParams.get('code') ?? '';
  const res = await fetch(`${org.url}/services/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      client_id: app.clientId,
      client_secret: app.clientSecret,
      redirect_uri: redirectUri,
    }),
  });
  token = ((await res.json()) as { access_token: string }).access_token;
}

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${org.url}${path}`, { headers: { Authorization: `Bearer ${token}`, ...headers } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
}

async function post(path: string, body: unknown) {
  const res = await fetch(`${org.url}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const q = (soql: string) => `/services/data/v62.0/query?q=${encodeURIComponent(soql)}`;

describe('authentication, usage and limits', () => {
  test('no or bad token is 401 INVALID_SESSION_ID with the exact array body', async () => {
    await start();
    for (const headers of [{ Authorization: 'Bearer nope' }, { Authorization: '' }]) {
      const res = await fetch(`${org.url}/services/data/v62.0/sobjects`, { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    }
  });

  test('every response carries Sforce-Limit-Info and counts one call', async () => {
    await start({ dailyApiLimit: 500 });
    const first = await get('/services/data/v62.0/limits');
    expect(first.headers.get('sforce-limit-info')).toBe('api-usage=1/500');
    expect(first.body).toMatchObject({ DailyApiRequests: { Max: 500, Remaining: 499 } });
    const second = await get('/services/data/v62.0/sobjects');
    expect(second.headers.get('sforce-limit-info')).toBe('api-usage=2/500');
    expect(org.rest.counters().calls).toMatchObject({ limits: 1, describeGlobal: 1 });
  });

  test('over the daily allowance every call is 403 REQUEST_LIMIT_EXCEEDED', async () => {
    await start({ dailyApiLimit: 2 });
    expect((await get('/services/data/v62.0/limits')).status).toBe(200);
    expect((await get('/services/data/v62.0/limits')).status).toBe(200);
    const over = await get('/services/data/v62.0/limits');
    expect(over.status).toBe(403);
    expect(over.body).toEqual([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
  });

  test('a URI over 16,384 bytes is 414, URI plus headers over it 431', async () => {
    await start();
    const long = await fetch(`${org.url}${q(`SELECT Id FROM Case WHERE Subject = '${'x'.repeat(16_400)}'`)}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(long.status).toBe(414);
    const fat = await fetch(`${org.url}/services/data/v62.0/limits`, {
      headers: { Authorization: `Bearer ${token}`, 'x-padding': 'p'.repeat(16_300) },
    });
    expect(fat.status).toBe(431);
    const fine = await get(q(`SELECT Id FROM Case WHERE Subject = '${'x'.repeat(16_000)}'`));
    expect(fine.status).toBe(200);
  });

  test('versions list needs no token; an unknown version is 404 NOT_FOUND', async () => {
    await start();
    const versions = await fetch(`${org.url}/services/data`);
    const list = (await versions.json()) as Array<{ version: string; label: string; url: string }>;
    expect(list.at(-1)).toEqual({ label: "Summer '26", url: '/services/data/v67.0', version: '67.0' });
    expect(list.find((v) => v.version === '62.0')?.label).toBe("Winter '25");
    const unknown = await get('/services/data/v99.0/sobjects');
    expect(unknown).toMatchObject({
      status: 404,
      body: [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }],
    });
    const resources = await get('/services/data/v62.0/');
    expect(resources.body).toMatchObject({
      query: '/services/data/v62.0/query',
      sobjects: '/services/data/v62.0/sobjects',
    });
  });
});

describe('describe', () => {
  test('describeGlobal lists objects with keyPrefix; describe has picklists and references', async () => {
    await start();
    const global = await get('/services/data/v62.0/sobjects');
    const sobjects = (global.body as { sobjects: Array<{ name: string; keyPrefix: string }> }).sobjects;
    expect(sobjects.find((o) => o.name === 'Case')?.keyPrefix).toBe('500');
    const describe = await get('/services/data/v62.0/sobjects/Case/describe');
    expect(describe.status).toBe(200);
    const body = describe.body as {
      name: string;
      keyPrefix: string;
      replicateable: boolean;
      childRelationships: Array<{ childSObject: string }>;
      fields: Array<Record<string, unknown>>;
    };
    expect(body).toMatchObject({ name: 'Case', keyPrefix: '500', replicateable: true });
    expect(body.childRelationships.map((r) => r.childSObject)).toContain('EmailMessage');
    const status = body.fields.find((f) => f.name === 'Status');
    expect(status).toMatchObject({ type: 'picklist', soapType: 'xsd:string' });
    expect(status?.picklistValues).toContainEqual({
      value: 'New',
      label: 'New',
      active: true,
      defaultValue: true,
      validFor: null,
    });
    const emailDescribe = await get('/services/data/v62.0/sobjects/EmailMessage/describe');
    const parent = (emailDescribe.body as typeof body).fields.find((f) => f.name === 'ParentId');
    expect(parent).toMatchObject({ type: 'reference', referenceTo: ['Case'], relationshipName: 'Parent' });
  });

  test('If-Modified-Since at or after the metadata date is 304', async () => {
    await start();
    const first = await get('/services/data/v62.0/sobjects/Case/describe');
    const lastModified = first.headers.get('last-modified') ?? '';
    expect(lastModified).not.toBe('');
    const again = await get('/services/data/v62.0/sobjects/Case/describe', { 'If-Modified-Since': lastModified });
    expect(again.status).toBe(304);
    const older = await get('/services/data/v62.0/sobjects/Case/describe', {
      'If-Modified-Since': 'Mon, 01 Jan 2001 00:00:00 GMT',
    });
    expect(older.status).toBe(200);
  });

  test('an unknown object is 404 NOT_FOUND', async () => {
    await start();
    expect(await get('/services/data/v62.0/sobjects/Nope__c/describe')).toMatchObject({
      status: 404,
      body: [{ errorCode: 'NOT_FOUND' }],
    });
  });
});

describe('retrieve', () => {
  test('single retrieve returns the fields asked for, datetimes in +0000 form', async () => {
    await start();
    const created = org.store.create('Case', { Subject: 'Printer on fire', Status: 'New' });
    const res = await get(`/services/data/v62.0/sobjects/Case/${String(created.Id)}?fields=Id,subject,CreatedDate`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      attributes: { type: 'Case', url: `/services/data/v62.0/sobjects/Case/${String(created.Id)}` },
      Id: created.Id,
      Subject: 'Printer on fire',
      CreatedDate: String(created.CreatedDate).replace(/Z$/, '+0000'),
    });
  });

  test('a deleted or missing record is 404 NOT_FOUND; an Id of another object is MALFORMED_ID', async () => {
    await start();
    const gone = org.store.create('Case', { Subject: 'gone' });
    org.store.delete(String(gone.Id));
    expect(await get(`/services/data/v62.0/sobjects/Case/${String(gone.Id)}`)).toMatchObject({
      status: 404,
      body: [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }],
    });
    const bad = await get('/services/data/v62.0/sobjects/Case/02s5f0000001abcAAA');
    expect(bad).toMatchObject({
      status: 400,
      body: [
        {
          fields: ['Id'],
          errorCode: 'MALFORMED_ID',
          message: 'Case ID: id value of incorrect type: 02s5f0000001abcAAA',
        },
      ],
    });
  });

  test('a bad field name is 400 INVALID_FIELD', async () => {
    await start();
    const c = org.store.create('Case', { Subject: 's' });
    const res = await get(`/services/data/v62.0/sobjects/Case/${String(c.Id)}?fields=Id,Subjct`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual([
      { errorCode: 'INVALID_FIELD', message: expect.stringContaining("No such column 'Subjct' on entity 'Case'") },
    ]);
  });

  test('collections retrieve keeps id order with null for missing, deleted and invalid ids', async () => {
    await start();
    const a = org.store.create('Case', { Subject: 'a' });
    const b = org.store.create('Case', { Subject: 'b' });
    const deleted = org.store.create('Case', { Subject: 'deleted' });
    org.store.delete(String(deleted.Id));
    const ids = [String(b.Id), 'garbage', String(deleted.Id), String(a.Id)];
    const res = await post('/services/data/v62.0/composite/sobjects/Case', { ids, fields: ['Id', 'Subject'] });
    expect(res.status).toBe(200);
    const rows = res.body as Array<{ Subject: string } | null>;
    expect(rows.map((r) => r?.Subject ?? null)).toEqual(['b', null, null, 'a']);
    const viaGet = await get(`/services/data/v62.0/composite/sobjects/Case?ids=${ids.join(',')}&fields=Subject`);
    expect((viaGet.body as Array<{ Subject: string } | null>).map((r) => r?.Subject ?? null)).toEqual([
      'b',
      null,
      null,
      'a',
    ]);
  });

  test('collections retrieve: a bad field fails the whole call, more than 2,000 ids is refused', async () => {
    await start();
    const a = org.store.create('Case', { Subject: 'a' });
    const badField = await post('/services/data/v62.0/composite/sobjects/Case', {
      ids: [String(a.Id)],
      fields: ['Id', 'Nope'],
    });
    expect(badField).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_FIELD' }] });
    const tooMany = await post('/services/data/v62.0/composite/sobjects/Case', {
      ids: Array.from({ length: 2001 }, () => String(a.Id)),
      fields: ['Id'],
    });
    expect(tooMany.status).toBe(400);
    const badBody = await post('/services/data/v62.0/composite/sobjects/Case', { ids: 'x' });
    expect(badBody).toMatchObject({ status: 400, body: [{ errorCode: 'JSON_PARSER_ERROR' }] });
  });
});

describe('query and queryAll', () => {
  test('pages follow nextRecordsUrl /query/<locator>-<offset> until done', async () => {
    await start({ maxBatchSize: 2 });
    for (let i = 0; i < 5; i++) org.store.create('Case', { Subject: `c${i}` });
    const first = await get(q('SELECT Subject FROM Case ORDER BY Subject'));
    const page1 = first.body as {
      totalSize: number;
      done: boolean;
      nextRecordsUrl: string;
      records: Array<{ Subject: string }>;
    };
    expect(page1).toMatchObject({ totalSize: 5, done: false });
    expect(page1.nextRecordsUrl).toMatch(/^\/services\/data\/v62\.0\/query\/01g[0-9A-Za-z]{15}-2$/);
    const subjects = page1.records.map((r) => r.Subject);
    let next: string | undefined = page1.nextRecordsUrl;
    while (next) {
      const page = (await get(next)).body as {
        done: boolean;
        nextRecordsUrl?: string;
        records: Array<{ Subject: string }>;
      };
      subjects.push(...page.records.map((r) => r.Subject));
      next = page.nextRecordsUrl;
      if (!next) expect(page.done).toBe(true);
    }
    expect(subjects).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
  });

  test('an unknown or expired locator is INVALID_QUERY_LOCATOR', async () => {
    await start({ maxBatchSize: 1 });
    org.store.create('Case', { Subject: 'a' });
    org.store.create('Case', { Subject: 'b' });
    const first = (await get(q('SELECT Id FROM Case'))).body as { nextRecordsUrl: string };
    org.rest.expireQueryCursors();
    expect(await get(first.nextRecordsUrl)).toMatchObject({
      status: 400,
      body: [{ errorCode: 'INVALID_QUERY_LOCATOR' }],
    });
    expect(await get('/services/data/v62.0/query/nonsense')).toMatchObject({
      status: 400,
      body: [{ errorCode: 'INVALID_QUERY_LOCATOR' }],
    });
  });

  test('Sforce-Query-Options batchSize is a hint clamped to 200..2000', async () => {
    await start();
    for (let i = 0; i < 250; i++) org.store.create('Case', { Subject: `c${i}` }, { silent: true });
    const page = (await get(q('SELECT Id FROM Case'), { 'Sforce-Query-Options': 'batchSize=10' })).body as {
      records: unknown[];
      done: boolean;
    };
    expect(page.records).toHaveLength(200);
    expect(page.done).toBe(false);
  });

  test('queryAll sees soft-deleted rows and its next page continues as queryAll', async () => {
    await start({ maxBatchSize: 1 });
    const a = org.store.create('Case', { Subject: 'alive' });
    const b = org.store.create('Case', { Subject: 'deleted' });
    org.store.delete(String(b.Id));
    const query = (await get(q('SELECT Id, IsDeleted FROM Case ORDER BY Subject'))).body as { totalSize: number };
    expect(query.totalSize).toBe(1);
    const all = (
      await get(
        `/services/data/v62.0/queryAll?q=${encodeURIComponent('SELECT Id, IsDeleted FROM Case ORDER BY Subject')}`,
      )
    ).body as {
      totalSize: number;
      nextRecordsUrl: string;
      records: Array<{ Id: string; IsDeleted: boolean }>;
    };
    expect(all.totalSize).toBe(2);
    expect(all.nextRecordsUrl).toContain('/query/');
    const second = (await get(all.nextRecordsUrl)).body as { records: Array<{ Id: string; IsDeleted: boolean }> };
    expect([...all.records, ...second.records]).toMatchObject([
      { Id: a.Id, IsDeleted: false },
      { Id: b.Id, IsDeleted: true },
    ]);
  });

  test('SOQL errors come back as 400 arrays with the SOQL errorCode', async () => {
    await start();
    expect(await get(q('SELECT Nope FROM Case'))).toMatchObject({
      status: 400,
      body: [{ errorCode: 'INVALID_FIELD' }],
    });
    expect(await get(q('SELECT Id FROM Nope'))).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_TYPE' }] });
    expect(await get(q('SELEC Id FROM Case'))).toMatchObject({ status: 400, body: [{ errorCode: 'MALFORMED_QUERY' }] });
    expect(await get('/services/data/v62.0/query')).toMatchObject({
      status: 400,
      body: [{ errorCode: 'MALFORMED_QUERY', message: 'A query string has to be specified' }],
    });
  });
});

describe('getUpdated / getDeleted', () => {
  test('windows list changed and deleted ids, seconds truncated, latestDateCovered capped at now', async () => {
    let clock = Date.parse('2024-05-10T12:00:30Z');
    await start({ now: () => clock });
    const early = org.store.create('Case', { Subject: 'early' });
    const doomed = org.store.create('Case', { Subject: 'doomed' });
    clock = Date.parse('2024-05-10T12:05:10Z');
    const later = org.store.create('Case', { Subject: 'later' });
    org.store.delete(String(doomed.Id));
    clock = Date.parse('2024-05-10T13:00:00Z');
    const updated = await get(
      '/services/data/v62.0/sobjects/Case/updated/?start=2024-05-10T12%3A00%3A59%2B00%3A00&end=2024-05-10T12%3A05%3A00%2B00%3A00',
    );
    // start 12:00:59 → 12:00:00, so `early` (12:00:30) is inside; `later` (12:05:10) is past the end;
    // deleted rows are getDeleted's business.
    expect(updated.body).toEqual({ ids: [early.Id], latestDateCovered: '2024-05-10T12:05:00.000+0000' });
    const future = await get(
      '/services/data/v62.0/sobjects/Case/updated?start=2024-05-10T12%3A00%3A00Z&end=2024-05-11T00%3A00%3A00Z',
    );
    expect(future.body).toEqual({ ids: [early.Id, later.Id], latestDateCovered: '2024-05-10T13:00:00.000+0000' });
    const deleted = await get(
      '/services/data/v62.0/sobjects/Case/deleted/?start=2024-05-10T12%3A00%3A00%2B00%3A00&end=2024-05-10T12%3A30%3A00%2B00%3A00',
    );
    expect(deleted.body).toEqual({
      deletedRecords: [{ id: doomed.Id, deletedDate: '2024-05-10T12:05:10.000+0000' }],
      earliestDateAvailable: '2024-04-25T13:00:00.000+0000',
      latestDateCovered: '2024-05-10T12:30:00.000+0000',
    });
  });

  test('start must precede end and stay inside 30 / 15 days', async () => {
    const clock = Date.parse('2024-05-10T12:00:00Z');
    await start({ now: () => clock });
    const reversed = await get(
      '/services/data/v62.0/sobjects/Case/updated?start=2024-05-10T12%3A00%3A00Z&end=2024-05-10T12%3A00%3A30Z',
    );
    expect(reversed).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_REPLICATION_DATE' }] });
    const old = await get(
      '/services/data/v62.0/sobjects/Case/deleted?start=2024-04-20T00%3A00%3A00Z&end=2024-05-01T00%3A00%3A00Z',
    );
    expect(old).toMatchObject({
      status: 400,
      body: [{ errorCode: 'INVALID_REPLICATION_DATE', message: 'startDate cannot be more than 15 days ago' }],
    });
    const updatedOk = await get(
      '/services/data/v62.0/sobjects/Case/updated?start=2024-04-20T00%3A00%3A00Z&end=2024-05-01T00%3A00%3A00Z',
    );
    expect(updatedOk.status).toBe(200);
    const missing = await get('/services/data/v62.0/sobjects/Case/updated?start=2024-04-20T00%3A00%3A00Z');
    expect(missing).toMatchObject({ status: 400, body: [{ errorCode: 'MISSING_ARGUMENT' }] });
  });
});

describe('fault injection', () => {
  test('failNext answers 503 then recovers; dropNext cuts the connection', async () => {
    await start();
    org.rest.failNext(1, 503);
    const failed = await get('/services/data/v62.0/limits');
    expect(failed).toMatchObject({ status: 503, body: [{ errorCode: 'SERVER_UNAVAILABLE' }] });
    expect((await get('/services/data/v62.0/limits')).status).toBe(200);
    org.rest.dropNext(1);
    await expect(
      fetch(`${org.url}/services/data/v62.0/limits`, { headers: { Authorization: `Bearer ${token}` } }),
    ).rejects.toThrow();
    expect((await get('/services/data/v62.0/limits')).status).toBe(200);
  });

  test('latency delays responses by at least the configured time', async () => {
    await start();
    org.rest.setLatency(150);
    const started = performance.now();
    expect((await get('/services/data/v62.0/limits')).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });
});
