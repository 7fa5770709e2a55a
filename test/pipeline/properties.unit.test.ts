import { describe, expect, it } from 'vitest';
import { renderProperty } from '../../src/pipeline/properties.ts';
import type { RenderedProperty, UserPropertyKey } from '../../src/pipeline/properties.ts';
import type { FieldRead } from '../../src/pipeline/read-fields.ts';
import { findField, parseDescribe } from '../../src/salesforce/describe.ts';
import type { FieldDescribe } from '../../src/salesforce/describe.ts';
import { sandboxDescribes } from './fixtures.ts';

function field(objectName: string, fieldName: string): FieldDescribe {
  const found = findField(sandboxDescribes(objectName)!, fieldName);
  if (!found) throw new Error(`fixture: no ${objectName}.${fieldName}`);
  return found;
}

/** Field types the sandbox org does not model. */
const extra = parseDescribe({
  name: 'Extra__c',
  label: 'Extra',
  fields: [
    { name: 'Count__c', label: 'Count', type: 'int' },
    { name: 'Ratio__c', label: 'Ratio', type: 'double' },
    { name: 'Share__c', label: 'Share', type: 'percent' },
    { name: 'Big__c', label: 'Big', type: 'long' },
    {
      name: 'Topics__c',
      label: 'Topics',
      type: 'multipicklist',
      picklistValues: [
        { value: 'bill', label: 'Billing', active: true },
        { value: 'ship', label: 'Shipping', active: true },
      ],
    },
    { name: 'Notes__c', label: 'Notes', type: 'textarea', extraTypeInfo: 'richtextarea' },
    { name: 'Due__c', label: 'Due', type: 'date' },
    { name: 'Flag__c', label: 'Flag', type: 'boolean' },
  ],
});
const extraField = (name: string) => findField(extra, name)!;

const value = (v: string | number | boolean): FieldRead => ({ kind: 'value', value: v });
const prop = (key: UserPropertyKey, v: string | number): RenderedProperty => ({ kind: 'property', key, value: v });

describe('renderProperty (spec: properties)', () => {
  it.each<{ rule: string; read: FieldRead; field: FieldDescribe | undefined; want: Partial<RenderedProperty> }>([
    // number:<label> for number, currency, percent, double, int
    {
      rule: 'currency → number (Complaint__c.Amount__c)',
      read: value(1250.5),
      field: field('Complaint__c', 'Amount__c'),
      want: prop('number:L', 1250.5),
    },
    { rule: 'int → number', read: value(7), field: extraField('Count__c'), want: prop('number:L', 7) },
    { rule: 'double → number', read: value(0.25), field: extraField('Ratio__c'), want: prop('number:L', 0.25) },
    { rule: 'percent → number', read: value(12.5), field: extraField('Share__c'), want: prop('number:L', 12.5) },
    {
      rule: 'long → number',
      read: value(9007199254740991),
      field: extraField('Big__c'),
      want: prop('number:L', 9007199254740991),
    },
    { rule: 'zero is a number, not omitted', read: value(0), field: extraField('Count__c'), want: prop('number:L', 0) },
    {
      rule: 'a numeric string on a number field → number',
      read: value(' 42.5 '),
      field: extraField('Ratio__c'),
      want: prop('number:L', 42.5),
    },
    {
      rule: 'a non-numeric value on a number field is omitted with a warning',
      read: value('n/a'),
      field: extraField('Ratio__c'),
      want: { kind: 'omitted' },
    },
    // string:<label> for everything else
    {
      rule: 'text → string',
      read: value('00012345'),
      field: field('Case', 'CaseNumber'),
      want: prop('string:L', '00012345'),
    },
    {
      rule: 'a number-looking text field stays a string',
      read: value('00012345'),
      field: field('Case', 'CaseNumber'),
      want: prop('string:L', '00012345'),
    },
    {
      rule: 'picklist → its label (Complaint__c.Severity__c S1 → Critical)',
      read: value('S1'),
      field: field('Complaint__c', 'Severity__c'),
      want: prop('string:L', 'Critical'),
    },
    {
      rule: 'picklist codes → labels (EmailMessage.Status 3 → Sent)',
      read: value('3'),
      field: field('EmailMessage', 'Status'),
      want: prop('string:L', 'Sent'),
    },
    {
      rule: 'a picklist value describe does not list → the value',
      read: value('S7'),
      field: field('Complaint__c', 'Severity__c'),
      want: prop('string:L', 'S7'),
    },
    {
      rule: 'multipicklist → labels joined with "; "',
      read: value('bill;ship'),
      field: extraField('Topics__c'),
      want: prop('string:L', 'Billing; Shipping'),
    },
    {
      rule: 'multipicklist ignores empty items',
      read: value('ship;;bill;'),
      field: extraField('Topics__c'),
      want: prop('string:L', 'Shipping; Billing'),
    },
    {
      rule: 'boolean true → "true"',
      read: value(true),
      field: field('Case', 'IsEscalated'),
      want: prop('string:L', 'true'),
    },
    {
      rule: 'boolean false → "false" (not omitted)',
      read: value(false),
      field: field('Case', 'IsEscalated'),
      want: prop('string:L', 'false'),
    },
    {
      rule: 'datetime → ISO 8601 UTC',
      read: value('2024-05-20T22:49:32.000+0200'),
      field: field('Case', 'ClosedDate'),
      want: prop('string:L', '2024-05-20T20:49:32.000Z'),
    },
    {
      rule: 'date → ISO 8601 date',
      read: value('2024-05-20'),
      field: extraField('Due__c'),
      want: prop('string:L', '2024-05-20'),
    },
    {
      rule: 'an unparseable datetime is sent as it is, with a warning',
      read: value('soon'),
      field: field('Case', 'ClosedDate'),
      want: prop('string:L', 'soon'),
    },
    {
      rule: 'reference → the Id',
      read: value('0015g00000AbCdEAAV'),
      field: field('Case', 'AccountId'),
      want: prop('string:L', '0015g00000AbCdEAAV'),
    },
    {
      rule: 'text is normalised (CRLF, trailing spaces, NBSP)',
      read: value('  line\u00A0one  \r\nline two \r\n'),
      field: field('Case', 'Description'),
      want: prop('string:L', 'line one\nline two'),
    },
    {
      rule: 'a rich text area is converted from HTML',
      read: value('<p>Rich <b>text</b></p>'),
      field: extraField('Notes__c'),
      want: prop('string:L', 'Rich text'),
    },
    {
      rule: 'an unknown describe type → string',
      read: value('x'),
      field: { name: 'G', label: 'G', type: 'anyType' },
      want: prop('string:L', 'x'),
    },
    // null / empty omit the property
    {
      rule: 'null omits the property',
      read: { kind: 'null' },
      field: field('Case', 'Subject'),
      want: { kind: 'omitted' },
    },
    {
      rule: 'null on a number field omits the property',
      read: { kind: 'null' },
      field: field('Complaint__c', 'Amount__c'),
      want: { kind: 'omitted' },
    },
    {
      rule: 'an empty string omits the property',
      read: value(''),
      field: field('Case', 'Subject'),
      want: { kind: 'omitted' },
    },
    {
      rule: 'a whitespace-only string omits the property',
      read: value(' \u00A0\r\n '),
      field: field('Case', 'Subject'),
      want: { kind: 'omitted' },
    },
    {
      rule: 'an empty multipicklist omits the property',
      read: value(';'),
      field: extraField('Topics__c'),
      want: { kind: 'omitted' },
    },
    {
      rule: 'a compound field is omitted with a warning',
      read: { kind: 'structured' },
      field: undefined,
      want: { kind: 'omitted' },
    },
    // no describe: typed by the value
    { rule: 'without describe a JSON number → number', read: value(3), field: undefined, want: prop('number:L', 3) },
    {
      rule: 'without describe a boolean → "true"/"false"',
      read: value(true),
      field: undefined,
      want: prop('string:L', 'true'),
    },
    {
      rule: 'without describe a string → string',
      read: value('High'),
      field: undefined,
      want: prop('string:L', 'High'),
    },
  ])('$rule', ({ read, field: describe, want }) => {
    expect(renderProperty('L', 'X', read, describe)).toMatchObject(want);
  });

  it.each<[string, FieldRead, FieldDescribe | undefined]>([
    ['a non-finite number', { kind: 'value', value: 'Infinity' }, extraField('Ratio__c')],
    ['a non-numeric string', { kind: 'value', value: '1,5' }, extraField('Ratio__c')],
    ['a compound field', { kind: 'structured' }, undefined],
  ])('%s is omitted with a warning naming the label and path', (_rule, read, describe) => {
    const rendered = renderProperty('Amount', 'Amount__c', read, describe);
    expect(rendered.kind).toBe('omitted');
    expect(rendered.warning).toMatch(/"Amount".*Amount__c/);
  });

  it('-0 renders as 0 (one rendering per value)', () => {
    expect(renderProperty('L', 'X', value(-0), extraField('Ratio__c'))).toEqual(prop('number:L', 0));
    expect(Object.is((renderProperty('L', 'X', value(-0), extraField('Ratio__c')) as { value: number }).value, 0)).toBe(
      true,
    );
  });
});
