/**
 * Fixtures for the pipeline tests: describes of the sandbox org (the same metadata the sandbox REST API
 * serves, parsed through `parseDescribe`), mappings parsed through the config schema, and records in the
 * REST shape (docs/salesforce.md#query-and-queryall: `attributes`, nested relationships, `+0000` datetimes).
 */
import { expect } from 'vitest';
import type { z } from 'zod';
import { CommentMappingSchema } from '../../src/config/schema.ts';
import type { ObjectConfig } from '../../src/config/types.ts';
import { describeLookupOf, parseDescribe } from '../../src/salesforce/describe.ts';
import type { DescribeLookup } from '../../src/salesforce/describe.ts';
import { commentSchema } from '@sf-cm-bridge/sandbox/cm';
import { defaultObjects } from '@sf-cm-bridge/sandbox/org';
import type { Comment } from '../../src/model/comment.ts';

export const sandboxDescribes: DescribeLookup = describeLookupOf(
  defaultObjects().map((object) => parseDescribe(object)),
);

export const noDescribes: DescribeLookup = () => undefined;

/** A comment mapping as written in the config file (before defaults). */
export type MappingInput = z.input<typeof CommentMappingSchema>;

/** An object config as the pipeline sees it, from a mapping written as in the config file. */
export function objectConfig(name: string, mapping: MappingInput): Pick<ObjectConfig, 'name' | 'comment'> {
  return { name, comment: CommentMappingSchema.parse(mapping) };
}

export type RecordJson = { [key: string]: unknown };

/** A record in the REST shape: `attributes` first, as Salesforce sends it. */
export function sfRecord(type: string, fields: RecordJson): RecordJson {
  const id = typeof fields['Id'] === 'string' ? fields['Id'] : '000000000000000AAA';
  return { attributes: { type, url: `/services/data/v62.0/sobjects/${type}/${id}` }, ...fields };
}

export const EMAIL_ID = '02s5g00000AbCdEAAV';
export const CASE_ID = '5005g00000XyZ12AAB';

export const emailMapping: MappingInput = {
  timestamp: 'MessageDate',
  thread: 'ParentId',
  subject: 'Subject',
  body: ['TextBody', 'HtmlBody'],
  from: 'FromAddress',
  to: 'ToAddress',
  cc: 'CcAddress',
  bcc: 'BccAddress',
  properties: {
    'Case Number': 'Parent.CaseNumber',
    'Case Priority': 'Parent.Priority',
    Status: 'Status',
    Incoming: 'Incoming',
  },
};

export const emailObject = objectConfig('EmailMessage', emailMapping);

/** A received email on a case, every mapped field set. */
export function emailRecord(overrides: RecordJson = {}): RecordJson {
  return sfRecord('EmailMessage', {
    Id: EMAIL_ID,
    CreatedDate: '2024-03-05T14:22:11.000+0000',
    SystemModstamp: '2024-03-05T14:22:11.000+0000',
    MessageDate: '2024-03-05T14:22:10.000+0000',
    ParentId: CASE_ID,
    Parent: {
      attributes: { type: 'Case', url: `/services/data/v62.0/sobjects/Case/${CASE_ID}` },
      CaseNumber: '00012345',
      Priority: 'High',
    },
    Subject: 'Invoice 4471 charged twice',
    TextBody: 'Hello,\n\nWe were charged twice for invoice 4471.\n\nThanks,\nJane',
    HtmlBody: '<p>Hello,</p><p>We were charged twice for invoice 4471.</p><p>Thanks,<br>Jane</p>',
    FromAddress: 'jane.doe@customer.example',
    ToAddress: 'support@acme.example',
    CcAddress: 'ops@customer.example',
    BccAddress: null,
    Status: '0',
    Incoming: true,
    ...overrides,
  });
}

/** Fails the test when Communications Mining (the strict sandbox schema) would reject the comment. */
export function expectAcceptedByCm(comment: Comment): void {
  const parsed = commentSchema.safeParse(comment);
  expect(parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toEqual(
    [],
  );
}
