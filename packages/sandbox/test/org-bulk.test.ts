/**
 * Bulk API 2.0 query jobs of the simulated org (docs/salesforce.md#bulk-api-20-query-jobs): job
 * states with a queueing delay, CSV results paged by locator, the SOQL it refuses, failures, abort,
 * delete, list, and the REST errors.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { DEFAULT_CONNECTED_APP, startSalesforceOrg, type SimulatedSalesforceOrg } from '../src/org/index.ts';

let org: SimulatedSalesforceOrg;
let token: string;

afterEach(async () => {
  await org.close();
});

const JOBS = '/services/data/v62.0/jobs/query';

async function start() {
  org = await startSalesforceOrg({ autoApprove: true });
  org.bulk.setTiming({ queueDelayMs: 150, processingMs: 150 });
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

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${org.url}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const json = res.headers.get('content-type')?.includes('json') && text ? (JSON.parse(text) as unknown) : undefined;
  return { status: res.status, headers: res.headers, text, json: json as Record<string, unknown> };
}

async function createJob(query: string, operation: 'query' | 'queryAll' = 'query') {
  return call('POST', JOBS, { operation, query, contentType: 'CSV', columnDelimiter: 'COMMA', lineEnding: 'LF' });
}

/** Polls job info until it leaves the queued/in-progress states (deadline 10 s). */
async function settled(id: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const info = await call('GET', `${JOBS}/${id}`);
    if (info.json.state !== 'UploadComplete' && info.json.state !== 'InProgress') return info.json;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${JSON.stringify(info.json.state)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('Bulk API 2.0 query jobs', () => {
  test('a job is queued (UploadComplete), then InProgress, then JobComplete with the record count', async () => {
    await start();
    for (let i = 0; i < 3; i++) org.store.create('Case', { Subject: `c${i}` }, { silent: true });
    const created = await createJob('SELECT Id FROM Case');
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({
      operation: 'query',
      object: 'Case',
      state: 'UploadComplete',
      contentType: 'CSV',
    });
    const id = String(created.json.id);
    expect(id).toMatch(/^750/);
    // Not readable before it completes.
    const early = await call('GET', `${JOBS}/${id}/results`);
    expect(early.status).toBe(400);
    expect(early.json).toEqual([expect.objectContaining({ errorCode: 'API_ERROR' })]);
    const states = new Set<string>();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const state = String((await call('GET', `${JOBS}/${id}`)).json.state);
      states.add(state);
      if (state === 'JobComplete') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect([...states]).toEqual(expect.arrayContaining(['InProgress', 'JobComplete']));
    expect((await call('GET', `${JOBS}/${id}`)).json).toMatchObject({
      state: 'JobComplete',
      numberRecordsProcessed: 3,
    });
  });

  test('CSV: header as written, relationship paths, empty = null, quoting of commas, quotes and line breaks, ISO dates', async () => {
    await start();
    const parent = org.store.create('Case', { Subject: 'Parent' }, { silent: true });
    org.store.create(
      'Case',
      { Subject: 'He said "hi", then\nleft', Description: null, ParentId: String(parent.Id) },
      { silent: true },
    );
    const job = await createJob(
      "SELECT Id, subject, Description, Parent.Subject, SystemModstamp FROM Case WHERE Subject != 'Parent'",
    );
    await settled(String(job.json.id));
    const page = await call('GET', `${JOBS}/${String(job.json.id)}/results`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(page.headers.get('sforce-locator')).toBe('null');
    expect(page.headers.get('sforce-numberofrecords')).toBe('1');
    const [header, ...rest] = page.text.split('\n');
    expect(header).toBe('Id,subject,Description,Parent.Subject,SystemModstamp');
    const row = rest.join('\n');
    expect(row).toMatch(
      /^[0-9A-Za-z]{18},"He said ""hi"", then\nleft",,Parent,\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\n$/,
    );
  });

  test('results page by maxRecords and Sforce-Locator until the locator is "null"; each read is logged', async () => {
    await start();
    org.store.transaction((tx) => {
      for (let i = 0; i < 25; i++) tx.create('Case', { Subject: `c${i}` }, { silent: true });
    });
    const job = await createJob('SELECT Id, Subject FROM Case');
    const id = String(job.json.id);
    await settled(id);
    const seen: string[] = [];
    let locator: string | null = null;
    const locators: Array<string | null> = [];
    do {
      const page = await call('GET', `${JOBS}/${id}/results?maxRecords=10${locator ? `&locator=${locator}` : ''}`);
      expect(page.status).toBe(200);
      const rows = page.text.trimEnd().split('\n').slice(1);
      expect(page.headers.get('sforce-numberofrecords')).toBe(String(rows.length));
      seen.push(...rows.map((r) => r.split(',')[1] ?? ''));
      locators.push(locator);
      locator = page.headers.get('sforce-locator');
      expect(locator).not.toBeNull();
      if (locator === 'null') break;
    } while (locator);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    expect(org.bulk.resultReads().map((r) => [r.locator, r.records])).toEqual([
      [null, 10],
      [locators[1], 10],
      [locators[2], 5],
    ]);
    const bad = await call('GET', `${JOBS}/${id}/results?locator=bm9wZQ`);
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual([expect.objectContaining({ errorCode: 'INVALID_LOCATOR' })]);
  });

  test('queryAll includes deleted records, query does not', async () => {
    await start();
    const gone = org.store.create('Case', { Subject: 'gone' }, { silent: true });
    org.store.create('Case', { Subject: 'kept' }, { silent: true });
    org.store.delete(String(gone.Id), { silent: true });
    const counts: number[] = [];
    for (const operation of ['query', 'queryAll'] as const) {
      const job = await createJob('SELECT Id, IsDeleted FROM Case', operation);
      counts.push(Number((await settled(String(job.json.id))).numberRecordsProcessed));
    }
    expect(counts).toEqual([1, 2]);
  });

  test.each([
    ['SELECT COUNT() FROM Case', /aggregate/],
    ['SELECT Id FROM Case OFFSET 10', /OFFSET/],
    ['SELECT Id FROM Case GROUP BY Id', /GROUP BY/],
    ['SELECT FIELDS(STANDARD) FROM Case', /FIELDS\(\)/],
    ['SELECT Id, (SELECT Id FROM Cases) FROM Account', /subquery/],
    ['SELECT TYPEOF Owner WHEN User THEN Name END FROM Case', /TYPEOF/],
  ])('refuses %s with 400 API_ERROR at creation', async (soql, message) => {
    await start();
    const res = await createJob(soql);
    expect(res.status).toBe(400);
    expect(res.json).toEqual([{ errorCode: 'API_ERROR', message: expect.stringMatching(message) }]);
    expect(org.bulk.jobs()).toEqual([]);
  });

  test('bad SOQL and bad bodies get the REST errors; an unknown job is 404 NOT_FOUND', async () => {
    await start();
    expect((await createJob('SELECT Nope__c FROM Case')).json).toEqual([
      expect.objectContaining({ errorCode: 'INVALID_FIELD' }),
    ]);
    expect((await call('POST', JOBS, { operation: 'delete', query: 'SELECT Id FROM Case' })).status).toBe(400);
    const missing = await call('GET', `${JOBS}/750000000000000AAA`);
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual([expect.objectContaining({ errorCode: 'NOT_FOUND' })]);
  });

  test('a job the Control API fails ends Failed with its errorMessage; its results are refused', async () => {
    await start();
    org.bulk.failNextJobs(1, 'InternalServerError: simulated');
    const job = await createJob('SELECT Id FROM Case');
    const info = await settled(String(job.json.id));
    expect(info).toMatchObject({ state: 'Failed', errorMessage: 'InternalServerError: simulated' });
    expect((await call('GET', `${JOBS}/${String(job.json.id)}/results`)).status).toBe(400);
    // The next job is not affected.
    expect((await settled(String((await createJob('SELECT Id FROM Case')).json.id))).state).toBe('JobComplete');
  });

  test('abort (PATCH Aborted), delete (204, then 404), list, and every call counts against the API allowance', async () => {
    await start();
    org.bulk.setTiming({ queueDelayMs: 60_000 });
    const used = org.counters().rest.apiUsage.used;
    const job = await createJob('SELECT Id FROM Case');
    const id = String(job.json.id);
    expect((await call('DELETE', `${JOBS}/${id}`)).status).toBe(400);
    expect((await call('PATCH', `${JOBS}/${id}`, { state: 'JobComplete' })).status).toBe(400);
    const aborted = await call('PATCH', `${JOBS}/${id}`, { state: 'Aborted' });
    expect(aborted.json).toMatchObject({ id, state: 'Aborted' });
    const list = await call('GET', JOBS);
    expect(list.json).toMatchObject({ done: true, records: [expect.objectContaining({ id, state: 'Aborted' })] });
    expect((await call('DELETE', `${JOBS}/${id}`)).status).toBe(204);
    expect((await call('GET', `${JOBS}/${id}`)).status).toBe(404);
    expect(org.counters().rest.apiUsage.used - used).toBe(7);
    expect(org.counters().rest.calls).toMatchObject({
      bulkCreate: 1,
      bulkAbort: 2,
      bulkDelete: 2,
      bulkList: 1,
      bulkJob: 1,
    });
  });

  test('the Control API drives failures and page size over HTTP and lists jobs and result reads', async () => {
    await start();
    for (let i = 0; i < 3; i++) org.store.create('Case', { Subject: `c${i}` }, { silent: true });
    const control = (method: string, path: string, body?: unknown) =>
      fetch(`${org.url}/_sandbox/sf${path}`, {
        method,
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
    expect((await control('POST', '/faults/bulk', { failNextJobs: { count: 1, errorMessage: 'boom' } })).status).toBe(
      200,
    );
    expect(
      (await control('POST', '/faults/bulk', { capPageRecords: 2, queueDelayMs: 0, processingMs: 0 })).status,
    ).toBe(200);
    expect((await control('POST', '/faults/bulk', { failNextJobs: { count: 0 } })).status).toBe(400);
    const failed = String((await createJob('SELECT Id FROM Case')).json.id);
    expect(await settled(failed)).toMatchObject({ state: 'Failed', errorMessage: 'boom' });
    const ok = String((await createJob('SELECT Id FROM Case')).json.id);
    await settled(ok);
    const page = await call('GET', `${JOBS}/${ok}/results`);
    expect(page.headers.get('sforce-numberofrecords')).toBe('2');
    const listed = (await (await control('GET', '/bulk')).json()) as { jobs: unknown[]; resultReads: unknown[] };
    expect(listed.jobs).toHaveLength(2);
    expect(listed.resultReads).toEqual([expect.objectContaining({ jobId: ok, locator: null, records: 2 })]);
    expect((await control('DELETE', '/faults/bulk')).status).toBe(200);
  });
});
