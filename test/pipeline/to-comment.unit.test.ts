import { describe, expect, it } from 'vitest';
import { toComment } from '../../src/pipeline/to-comment.ts';
import type { ToCommentResult } from '../../src/pipeline/to-comment.ts';
import type { Comment } from '../../src/model/comment.ts';
import {
  CASE_ID,
  EMAIL_ID,
  emailObject,
  emailRecord,
  expectAcceptedByCm,
  noDescribes,
  objectConfig,
  sandboxDescribes,
  sfRecord,
} from './fixtures.ts';
import type { MappingInput, RecordJson } from './fixtures.ts';

function rendered(result: ToCommentResult): { ok: true; comment: Comment; warnings: string[] } {
  if (!result.ok) throw new Error(`expected a comment, got: ${result.reason}`);
  expectAcceptedByCm(result.comment);
  return result;
}

const renderEmail = (overrides: RecordJson = {}) =>
  rendered(toComment(emailRecord(overrides), emailObject, sandboxDescribes));
const message = (overrides: RecordJson = {}) => renderEmail(overrides).comment.messages[0]!;

describe('toComment: the full EmailMessage example', () => {
  it('renders every mapped field', () => {
    expect(renderEmail()).toEqual({
      ok: true,
      comment: {
        id: EMAIL_ID,
        timestamp: '2024-03-05T14:22:10.000Z',
        thread_id: CASE_ID,
        messages: [
          {
            body: { text: 'Hello,\n\nWe were charged twice for invoice 4471.\n\nThanks,\nJane' },
            subject: { text: 'Invoice 4471 charged twice' },
            from: 'jane.doe@customer.example',
            to: ['support@acme.example'],
            cc: ['ops@customer.example'],
            sent_at: '2024-03-05T14:22:10.000Z',
          },
        ],
        user_properties: {
          'string:Case Number': '00012345',
          'string:Case Priority': 'High',
          'string:Status': 'New',
          'string:Incoming': 'true',
        },
      },
      warnings: [],
    });
  });
});

describe('toComment: id, timestamp and thread (spec: Mapping rules)', () => {
  const minimal = (mapping: Partial<MappingInput> = {}) =>
    objectConfig('CaseComment', { body: 'CommentBody', ...mapping });
  const caseComment = (fields: RecordJson = {}) =>
    sfRecord('CaseComment', {
      Id: '00a5g00000AbCdEAAV',
      CreatedDate: '2024-05-20T20:49:32.000+0000',
      ParentId: CASE_ID,
      CommentBody: 'Done.',
      ...fields,
    });

  it.each([
    {
      rule: 'id defaults to Id, timestamp to CreatedDate',
      mapping: {},
      fields: {},
      want: { id: '00a5g00000AbCdEAAV', timestamp: '2024-05-20T20:49:32.000Z' },
    },
    { rule: 'the id is the raw value, unprefixed', mapping: { id: 'ParentId' }, fields: {}, want: { id: CASE_ID } },
    {
      rule: 'thread_id is the raw value, unprefixed',
      mapping: { thread: 'ParentId' },
      fields: {},
      want: { thread_id: CASE_ID },
    },
    {
      rule: 'a null thread field omits thread_id',
      mapping: { thread: 'ParentId' },
      fields: { ParentId: null },
      want: { thread_id: undefined },
    },
    {
      rule: 'the timestamp field is used when set',
      mapping: { timestamp: 'LastModifiedDate' },
      fields: { LastModifiedDate: '2024-06-01T08:00:00.000+0000' },
      want: { timestamp: '2024-06-01T08:00:00.000Z' },
    },
    {
      rule: 'a null timestamp field falls back to CreatedDate',
      mapping: { timestamp: 'LastModifiedDate' },
      fields: { LastModifiedDate: null },
      want: { timestamp: '2024-05-20T20:49:32.000Z' },
    },
    {
      rule: 'a timestamp with an offset is rendered in UTC',
      mapping: {},
      fields: { CreatedDate: '2024-05-20T22:49:32.000+0200' },
      want: { timestamp: '2024-05-20T20:49:32.000Z' },
    },
    {
      rule: 'a date-only timestamp is midnight UTC',
      mapping: { timestamp: 'Due__c' },
      fields: { Due__c: '2024-05-21' },
      want: { timestamp: '2024-05-21T00:00:00.000Z' },
    },
    {
      rule: 'a numeric id is its decimal text',
      mapping: { id: 'Seq__c' },
      fields: { Seq__c: 1042 },
      want: { id: '1042' },
    },
  ])('$rule', ({ mapping, fields, want }) => {
    const { comment } = rendered(toComment(caseComment(fields), minimal(mapping), sandboxDescribes));
    for (const [key, value] of Object.entries(want)) {
      if (value === undefined) expect(comment).not.toHaveProperty(key);
      else expect(comment).toHaveProperty(key, value);
    }
    expect(comment.messages[0]!.sent_at).toBe(comment.timestamp);
  });

  it('an unparseable timestamp field falls back to CreatedDate with a warning', () => {
    const result = rendered(
      toComment(
        caseComment({ LastModifiedDate: 'soon' }),
        minimal({ timestamp: 'LastModifiedDate' }),
        sandboxDescribes,
      ),
    );
    expect(result.comment.timestamp).toBe('2024-05-20T20:49:32.000Z');
    expect(result.warnings).toEqual(['timestamp LastModifiedDate "soon" is not a datetime; used CreatedDate']);
  });

  it('an unusable thread id is omitted with a warning, the comment still renders', () => {
    const result = rendered(
      toComment(caseComment({ Thread__c: 'a thread/with slash' }), minimal({ thread: 'Thread__c' }), sandboxDescribes),
    );
    expect(result.comment).not.toHaveProperty('thread_id');
    expect(result.warnings).toEqual(['thread_id omitted: Thread__c "a thread/with slash" contains "/"']);
  });

  it.each([
    { rule: 'a null id', mapping: {}, fields: { Id: null }, reason: 'no usable comment id: Id is null or missing' },
    {
      rule: 'a missing id',
      mapping: { id: 'External__c' },
      fields: {},
      reason: 'no usable comment id: External__c is null or missing',
    },
    {
      rule: 'an empty id',
      mapping: { id: 'External__c' },
      fields: { External__c: '' },
      reason: 'no usable comment id: External__c "" is empty',
    },
    {
      rule: 'an id with "/"',
      mapping: { id: 'External__c' },
      fields: { External__c: 'INV/2024/1' },
      reason: 'no usable comment id: External__c "INV/2024/1" contains "/"',
    },
    {
      rule: 'an id with whitespace',
      mapping: { id: 'External__c' },
      fields: { External__c: 'INV 1' },
      reason: 'no usable comment id: External__c "INV 1" contains whitespace',
    },
    {
      rule: 'an id with surrounding whitespace (ids are raw, never trimmed)',
      mapping: { id: 'External__c' },
      fields: { External__c: 'INV1 ' },
      reason: 'no usable comment id: External__c "INV1 " contains whitespace',
    },
    {
      rule: 'an id over 1024 characters',
      mapping: { id: 'External__c' },
      fields: { External__c: 'x'.repeat(1025) },
      reason: `no usable comment id: External__c "${'x'.repeat(80)}…" is 1025 characters long (Communications Mining allows 1024)`,
    },
    {
      rule: 'a boolean id',
      mapping: { id: 'IsPublished' },
      fields: { IsPublished: true },
      reason: 'no usable comment id: IsPublished is not text',
    },
    {
      rule: 'no usable timestamp (null CreatedDate)',
      mapping: {},
      fields: { CreatedDate: null },
      reason: 'no usable timestamp: CreatedDate is null or missing',
    },
    {
      rule: 'no usable timestamp (null field and invalid CreatedDate)',
      mapping: { timestamp: 'LastModifiedDate' },
      fields: { LastModifiedDate: null, CreatedDate: 'garbage' },
      reason: 'no usable timestamp: LastModifiedDate is unusable and CreatedDate "garbage" is not a datetime',
    },
  ])('$rule → ok: false with a reason', ({ mapping, fields, reason }) => {
    expect(toComment(caseComment(fields), minimal(mapping), sandboxDescribes)).toEqual({ ok: false, reason });
  });

  it.each([
    ['null', null],
    ['an array', [emailRecord()]],
    ['a string', 'record'],
  ])('a record that is %s → ok: false, never a throw', (_rule, record) => {
    expect(toComment(record, emailObject, sandboxDescribes)).toEqual({
      ok: false,
      reason: 'not a Salesforce record: expected a JSON object',
    });
  });
});

describe('toComment: the message (spec: Mapping rules)', () => {
  it.each([
    {
      rule: 'body is the first non-empty of its fields (TextBody)',
      record: {},
      want: 'Hello,\n\nWe were charged twice for invoice 4471.\n\nThanks,\nJane',
    },
    {
      rule: 'a null first body field falls through to the next (HtmlBody, converted)',
      record: { TextBody: null },
      want: 'Hello,\n\nWe were charged twice for invoice 4471.\n\nThanks,\nJane',
    },
    {
      rule: 'an empty first body field falls through',
      record: { TextBody: '' },
      want: 'Hello,\n\nWe were charged twice for invoice 4471.\n\nThanks,\nJane',
    },
    {
      rule: 'a whitespace-only first body field falls through',
      record: { TextBody: ' \r\n\u00A0 ' },
      want: 'Hello,\n\nWe were charged twice for invoice 4471.\n\nThanks,\nJane',
    },
    {
      rule: 'markup that renders to nothing falls through',
      record: { TextBody: null, HtmlBody: '<p>&nbsp;</p><img src="x">' },
      want: '',
    },
    { rule: 'a null body is sent as empty text', record: { TextBody: null, HtmlBody: null }, want: '' },
    {
      rule: 'HTML in a plain-text field is detected by content',
      record: { TextBody: '<div>Hi<br>there</div>' },
      want: 'Hi\nthere',
    },
    {
      rule: 'plain text keeps its angle brackets and line breaks',
      record: { TextBody: 'From: Jane <jane@x.example>\n> quoted\n-- \nJane' },
      want: 'From: Jane <jane@x.example>\n> quoted\n--\nJane',
    },
    { rule: 'CRLF body normalised', record: { TextBody: 'a\r\nb\r\n' }, want: 'a\nb' },
  ])('$rule', ({ record, want }) => {
    expect(message(record).body).toEqual({ text: want });
  });

  it.each([
    { rule: 'a null subject is omitted', record: { Subject: null }, key: 'subject' },
    { rule: 'an empty subject is omitted, never ""', record: { Subject: '' }, key: 'subject' },
    { rule: 'a whitespace-only subject is omitted', record: { Subject: '  \r\n' }, key: 'subject' },
    { rule: 'a null from is omitted', record: { FromAddress: null }, key: 'from' },
    { rule: 'an empty from is omitted', record: { FromAddress: ' ' }, key: 'from' },
    { rule: 'a null to is omitted', record: { ToAddress: null }, key: 'to' },
    { rule: 'a to of only separators is omitted, never []', record: { ToAddress: ' ; , ' }, key: 'to' },
    { rule: 'a null bcc is omitted', record: {}, key: 'bcc' },
  ])('$rule', ({ record, key }) => {
    expect(message(record)).not.toHaveProperty(key);
  });

  it('address lists split on ; and , — trimmed, empties dropped, order kept', () => {
    const m = message({
      ToAddress: ' b@x.example;a@x.example,, c@x.example ;',
      CcAddress: 'z@x.example',
      BccAddress: 'audit@acme.example',
    });
    expect([m.to, m.cc, m.bcc]).toEqual([
      ['b@x.example', 'a@x.example', 'c@x.example'],
      ['z@x.example'],
      ['audit@acme.example'],
    ]);
  });

  it('the subject is cleaned but never taken for HTML', () => {
    expect(message({ Subject: 'Re: <div> vs <span>\r\n' }).subject).toEqual({ text: 'Re: <div> vs <span>' });
  });

  it('the from address is trimmed', () => {
    expect(message({ FromAddress: '  jane@x.example \n' }).from).toBe('jane@x.example');
  });

  it('a body over the limit is truncated with a marker and reported', () => {
    const result = renderEmail({ TextBody: 'x'.repeat(70_000) });
    expect(result.comment.messages[0]!.body.text.endsWith('\n[… truncated by sf-cm-bridge]')).toBe(true);
    expect(result.warnings).toEqual(['body truncated to 65536 characters (was 70000)']);
  });

  it('an over-long from is dropped and reported', () => {
    const result = renderEmail({ FromAddress: `${'j'.repeat(600)}@x.example` });
    expect(result.comment.messages[0]).not.toHaveProperty('from');
    expect(result.warnings).toEqual(['from dropped: 610 characters, over the 512 allowed']);
  });
});

describe('toComment: user_properties (spec: properties)', () => {
  const complaintObject = objectConfig('Complaint__c', {
    body: 'Details__c',
    subject: 'Name',
    properties: {
      Amount: 'Amount__c',
      Severity: 'Severity__c',
      'Case Priority': 'Case__r.Priority',
      'Case Number': 'Case__r.CaseNumber',
      Case: 'Case__c',
      Owner: 'OwnerId',
    },
  });
  const complaint = (fields: RecordJson = {}) =>
    sfRecord('Complaint__c', {
      Id: 'a015g00000AbCdEAAV',
      CreatedDate: '2024-05-20T20:49:32.000+0000',
      Name: 'C-0001',
      Details__c: 'Broken on arrival',
      Amount__c: 1250.5,
      Severity__c: 'S2',
      Case__c: CASE_ID,
      Case__r: { attributes: { type: 'Case' }, Priority: 'Low', CaseNumber: '00001001' },
      OwnerId: '0055g00000AbCdEAAV',
      ...fields,
    });

  it('types each property from describe: currency → number, picklist → label, parent fields from the parent object', () => {
    expect(rendered(toComment(complaint(), complaintObject, sandboxDescribes)).comment.user_properties).toEqual({
      'number:Amount': 1250.5,
      'string:Severity': 'Major',
      'string:Case Priority': 'Low',
      'string:Case Number': '00001001',
      'string:Case': CASE_ID,
      'string:Owner': '0055g00000AbCdEAAV',
    });
  });

  it('null fields and a null parent omit their properties', () => {
    const props = rendered(
      toComment(
        complaint({ Amount__c: null, Severity__c: null, Case__c: null, Case__r: null }),
        complaintObject,
        sandboxDescribes,
      ),
    ).comment.user_properties;
    expect(props).toEqual({ 'string:Owner': '0055g00000AbCdEAAV' });
  });

  it('a record whose properties are all null has no user_properties at all', () => {
    const object = objectConfig('Complaint__c', { body: 'Details__c', properties: { Amount: 'Amount__c' } });
    expect(rendered(toComment(complaint({ Amount__c: null }), object, sandboxDescribes)).comment).not.toHaveProperty(
      'user_properties',
    );
  });

  it('a polymorphic parent is typed from the nested attributes.type', () => {
    const object = objectConfig('Task', {
      body: 'Description',
      properties: { 'Related Amount': 'What.Amount__c', 'Related Severity': 'What.Severity__c' },
    });
    const task = sfRecord('Task', {
      Id: '00T5g00000AbCdEAAV',
      CreatedDate: '2024-05-20T20:49:32.000+0000',
      Description: 'Call back',
      What: { attributes: { type: 'Complaint__c' }, Amount__c: 99, Severity__c: 'S1' },
    });
    const result = rendered(toComment(task, object, sandboxDescribes));
    expect(result.comment.user_properties).toEqual({
      'number:Related Amount': 99,
      'string:Related Severity': 'Critical',
    });
    expect(result.warnings).toEqual([]);
  });

  it('without describe, properties are typed by their values and a warning says so', () => {
    const result = rendered(toComment(complaint(), complaintObject, noDescribes));
    expect(result.comment.user_properties).toMatchObject({ 'number:Amount': 1250.5, 'string:Severity': 'S2' });
    expect(result.warnings).toEqual(['no describe for Complaint__c: properties typed by their values']);
  });

  it('a field missing from describe is typed by its value, with a warning', () => {
    const object = objectConfig('Complaint__c', { body: 'Details__c', properties: { Score: 'Score__c' } });
    const result = rendered(toComment(complaint({ Score__c: 4 }), object, sandboxDescribes));
    expect(result.comment.user_properties).toEqual({ 'number:Score': 4 });
    expect(result.warnings).toEqual(['property "Score": Score__c not found in describe; typed by its value']);
  });
});
