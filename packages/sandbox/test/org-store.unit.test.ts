import { describe, expect, it } from 'vitest';
import type { ChangeEventPayload } from '../src/org/contracts.ts';
import { ChangeEventLog } from '../src/org/change-events.ts';
import { EMPTY_ID, checksumSuffix, createIdGenerator, isValidId, keyPrefixOf, to18 } from '../src/org/ids.ts';
import { changeEventChannelOf, defaultObjects } from '../src/org/metadata.ts';
import { InvalidRecordError, RecordNotFoundError, createOrgStore } from '../src/org/store.ts';

const T0 = Date.parse('2024-05-20T20:49:32.345Z');

function storeWithEvents(start = T0) {
  let clock = start;
  const store = createOrgStore({ now: () => clock });
  const events: ChangeEventPayload[] = [];
  store.onCommit((e) => events.push(e));
  return {
    store,
    events,
    tick: (ms: number) => {
      clock += ms;
    },
  };
}

describe('ids', () => {
  it('computes the case-safe suffix the way Salesforce does', () => {
    expect(checksumSuffix('0015f00002J9YaU')).toBe('AAV');
    expect(to18('0015f00002J9YaU')).toBe('0015f00002J9YaUAAV');
    expect(to18('0055f000005mc66')).toBe('0055f000005mc66AAA');
  });

  it('validates 15/18-char Ids and extracts key prefixes (including the empty Id)', () => {
    expect(isValidId('0015f00002J9YaUAAV')).toBe(true);
    expect(isValidId('0015f00002J9YaUaav')).toBe(true);
    expect(isValidId('0015f00002J9YaUAAA')).toBe(false);
    expect(isValidId('0015f00002J9YaU')).toBe(true);
    expect(isValidId('001-bad')).toBe(false);
    expect(keyPrefixOf('500000000000001AAA')).toBe('500');
    expect(isValidId(EMPTY_ID)).toBe(true);
  });

  it('generates increasing, valid 18-char Ids per prefix', () => {
    const next = createIdGenerator();
    const a = next('500');
    const b = next('500');
    expect(a).toHaveLength(18);
    expect(isValidId(a) && isValidId(b)).toBe(true);
    expect(a.startsWith('5005f0')).toBe(true);
    expect(a < b).toBe(true);
  });
});

describe('metadata', () => {
  it('names CDC channels as Salesforce does, custom objects without the c of __c', () => {
    const objects = defaultObjects();
    const byName = (n: string) => objects.find((o) => o.name === n)!;
    expect(changeEventChannelOf(byName('Case'))).toBe('/data/CaseChangeEvent');
    expect(changeEventChannelOf(byName('Complaint__c'))).toBe('/data/Complaint__ChangeEvent');
    expect(byName('CaseComment').cdc).toBe(false);
    const status = byName('EmailMessage').fields.find((f) => f.name === 'Status')!;
    expect(status.picklistValues?.map((p) => `${p.value}=${p.label}`)).toEqual([
      '0=New',
      '1=Read',
      '2=Replied',
      '3=Sent',
      '4=Forwarded',
      '5=Draft',
    ]);
    const parent = byName('EmailMessage').fields.find((f) => f.name === 'ParentId')!;
    expect(parent).toMatchObject({ type: 'reference', referenceTo: ['Case'], relationshipName: 'Parent' });
  });
});

describe('org store', () => {
  it('create fills Id, audit fields, CaseNumber and defaults; CREATE event has every non-null field but no IsDeleted/SystemModstamp', () => {
    const { store, events } = storeWithEvents();
    const c = store.create('Case', { Subject: 'Printer on fire', Origin: 'Email' });
    expect(c['Id']).toMatch(/^5005f0[0-9A-Za-z]{12}$/);
    expect(c).toMatchObject({
      CaseNumber: '00001001',
      Status: 'New',
      Priority: 'Medium',
      IsDeleted: false,
      IsClosed: false,
      CreatedDate: '2024-05-20T20:49:32.000Z',
      SystemModstamp: '2024-05-20T20:49:32.000Z',
      CreatedById: store.defaultUserId,
      OwnerId: store.defaultUserId,
    });
    expect(store.create('Case', {})['CaseNumber']).toBe('00001002');

    const event = events[0]!;
    expect(event.ChangeEventHeader).toMatchObject({
      entityName: 'Case',
      recordIds: [c['Id']],
      changeType: 'CREATE',
      changeOrigin: 'com/salesforce/api/rest/62.0;client=sandbox',
      sequenceNumber: 1,
      commitTimestamp: Date.parse('2024-05-20T20:49:32.000Z'),
      commitUser: store.defaultUserId,
      changedFields: [],
    });
    expect(event).toMatchObject({
      Subject: 'Printer on fire',
      Origin: 'Email',
      CaseNumber: '00001001',
      LastModifiedById: store.defaultUserId,
    });
    expect(event).not.toHaveProperty('IsDeleted');
    expect(event).not.toHaveProperty('SystemModstamp');
    expect(event).not.toHaveProperty('Id');
    expect(event).not.toHaveProperty('Description');
  });

  it('update emits only the changed fields plus LastModifiedDate, nulls as null', () => {
    const { store, events, tick } = storeWithEvents();
    const c = store.create('Case', { Subject: 'A', Description: 'long text' });
    tick(5000);
    const after = store.update(c['Id'] as string, { Subject: 'A', Description: null, Priority: 'High' });
    expect(after['LastModifiedDate']).toBe('2024-05-20T20:49:37.000Z');
    expect(after['SystemModstamp']).toBe('2024-05-20T20:49:37.000Z');
    const event = events[1]!;
    expect(event.ChangeEventHeader.changeType).toBe('UPDATE');
    expect(event.ChangeEventHeader.changedFields.sort()).toEqual(['Description', 'LastModifiedDate', 'Priority']);
    const { ChangeEventHeader: _header, ...body } = event;
    expect(body).toEqual({ Description: null, Priority: 'High', LastModifiedDate: '2024-05-20T20:49:37.000Z' });
  });

  it('closing a case derives IsClosed and ClosedDate', () => {
    const { store, events } = storeWithEvents();
    const c = store.create('Case', {});
    const closed = store.update(c['Id'] as string, { Status: 'Closed' });
    expect(closed).toMatchObject({ IsClosed: true, ClosedDate: '2024-05-20T20:49:32.000Z' });
    expect(events[1]!.ChangeEventHeader.changedFields).toEqual(
      expect.arrayContaining(['Status', 'IsClosed', 'ClosedDate']),
    );
  });

  it('soft delete goes to the recycle bin and emits a header-only DELETE; undelete emits all fields; purge emits nothing', () => {
    const { store, events, tick } = storeWithEvents();
    const c = store.create('Case', { Subject: 'bin me' });
    const id = c['Id'] as string;
    tick(1000);
    store.delete(id);
    expect(store.get(id)).toBeUndefined();
    expect(store.get(id, { includeDeleted: true })).toMatchObject({
      IsDeleted: true,
      SystemModstamp: '2024-05-20T20:49:33.000Z',
    });
    expect([...store.records('Case')]).toHaveLength(0);
    expect([...store.records('Case', { includeDeleted: true })]).toHaveLength(1);
    const del = events[1]!;
    expect(Object.keys(del)).toEqual(['ChangeEventHeader']);
    expect(del.ChangeEventHeader).toMatchObject({ changeType: 'DELETE', recordIds: [id], changedFields: [] });

    store.undelete(id);
    expect(events[2]).toMatchObject({
      ChangeEventHeader: { changeType: 'UNDELETE' },
      Subject: 'bin me',
      CaseNumber: '00001001',
    });

    store.delete(id);
    store.purge(id);
    expect(store.get(id, { includeDeleted: true })).toBeUndefined();
    expect(events).toHaveLength(4);
  });

  it('a transaction has one transactionKey and sequenceNumbers 1..n; several DML on one record make one event of the first type with final values', () => {
    const { store, events } = storeWithEvents();
    const parent = store.create('Case', { Subject: 'parent' });
    events.length = 0;
    store.transaction((tx) => {
      const c = tx.create('Case', { Subject: 'draft' });
      tx.update(c['Id'] as string, { Subject: 'final', Priority: 'Low' });
      tx.update(parent['Id'] as string, { Status: 'Working' });
      tx.create('EmailMessage', { Subject: 'hello', ParentId: parent['Id'] as string, Incoming: true });
    });
    expect(
      events.map((e) => [
        e.ChangeEventHeader.entityName,
        e.ChangeEventHeader.changeType,
        e.ChangeEventHeader.sequenceNumber,
      ]),
    ).toEqual([
      ['Case', 'CREATE', 1],
      ['Case', 'UPDATE', 2],
      ['EmailMessage', 'CREATE', 3],
    ]);
    expect(new Set(events.map((e) => e.ChangeEventHeader.transactionKey)).size).toBe(1);
    expect(events[0]).toMatchObject({ Subject: 'final', Priority: 'Low' });
  });

  it('identical changes of one object in one transaction merge into one event with several recordIds', () => {
    const { store, events } = storeWithEvents();
    const a = store.create('Case', {})['Id'] as string;
    const b = store.create('Case', {})['Id'] as string;
    events.length = 0;
    store.transaction((tx) => {
      tx.update(a, { Status: 'Escalated' });
      tx.update(b, { Status: 'Escalated' });
    });
    expect(events).toHaveLength(1);
    expect(events[0]!.ChangeEventHeader.recordIds).toEqual([a, b]);
    store.transaction((tx) => {
      tx.delete(a);
      tx.delete(b);
    });
    expect(events[1]!.ChangeEventHeader).toMatchObject({ changeType: 'DELETE', recordIds: [a, b] });
  });

  it('a failing transaction rolls back and emits nothing (events exist only for commits)', () => {
    const { store, events } = storeWithEvents();
    const a = store.create('Case', { Subject: 'keep' })['Id'] as string;
    events.length = 0;
    expect(() =>
      store.transaction((tx) => {
        tx.update(a, { Subject: 'changed' });
        tx.create('Case', { Status: 'Bogus' });
      }),
    ).toThrow(InvalidRecordError);
    expect(store.get(a)?.['Subject']).toBe('keep');
    expect([...store.records('Case')]).toHaveLength(1);
    expect(events).toHaveLength(0);
  });

  it('silent mutations and objects without CDC emit nothing', () => {
    const { store, events } = storeWithEvents();
    const c = store.create('Case', {}, { silent: true });
    store.update(c['Id'] as string, { Subject: 'x' }, { silent: true });
    store.create('CaseComment', { ParentId: c['Id'] as string, CommentBody: 'hi' });
    expect(events).toHaveLength(0);
    expect(store.get(c['Id'] as string)?.['Subject']).toBe('x');
  });

  it('rejects unknown fields, read-only fields and bad values with InvalidRecordError and Salesforce errorCodes', () => {
    const { store } = storeWithEvents();
    const c = store.create('Case', {})['Id'] as string;
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err instanceof InvalidRecordError || err instanceof RecordNotFoundError ? err.errorCode : String(err);
      }
      return 'no error';
    };
    expect(codeOf(() => store.create('Nope', {}))).toBe('INVALID_TYPE');
    expect(codeOf(() => store.update(c, { Subjct: 'x' }))).toBe('INVALID_FIELD');
    expect(codeOf(() => store.update(c, { CaseNumber: '1' }))).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
    expect(codeOf(() => store.update(c, { Status: 'Bogus' }))).toBe('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
    expect(codeOf(() => store.create('Complaint__c', { Name: 'x', Amount__c: '12' }))).toBe(
      'INVALID_TYPE_ON_FIELD_IN_RECORD',
    );
    expect(codeOf(() => store.create('Complaint__c', {}))).toBe('REQUIRED_FIELD_MISSING');
    expect(codeOf(() => store.create('EmailMessage', { ParentId: 'nope' }))).toBe('MALFORMED_ID');
    expect(codeOf(() => store.create('EmailMessage', { ParentId: to18('500000000000999') }))).toBe(
      'INVALID_CROSS_REFERENCE_KEY',
    );
    expect(codeOf(() => store.update(to18('500000000000999'), { Subject: 'x' }))).toBe('NOT_FOUND');
    expect(codeOf(() => store.create('Task', { ActivityDate: '2024-13-45' }))).toBe('INVALID_TYPE_ON_FIELD_IN_RECORD');
    const complaint = store.create('complaint__c', { name: 'c', Severity__c: 'S1', Amount__c: 12.5, Case__c: c });
    expect(complaint).toMatchObject({ Name: 'c', Severity__c: 'S1', Amount__c: 12.5, Case__c: c });
  });
});

describe('change event log', () => {
  it('routes events to the object channel and /data/ChangeEvents with increasing, non-contiguous replay ids', () => {
    const { store } = storeWithEvents();
    const log = new ChangeEventLog({ objects: store.objects() });
    log.follow(store);
    store.create('Case', {});
    store.create('Complaint__c', { Name: 'c' });
    store.create('CaseComment', { ParentId: [...store.records('Case')][0]!['Id'] as string });
    const events = log.retained();
    expect(events.map((e) => e.channels)).toEqual([
      ['/data/CaseChangeEvent', '/data/ChangeEvents'],
      ['/data/Complaint__ChangeEvent', '/data/ChangeEvents'],
    ]);
    expect(events[1]!.replayId).toBeGreaterThan(events[0]!.replayId);
    expect(events[0]!.message).toMatchObject({
      schema: expect.stringMatching(/^[\w-]{22}$/),
      event: { replayId: events[0]!.replayId },
    });
    expect(log.isKnownChannel('/data/casechangeevent')).toBe(false);
    expect(log.isKnownChannel('/data/CaseCommentChangeEvent')).toBe(false);
  });

  it('expires events after the retention window and invalidates replay ids before them', () => {
    let clock = T0;
    const log = new ChangeEventLog({ objects: defaultObjects(), retentionMs: 60_000, now: () => clock });
    const first = log.appendGap('Case', 'GAP_UPDATE', [to18('500000000000001')])!;
    clock += 30_000;
    const second = log.appendOverflow('Case')!;
    expect(log.canReplayFrom(first.replayId - 1)).toBe(true);
    clock += 40_000; // first is now 70 s old
    expect(log.retained().map((e) => e.replayId)).toEqual([second.replayId]);
    expect(log.canReplayFrom(first.replayId - 1)).toBe(false);
    expect(log.canReplayFrom(first.replayId)).toBe(true);
    log.purge();
    expect(log.canReplayFrom(first.replayId)).toBe(false);
    expect(log.canReplayFrom(second.replayId)).toBe(true);
    expect(second.message.payload.ChangeEventHeader).toMatchObject({
      changeType: 'GAP_OVERFLOW',
      recordIds: [EMPTY_ID],
    });
  });
});
