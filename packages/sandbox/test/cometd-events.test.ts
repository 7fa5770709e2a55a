import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EMPTY_ID } from '../src/org/ids.ts';
import { startHarness, waitFor, type Harness } from './cometd-harness.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

describe('CometD change event delivery', () => {
  it('handshake advertises replay and long-polling only, with advice.timeout from the options', async () => {
    const client = h.client();
    await client.subscribed('/data/CaseChangeEvent');
    const handshake = client.metaReplies('/meta/handshake')[0]!;
    expect(handshake).toMatchObject({
      successful: true,
      ext: { replay: true, 'payload.format': true },
      supportedConnectionTypes: ['long-polling'],
      version: '1.0',
      minimumVersion: '1.0',
    });
    const connect = await waitFor(() => client.metaReplies('/meta/connect')[0], 'a connect reply');
    expect(connect.advice).toEqual({ reconnect: 'retry', interval: 0, timeout: 2000 });
  });

  it('delivers a CREATE with the full documented message shape', async () => {
    const client = h.client();
    await client.subscribed('/data/CaseChangeEvent');
    const c = h.store.create('Case', { Subject: 'Printer on fire', Origin: 'Email' });
    const delivery = await waitFor(() => client.deliveries[0], 'the CREATE event');
    expect(delivery.channel).toBe('/data/CaseChangeEvent');
    expect(Object.keys(delivery.data).sort()).toEqual(['event', 'payload', 'schema']);
    expect(delivery.data.schema).toMatch(/^[\w-]{22}$/);
    expect(delivery.data.event.replayId).toBeTypeOf('number');
    expect(delivery.data.payload).toEqual({
      ChangeEventHeader: {
        entityName: 'Case',
        recordIds: [c['Id']],
        changeType: 'CREATE',
        changeOrigin: 'com/salesforce/api/rest/62.0;client=sandbox',
        transactionKey: expect.any(String),
        sequenceNumber: 1,
        commitTimestamp: Date.parse(c['CreatedDate'] as string),
        commitNumber: expect.any(Number),
        commitUser: h.store.defaultUserId,
        changedFields: [],
      },
      Subject: 'Printer on fire',
      Origin: 'Email',
      Status: 'New',
      Priority: 'Medium',
      CaseNumber: '00001001',
      OwnerId: h.store.defaultUserId,
      IsClosed: false,
      IsEscalated: false,
      CreatedDate: c['CreatedDate'],
      CreatedById: h.store.defaultUserId,
      LastModifiedDate: c['CreatedDate'],
      LastModifiedById: h.store.defaultUserId,
    });
  });

  it('UPDATE carries only the changed fields and LastModifiedDate; DELETE is header only', async () => {
    const c = h.store.create('Case', { Subject: 'old', Description: 'd' });
    const id = c['Id'] as string;
    const client = h.client();
    await client.subscribed('/data/CaseChangeEvent');
    h.store.update(id, { Subject: 'new', Description: null });
    h.store.delete(id);
    await waitFor(() => client.deliveries.length >= 2, 'UPDATE and DELETE');
    const [update, del] = client.deliveries.map((d) => d.data.payload);
    expect(update!.ChangeEventHeader).toMatchObject({ changeType: 'UPDATE', recordIds: [id] });
    expect(update!.ChangeEventHeader.changedFields.sort()).toEqual(['Description', 'LastModifiedDate', 'Subject']);
    const { ChangeEventHeader: _u, ...updateBody } = update!;
    expect(updateBody).toEqual({ Subject: 'new', Description: null, LastModifiedDate: expect.any(String) });
    expect(Object.keys(del!)).toEqual(['ChangeEventHeader']);
    expect(del!.ChangeEventHeader).toMatchObject({ changeType: 'DELETE', recordIds: [id], changedFields: [] });
  });

  it('a transaction arrives as events sharing one transactionKey, identical changes merged into several recordIds', async () => {
    const a = h.store.create('Case', {})['Id'] as string;
    const b = h.store.create('Case', {})['Id'] as string;
    const client = h.client();
    await client.subscribed('/data/ChangeEvents');
    h.store.transaction((tx) => {
      tx.update(a, { Status: 'Escalated', IsEscalated: true });
      tx.update(b, { Status: 'Escalated', IsEscalated: true });
      tx.create('EmailMessage', { Subject: 'escalation', ParentId: a, Incoming: false, Status: '3' });
    });
    await waitFor(() => client.deliveries.length >= 2, 'two events');
    const headers = client.deliveries.map((d) => d.data.payload.ChangeEventHeader);
    expect(headers.map((x) => [x.entityName, x.changeType, x.sequenceNumber, x.recordIds])).toEqual([
      ['Case', 'UPDATE', 1, [a, b]],
      ['EmailMessage', 'CREATE', 2, [expect.stringMatching(/^02s/)]],
    ]);
    expect(headers[0]!.transactionKey).toBe(headers[1]!.transactionKey);
  });

  it('custom objects use /data/<Name>__ChangeEvent and /data/ChangeEvents carries every object', async () => {
    const perObject = h.client();
    const all = h.client();
    await perObject.subscribed('/data/Complaint__ChangeEvent');
    await all.subscribed('/data/ChangeEvents');
    const caseId = h.store.create('Case', {})['Id'] as string;
    h.store.create('Complaint__c', { Name: 'Late delivery', Severity__c: 'S2', Amount__c: 120.5, Case__c: caseId });
    h.store.create('Task', { Subject: 'Call back', WhatId: caseId, ActivityDate: '2024-06-01' });
    await waitFor(() => all.deliveries.length >= 3 && perObject.deliveries.length >= 1, 'events on both channels');
    expect(all.deliveries.map((d) => [d.channel, d.data.payload.ChangeEventHeader.entityName])).toEqual([
      ['/data/ChangeEvents', 'Case'],
      ['/data/ChangeEvents', 'Complaint__c'],
      ['/data/ChangeEvents', 'Task'],
    ]);
    expect(perObject.deliveries).toHaveLength(1);
    expect(perObject.deliveries[0]!.data.payload).toMatchObject({
      ChangeEventHeader: { entityName: 'Complaint__c', changeType: 'CREATE' },
      Name: 'Late delivery',
      Severity__c: 'S2',
      Amount__c: 120.5,
      Case__c: caseId,
    });
  });

  it('CaseComment changes emit nothing, and its channel does not exist', async () => {
    const client = h.client();
    await client.subscribed('/data/ChangeEvents');
    const caseId = h.store.create('Case', {}, { silent: true })['Id'] as string;
    h.store.create('CaseComment', { ParentId: caseId, CommentBody: 'no CDC for me' });
    h.store.create('Task', { Subject: 'marker' });
    await waitFor(() => client.deliveries.length >= 1, 'the marker event');
    expect(client.deliveries.map((d) => d.data.payload.ChangeEventHeader.entityName)).toEqual(['Task']);
    await expect(client.subscribed('/data/CaseCommentChangeEvent')).rejects.toThrow(
      '400::The channel you requested to subscribe to does not exist /data/CaseCommentChangeEvent',
    );
  });

  it('gap and overflow events carry a header and no data', async () => {
    const a = h.store.create('Case', {}, { silent: true })['Id'] as string;
    const b = h.store.create('Case', {}, { silent: true })['Id'] as string;
    const client = h.client();
    await client.subscribed('/data/CaseChangeEvent');
    h.endpoint.control.emitGap('Case', 'GAP_UPDATE', [a, b]);
    h.endpoint.control.emitOverflow('Case');
    await waitFor(() => client.deliveries.length >= 2, 'gap and overflow');
    const [gap, overflow] = client.deliveries.map((d) => d.data.payload);
    expect(Object.keys(gap!)).toEqual(['ChangeEventHeader']);
    expect(gap!.ChangeEventHeader).toMatchObject({
      entityName: 'Case',
      changeType: 'GAP_UPDATE',
      recordIds: [a, b],
      changeOrigin: '',
      changedFields: [],
    });
    expect(Object.keys(overflow!)).toEqual(['ChangeEventHeader']);
    expect(overflow!.ChangeEventHeader).toMatchObject({
      entityName: 'Case',
      changeType: 'GAP_OVERFLOW',
      recordIds: [EMPTY_ID],
    });
  });
});
