/**
 * Records carried by a bulk backfill (docs/salesforce.md#bulk-rows-as-records): a Bulk API 2.0 CSV row,
 * typed from the describes, renders exactly the comment the REST record of the same state renders,
 * so a worker can push it without a fetch and a later reconciliation finds nothing to push again.
 * Against the sandbox org: the real CSV of a real query job, and the real REST query.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectConfig } from '../../src/config/index.ts';
import { contentHash, toComment } from '../../src/pipeline/index.ts';
import { BulkQueryClient } from '../../src/salesforce/bulk/bulk-query-client.ts';
import { bulkRecordPlan, bulkRowReader } from '../../src/salesforce/bulk/bulk-record.ts';
import type { DescribeLookup } from '../../src/salesforce/describe.ts';
import type { QueryRecord, SalesforceRestClient } from '../../src/salesforce/rest-client.ts';
import { startAuthorisedPipeline, type AuthorisedPipeline } from '../helpers/pipeline.ts';

const OBJECTS = `      EmailMessage:
        comment:
          timestamp: MessageDate
          thread: ParentId
          subject: Subject
          body: [TextBody, HtmlBody]
          from: FromAddress
          to: ToAddress
          properties:
            Case Number: Parent.CaseNumber
            Case Priority: Parent.Priority
            Status: Status
            Incoming: Incoming
      Complaint__c:
        comment:
          subject: Name
          body: Details__c
          properties:
            Amount: Amount__c
            Severity: Severity__c
            Case Subject: Case__r.Subject
            Case Escalated: Case__r.IsEscalated
      Account:
        comment:
          subject: Name
          body: Description`;

describe('bulk rows as records', () => {
  let pipeline: AuthorisedPipeline;
  let rest: SalesforceRestClient;
  let objects: readonly ObjectConfig[];

  beforeAll(async () => {
    pipeline = await startAuthorisedPipeline({ objects: OBJECTS, cmToken: 'cm-bulk-record' });
    const { harness } = pipeline;
    harness.org.bulk.setTiming({ queueDelayMs: 0, processingMs: 0 });
    const integration = harness.config.integrations[0];
    const parts = integration && harness.context.integrations.get(integration.key);
    if (!integration || !parts) throw new Error('no integration');
    rest = parts.rest;
    objects = integration.objects;
    harness.org.store.transaction((tx) => {
      const parent = String(tx.create('Case', { Subject: 'Broken, "really"', Priority: 'High', IsEscalated: true }).Id);
      const quiet = String(tx.create('Case', { Subject: 'Quiet', Priority: 'Low' }).Id);
      tx.create('EmailMessage', {
        Subject: 'Line one\nline "two", three',
        HtmlBody: '<p>Hello <b>there</b>,<br>see&nbsp;below</p>',
        FromAddress: 'a@example.com',
        ToAddress: 'b@example.com; "Doe, Jane" <jane@example.com>',
        MessageDate: '2026-11-01T10:00:00.000+0000',
        ParentId: parent,
        Incoming: true,
        Status: '1',
      });
      tx.create('EmailMessage', {
        Subject: 'No parent, text body',
        TextBody: 'plain',
        MessageDate: '2026-11-02T10:00:00.000+0000',
        Incoming: false,
      });
      tx.create('Complaint__c', {
        Name: 'C-1',
        Details__c: 'Late',
        Amount__c: 12.5,
        Severity__c: 'S1',
        Case__c: parent,
      });
      tx.create('Complaint__c', { Name: 'C-2', Details__c: 'Zero', Amount__c: 0, Case__c: quiet });
      tx.create('Complaint__c', { Name: 'C-3', Details__c: 'No amount, no case' });
      tx.create('Account', { Name: 'Acme', Description: '' });
    });
  });
  afterAll(async () => {
    await pipeline.close();
  });

  async function bulkRecords(object: ObjectConfig, describes: DescribeLookup, columns: string[]) {
    const client = new BulkQueryClient(rest);
    const job = await client.create(`SELECT ${columns.join(', ')} FROM ${object.name}`, 'query');
    await client.waitUntilComplete(job.id, { initialMs: 20, maxMs: 100 });
    const page = await client.page(job.id, {});
    const read = bulkRowReader(object.name, page.header, describes);
    if (!read) throw new Error(`no reader for ${page.header.join(',')}`);
    const records: QueryRecord[] = [];
    for await (const rows of page.rows) for (const row of rows) records.push(read(row));
    await client.delete(job.id);
    return records;
  }

  it.each(['EmailMessage', 'Complaint__c', 'Account'])(
    '%s: every row renders the comment its REST record renders',
    async (name) => {
      const object = objects.find((o) => o.name === name) as ObjectConfig;
      const describes = await pipeline.harness.context.integrations
        .get(pipeline.harness.config.integrations[0]?.key ?? '')
        ?.describes.ensure(object.name, object.fields);
      if (!describes) throw new Error('no describes');
      const plan = bulkRecordPlan(object.name, object.fields, describes);
      if (!plan.ok) throw new Error(plan.reason);
      const carried = await bulkRecords(object, describes, plan.columns);
      const fetched = (await rest.query(`SELECT ${object.fields.join(', ')} FROM ${object.name}`)).records;
      expect(carried.map((r) => r.Id).sort()).toEqual(fetched.map((r) => r.Id).sort());
      for (const record of fetched) {
        const twin = carried.find((r) => r.Id === record.Id) as QueryRecord;
        const fromRest = toComment(record, object, describes);
        const fromBulk = toComment(twin, object, describes);
        if (!fromRest.ok || !fromBulk.ok) throw new Error(`not converted: ${JSON.stringify([fromRest, fromBulk])}`);
        expect(fromBulk.comment).toEqual(fromRest.comment);
        expect(contentHash(fromBulk.comment)).toBe(contentHash(fromRest.comment));
      }
    },
  );

  it('a polymorphic hop, a compound field or an unknown field is refused: the backfill then queues ids only', async () => {
    const parts = pipeline.harness.context.integrations.get(pipeline.harness.config.integrations[0]?.key ?? '');
    const describes = await parts?.describes.ensure('EmailMessage', ['RelatedTo.Name']);
    if (!describes) throw new Error('no describes');
    expect(bulkRecordPlan('EmailMessage', ['Subject', 'RelatedTo.Name'], describes)).toEqual({
      ok: false,
      reason: 'RelatedTo.Name: RelatedTo is polymorphic',
    });
    expect(bulkRecordPlan('EmailMessage', ['Subject', 'NoSuchField'], describes)).toMatchObject({ ok: false });
    expect(bulkRecordPlan('EmailMessage', ['Subject', 'Parent.CaseNumber'], describes)).toEqual({
      ok: true,
      columns: ['Id', 'SystemModstamp', 'Subject', 'Parent.CaseNumber'],
    });
  });
});
