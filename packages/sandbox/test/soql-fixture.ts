/**
 * A tiny in-memory org for the SOQL tests: Accounts, Cases (one soft-deleted) and EmailMessages
 * pointing at them, with metadata declared through the shared contract types.
 */
import type { FieldMeta, FieldType, ObjectMeta, RecordSource, SRecord } from '../src/org/contracts.ts';

function field(name: string, type: FieldType, extra: Partial<FieldMeta> = {}): FieldMeta {
  return {
    name,
    label: name,
    type,
    nillable: type !== 'id' && type !== 'boolean',
    custom: name.endsWith('__c'),
    createable: true,
    updateable: true,
    calculated: false,
    ...extra,
  };
}

function reference(name: string, referenceTo: string[], relationshipName: string): FieldMeta {
  return field(name, 'reference', { referenceTo, relationshipName });
}

const systemFields = [
  field('Id', 'id'),
  field('IsDeleted', 'boolean'),
  field('CreatedDate', 'datetime'),
  field('SystemModstamp', 'datetime'),
];

function object(name: string, keyPrefix: string, fields: FieldMeta[]): ObjectMeta {
  return {
    name,
    label: name,
    labelPlural: `${name}s`,
    keyPrefix,
    custom: false,
    cdc: true,
    fields: [...systemFields, ...fields],
  };
}

export const metadata: ObjectMeta[] = [
  object('Account', '001', [field('Name', 'string')]),
  object('Case', '500', [
    field('CaseNumber', 'string'),
    field('Subject', 'string', { length: 255 }),
    field('Description', 'textarea', { length: 32000 }),
    field('Status', 'picklist'),
    field('Priority', 'picklist'),
    field('IsEscalated', 'boolean'),
    field('ClosedDate', 'datetime'),
    field('FollowUpDate__c', 'date'),
    field('Score__c', 'double'),
    field('Tags__c', 'multipicklist'),
    reference('AccountId', ['Account'], 'Account'),
    reference('ParentId', ['Case'], 'Parent'),
    // Points at an object the sandbox does not model.
    reference('ContactId', ['Contact'], 'Contact'),
  ]),
  object('EmailMessage', '02s', [
    field('Subject', 'string'),
    field('TextBody', 'textarea', { length: 255 }),
    field('FromAddress', 'email'),
    field('Incoming', 'boolean'),
    field('MessageDate', 'datetime'),
    reference('ParentId', ['Case'], 'Parent'),
    reference('RelatedToId', ['Case', 'Account'], 'RelatedTo'),
  ]),
];

export const ids = {
  acme: '0015g00000AcMeXIAV',
  printer: '5005g00000AbCdEIAV',
  password: '5005g00000AbCdFIAV',
  untitled: '5005g00000AbCdGIAV',
  spam: '5005g00000AbCdHIAV',
  printerReply: '02s5g00000EmAaAIAV',
  resetDone: '02s5g00000EmAbAIAV',
  orphan: '02s5g00000EmAcAIAV',
  spamReply: '02s5g00000EmAdAIAV',
} as const;

const base = { IsDeleted: false };

export const records: Record<string, SRecord[]> = {
  Account: [
    {
      ...base,
      Id: ids.acme,
      Name: 'Acme',
      CreatedDate: '2024-04-01T00:00:00.000Z',
      SystemModstamp: '2024-04-01T00:00:00.000Z',
    },
  ],
  Case: [
    {
      ...base,
      Id: ids.printer,
      CaseNumber: '00001001',
      Subject: 'Printer on fire',
      Description: 'Smoke everywhere',
      Status: 'New',
      Priority: 'High',
      IsEscalated: false,
      ClosedDate: null,
      FollowUpDate__c: '2024-05-10',
      Score__c: 10,
      Tags__c: 'Hardware;Urgent',
      AccountId: ids.acme,
      ParentId: null,
      ContactId: null,
      CreatedDate: '2024-05-01T08:00:00.000Z',
      SystemModstamp: '2024-05-01T08:00:00.000Z',
    },
    {
      ...base,
      Id: ids.password,
      CaseNumber: '00001002',
      Subject: 'Password reset',
      Description: null,
      Status: 'Closed',
      Priority: 'Low',
      IsEscalated: true,
      ClosedDate: '2024-05-02T10:00:00.000Z',
      FollowUpDate__c: '2024-05-03',
      Score__c: 2.5,
      Tags__c: 'Access',
      AccountId: null,
      ParentId: ids.printer,
      ContactId: null,
      CreatedDate: '2024-05-02T09:00:00.000Z',
      SystemModstamp: '2024-05-02T10:00:00.000Z',
    },
    {
      ...base,
      Id: ids.untitled,
      CaseNumber: '00001003',
      Subject: null,
      Description: null,
      Status: 'Working',
      Priority: null,
      IsEscalated: false,
      ClosedDate: null,
      FollowUpDate__c: null,
      Score__c: null,
      Tags__c: null,
      AccountId: null,
      ParentId: null,
      ContactId: null,
      CreatedDate: '2024-05-03T12:00:00.000Z',
      SystemModstamp: '2024-05-03T12:30:00.000Z',
    },
    {
      IsDeleted: true,
      Id: ids.spam,
      CaseNumber: '00001004',
      Subject: 'Spam',
      Description: null,
      Status: 'New',
      Priority: 'Low',
      IsEscalated: false,
      ClosedDate: null,
      FollowUpDate__c: null,
      Score__c: -1,
      Tags__c: null,
      AccountId: null,
      ParentId: null,
      ContactId: null,
      CreatedDate: '2024-05-04T00:00:00.000Z',
      SystemModstamp: '2024-05-04T00:00:00.000Z',
    },
  ],
  EmailMessage: [
    {
      ...base,
      Id: ids.printerReply,
      Subject: 'Re: Printer on fire',
      TextBody: '100% sure_it is',
      FromAddress: 'ann@example.com',
      Incoming: true,
      MessageDate: '2024-05-01T09:00:00.000Z',
      ParentId: ids.printer,
      RelatedToId: ids.printer,
      CreatedDate: '2024-05-01T09:00:01.000Z',
      SystemModstamp: '2024-05-01T09:00:01.000Z',
    },
    {
      ...base,
      Id: ids.resetDone,
      Subject: 'Reset done',
      TextBody: 'Done.',
      FromAddress: 'support@example.com',
      Incoming: false,
      MessageDate: '2024-05-02T11:00:00.000Z',
      ParentId: ids.password,
      RelatedToId: ids.acme,
      CreatedDate: '2024-05-02T11:00:01.000Z',
      SystemModstamp: '2024-05-02T11:00:01.000Z',
    },
    {
      ...base,
      Id: ids.orphan,
      Subject: 'Orphan',
      TextBody: null,
      FromAddress: null,
      Incoming: true,
      MessageDate: null,
      ParentId: null,
      RelatedToId: null,
      CreatedDate: '2024-05-03T00:00:00.000Z',
      SystemModstamp: '2024-05-03T00:00:00.000Z',
    },
    // Deleted with its Case, as Salesforce cascades the delete.
    {
      IsDeleted: true,
      Id: ids.spamReply,
      Subject: 'Re: Spam',
      TextBody: 'unsubscribe',
      FromAddress: 'bot@example.com',
      Incoming: true,
      MessageDate: '2024-05-04T00:00:00.000Z',
      ParentId: ids.spam,
      RelatedToId: ids.spam,
      CreatedDate: '2024-05-04T00:00:01.000Z',
      SystemModstamp: '2024-05-04T00:00:01.000Z',
    },
  ],
};

/** RecordSource over `records`, honouring `includeDeleted` as the org store does. */
export function createTestSource(): RecordSource {
  const visible = (record: SRecord, includeDeleted = false) => includeDeleted || record.IsDeleted !== true;
  const describe = (name: string) => metadata.find((meta) => meta.name.toLowerCase() === name.toLowerCase());
  return {
    describe,
    objects: () => metadata,
    records: (name, opts) =>
      (records[describe(name)?.name ?? ''] ?? []).filter((r) => visible(r, opts?.includeDeleted)),
    // Like the org store: 15- and 18-character forms of an Id find the same record.
    get: (id, opts) =>
      Object.values(records)
        .flat()
        .find((r) => String(r.Id).slice(0, 15) === id.slice(0, 15) && visible(r, opts?.includeDeleted)),
  };
}

export const API_VERSION = '62.0';
