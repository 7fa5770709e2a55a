import { describe, expect, it } from 'vitest';
import {
  DescribeParseError,
  describeLookupOf,
  parseDescribe,
  picklistLabel,
  resolveFieldPath,
} from '../../src/salesforce/describe.ts';
import { defaultObjects } from '@sf-cm-bridge/sandbox/org';
import { sandboxDescribes } from './fixtures.ts';

describe('parseDescribe', () => {
  it('accepts the describe of every sandbox object and keeps only the subset the bridge uses', () => {
    for (const object of defaultObjects()) {
      const parsed = parseDescribe({ ...object, childRelationships: [], queryable: true });
      expect(parsed.name).toBe(object.name);
      expect(parsed.fields).toHaveLength(object.fields.length);
      expect(Object.keys(parsed)).toEqual(['name', 'label', 'fields']);
      expect(parsed.fields[0]).not.toHaveProperty('createable');
    }
  });

  it('accepts field types it does not know (Salesforce adds types over time)', () => {
    const parsed = parseDescribe({
      name: 'X__c',
      label: 'X',
      fields: [{ name: 'Geo__c', label: 'Geo', type: 'location' }],
    });
    expect(parsed.fields[0]?.type).toBe('location');
  });

  it.each([
    ['not an object', 'nope', /\(root\)/],
    ['no fields', { name: 'Case', label: 'Case' }, /fields/],
    [
      'a field without a type',
      { name: 'Case', label: 'Case', fields: [{ name: 'Subject', label: 'Subject' }] },
      /fields\.0\.type/,
    ],
  ])('rejects %s with a DescribeParseError naming the path', (_name, json, message) => {
    expect(() => parseDescribe(json)).toThrow(DescribeParseError);
    expect(() => parseDescribe(json)).toThrow(message);
  });
});

describe('picklistLabel', () => {
  const field = parseDescribe({
    name: 'X',
    label: 'X',
    fields: [
      {
        name: 'Severity__c',
        label: 'Severity',
        type: 'picklist',
        picklistValues: [
          { value: 'S1', label: 'Critical', active: true },
          { value: 'S9', label: null, active: false },
        ],
      },
    ],
  }).fields[0]!;

  it.each([
    ['a listed value gives its label', 'S1', 'Critical'],
    ['a value with a null label gives the value', 'S9', 'S9'],
    ['a value describe does not list gives the value', 'S4', 'S4'],
  ])('%s', (_name, value, label) => expect(picklistLabel(field, value)).toBe(label));
});

describe('resolveFieldPath', () => {
  it.each([
    {
      rule: 'a direct field',
      root: 'EmailMessage',
      path: 'Subject',
      types: [],
      want: ['EmailMessage', 'Subject', 'string'],
    },
    {
      rule: 'field names are case-insensitive',
      root: 'EmailMessage',
      path: 'subject',
      types: [],
      want: ['EmailMessage', 'Subject', 'string'],
    },
    {
      rule: 'a parent path resolves on the target object',
      root: 'EmailMessage',
      path: 'Parent.CaseNumber',
      types: [],
      want: ['Case', 'CaseNumber', 'string'],
    },
    {
      rule: 'a parent picklist',
      root: 'EmailMessage',
      path: 'Parent.Priority',
      types: [],
      want: ['Case', 'Priority', 'picklist'],
    },
    {
      rule: 'relationship names are case-insensitive',
      root: 'EmailMessage',
      path: 'parent.priority',
      types: [],
      want: ['Case', 'Priority', 'picklist'],
    },
    {
      rule: 'a custom relationship (__r)',
      root: 'Complaint__c',
      path: 'Case__r.Status',
      types: [],
      want: ['Case', 'Status', 'picklist'],
    },
    {
      rule: 'a custom currency field',
      root: 'Complaint__c',
      path: 'Amount__c',
      types: [],
      want: ['Complaint__c', 'Amount__c', 'currency'],
    },
    {
      rule: 'two hops',
      root: 'CaseComment',
      path: 'Parent.Account.Name',
      types: [],
      want: ['Account', 'Name', 'string'],
    },
    {
      rule: 'a polymorphic hop is typed from the record (attributes.type)',
      root: 'Task',
      path: 'What.Amount__c',
      types: ['Task', 'Complaint__c'],
      want: ['Complaint__c', 'Amount__c', 'currency'],
    },
    {
      rule: 'the same polymorphic path on another record type resolves on that type',
      root: 'Task',
      path: 'What.Name',
      types: ['Task', 'Account'],
      want: ['Account', 'Name', 'string'],
    },
  ])('$rule: $root → $path', ({ root, path, types, want }) => {
    const resolved = resolveFieldPath(root, path, sandboxDescribes, types);
    expect(resolved && [resolved.object.name, resolved.field.name, resolved.field.type]).toEqual(want);
  });

  it.each([
    { rule: 'an unknown root object', root: 'Nope__c', path: 'Name', types: [] },
    { rule: 'an unknown field', root: 'Case', path: 'Nope__c', types: [] },
    { rule: 'an unknown relationship', root: 'Case', path: 'Nope__r.Name', types: [] },
    { rule: 'a polymorphic hop without the record type', root: 'Task', path: 'What.Name', types: [] },
    { rule: 'a record type the reference cannot point to', root: 'Task', path: 'What.Name', types: ['Task', 'User'] },
    { rule: 'a target object with no describe', root: 'Case', path: 'Owner.Name', types: ['Case', 'Group'] },
  ])('$rule resolves to undefined', ({ root, path, types }) => {
    expect(resolveFieldPath(root, path, sandboxDescribes, types)).toBeUndefined();
  });

  it('finds objects case-insensitively through describeLookupOf', () => {
    const lookup = describeLookupOf(defaultObjects().map((object) => parseDescribe(object)));
    expect(lookup('emailmessage')?.name).toBe('EmailMessage');
  });
});
