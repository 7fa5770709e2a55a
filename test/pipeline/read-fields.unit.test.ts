import { describe, expect, it } from 'vitest';
import { readPath, SalesforceRecordSchema, typesAlongPath } from '../../src/pipeline/read-fields.ts';
import type { FieldRead } from '../../src/pipeline/read-fields.ts';
import { sfRecord } from './fixtures.ts';

const record = SalesforceRecordSchema.parse(
  sfRecord('EmailMessage', {
    Id: '02s5g00000AbCdEAAV',
    Subject: 'Hello',
    Incoming: false,
    Count__c: 0,
    Empty: '',
    Nothing: null,
    Parent: {
      attributes: { type: 'Case' },
      CaseNumber: '00012345',
      Account: null,
      Contact: { attributes: { type: 'Contact' }, Email: 'a@b.c' },
    },
    RelatedTo: null,
    Address__c: { street: '1 Main St', city: 'Springfield' },
  }),
);

describe('readPath', () => {
  it.each<{ rule: string; path: string; want: FieldRead }>([
    { rule: 'a top-level string', path: 'Subject', want: { kind: 'value', value: 'Hello' } },
    { rule: 'false is a value, not null', path: 'Incoming', want: { kind: 'value', value: false } },
    { rule: 'zero is a value, not null', path: 'Count__c', want: { kind: 'value', value: 0 } },
    {
      rule: 'an empty string is a value (emptiness is decided later)',
      path: 'Empty',
      want: { kind: 'value', value: '' },
    },
    { rule: 'a null field', path: 'Nothing', want: { kind: 'null' } },
    { rule: 'a field the record does not carry reads as null', path: 'Missing__c', want: { kind: 'null' } },
    { rule: 'a nested relationship field', path: 'Parent.CaseNumber', want: { kind: 'value', value: '00012345' } },
    { rule: 'two relationship hops', path: 'Parent.Contact.Email', want: { kind: 'value', value: 'a@b.c' } },
    { rule: 'a null relationship makes its fields null', path: 'RelatedTo.Name', want: { kind: 'null' } },
    { rule: 'a null relationship two hops in', path: 'Parent.Account.Name', want: { kind: 'null' } },
    { rule: 'a path through a scalar reads as null', path: 'Subject.Length', want: { kind: 'null' } },
    {
      rule: 'field names are case-insensitive (SOQL is)',
      path: 'parent.casenumber',
      want: { kind: 'value', value: '00012345' },
    },
    { rule: 'a compound field is structured, not a scalar', path: 'Address__c', want: { kind: 'structured' } },
    { rule: 'a relationship object is structured, not a scalar', path: 'Parent', want: { kind: 'structured' } },
  ])('$rule ($path)', ({ path, want }) => {
    expect(readPath(record, path)).toEqual(want);
  });
});

describe('typesAlongPath', () => {
  it.each([
    { rule: 'a top-level field has the record type only', path: 'Subject', want: ['EmailMessage'] },
    {
      rule: 'each hop adds the nested attributes.type',
      path: 'Parent.Contact.Email',
      want: ['EmailMessage', 'Case', 'Contact'],
    },
    { rule: 'a null relationship stops the list', path: 'RelatedTo.Name', want: ['EmailMessage'] },
  ])('$rule', ({ path, want }) => {
    expect(typesAlongPath(record, path)).toEqual(want);
  });
});
