import { describe, expect, it } from 'vitest';
import { deriveFieldList, fieldsOfCondition } from '../../src/config/fields.ts';
import { CommentMappingSchema } from '../../src/config/schema.ts';

const mapping = (input: unknown) => CommentMappingSchema.parse(input);

describe('derived SOQL field lists', () => {
  it('always selects Id, SystemModstamp and CreatedDate, then the mapping in order', () => {
    expect(deriveFieldList(mapping({ body: 'CommentBody' }), undefined)).toEqual([
      'Id',
      'SystemModstamp',
      'CreatedDate',
      'CommentBody',
    ]);
  });

  it('includes every mapped field, relationship paths and where-clause fields, once each', () => {
    const fields = deriveFieldList(
      mapping({
        timestamp: 'MessageDate',
        thread: 'ParentId',
        subject: 'Subject',
        body: ['TextBody', 'HtmlBody'],
        from: 'FromAddress',
        to: 'ToAddress',
        properties: { Status: 'Status', 'Case Number': 'Parent.CaseNumber', Again: 'subject' },
      }),
      "Incoming = true AND Parent.Origin IN ('Email', 'Web') AND (Status != null OR CreatedDate > 2024-01-01T00:00:00Z)",
    );
    expect(fields).toEqual([
      'Id',
      'SystemModstamp',
      'CreatedDate',
      'MessageDate',
      'ParentId',
      'Subject',
      'TextBody',
      'HtmlBody',
      'FromAddress',
      'ToAddress',
      'Status',
      'Parent.CaseNumber',
      'Incoming',
      'Parent.Origin',
    ]);
  });

  it.each([
    ["Subject LIKE '%AND Status%'", ['Subject']],
    ['IsClosed = false AND Priority = null', ['IsClosed', 'Priority']],
    ['CreatedDate = LAST_N_DAYS:30', ['CreatedDate']],
    ["NOT (Owner.Name = 'x')", ['Owner.Name']],
    ['Amount__c >= 10.5', ['Amount__c']],
  ])('fields of the condition %j', (condition, expected) => {
    expect(fieldsOfCondition(condition)).toEqual(expected);
  });
});
