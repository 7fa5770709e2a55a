/**
 * The simulated CM `/sync` validates every comment strictly against
 * docs/communications-mining.md#comment-model, and one bad comment fails the whole batch with nothing
 * stored (docs/communications-mining.md#errors-retries-and-timeouts,
 * #pitfall-6-one-bad-comment-fails-the-batch).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SimulatedCommunicationsMining } from '../src/cm/index.ts';
import { PROJECT, SOURCE, TOKEN, callApi, startTestCm, sync, validComment } from './cm-helpers.ts';

let cm: SimulatedCommunicationsMining;
beforeAll(async () => {
  cm = await startTestCm();
});
afterAll(() => cm.close());
beforeEach(() => cm.control.reset());

const message = (overrides: Record<string, unknown>) => ({ body: { text: 'hello' }, ...overrides });
const long = (n: number) => 'x'.repeat(n);

interface InvalidCase {
  name: string;
  comment: Record<string, unknown>;
  /** Text the 422 message must contain: the path of the problem, after `comments[1]`. */
  path: string;
}

const invalidCases: InvalidCase[] = [
  // top-level fields (docs/communications-mining.md#comment-fields)
  { name: 'missing id', comment: (({ id: _, ...rest }) => rest)(validComment('x')), path: 'comments[1].id' },
  { name: 'empty id', comment: validComment(''), path: 'comments[1].id' },
  { name: 'id containing "/"', comment: validComment('sf/Case/1'), path: 'comments[1].id' },
  { name: 'id containing whitespace', comment: validComment('sf Case 1'), path: 'comments[1].id' },
  { name: 'id containing non-ASCII', comment: validComment('sf.Cäse.1'), path: 'comments[1].id' },
  { name: 'id over 1024 chars', comment: validComment(long(1025)), path: 'comments[1].id' },
  { name: 'numeric id', comment: validComment('x', { id: 42 }), path: 'comments[1].id' },
  { name: 'thread_id containing "/"', comment: validComment('x', { thread_id: 'a/b' }), path: 'comments[1].thread_id' },
  {
    name: 'missing timestamp',
    comment: (({ timestamp: _, ...rest }) => rest)(validComment('x')),
    path: 'comments[1].timestamp',
  },
  {
    name: 'timestamp without offset',
    comment: validComment('x', { timestamp: '2024-03-05T14:22:10' }),
    path: 'comments[1].timestamp',
  },
  {
    name: 'timestamp as a date only',
    comment: validComment('x', { timestamp: '2024-03-05' }),
    path: 'comments[1].timestamp',
  },
  {
    name: 'timestamp on a day that does not exist',
    comment: validComment('x', { timestamp: '2024-02-30T00:00:00Z' }),
    path: 'comments[1].timestamp',
  },
  {
    name: 'timestamp as epoch number',
    comment: validComment('x', { timestamp: 1709648530 }),
    path: 'comments[1].timestamp',
  },
  {
    name: 'missing messages',
    comment: (({ messages: _, ...rest }) => rest)(validComment('x')),
    path: 'comments[1].messages',
  },
  { name: 'empty messages', comment: validComment('x', { messages: [] }), path: 'comments[1].messages' },
  {
    name: 'more than 2048 messages',
    comment: validComment('x', { messages: Array.from({ length: 2049 }, () => message({})) }),
    path: 'comments[1].messages',
  },
  {
    name: 'text_format not plain|markdown',
    comment: validComment('x', { text_format: 'html' }),
    path: 'comments[1].text_format',
  },
  {
    name: 'unknown top-level field',
    comment: validComment('x', { subject: 'hi' }),
    path: 'comments[1]: unknown field "subject"',
  },
  {
    name: 'response-only uid',
    comment: validComment('x', { uid: 'abc.x' }),
    path: 'comments[1]: unknown field "uid" (a response-only field',
  },
  {
    name: 'response-only source_id',
    comment: validComment('x', { source_id: '0123456789abcdef' }),
    path: 'unknown field "source_id"',
  },
  {
    name: 'response-only created_at',
    comment: validComment('x', { created_at: '2024-03-05T14:22:10Z' }),
    path: 'unknown field "created_at"',
  },
  {
    name: 'response-only has_annotations',
    comment: validComment('x', { has_annotations: false }),
    path: 'unknown field "has_annotations"',
  },
  // messages (docs/communications-mining.md#message-fields)
  {
    name: 'message without body',
    comment: validComment('x', { messages: [{ from: 'a@b.c' }] }),
    path: 'comments[1].messages[0].body',
  },
  {
    name: 'body without text',
    comment: validComment('x', { messages: [{ body: {} }] }),
    path: 'comments[1].messages[0].body.text',
  },
  {
    name: 'body.text over 65536 chars',
    comment: validComment('x', { messages: [message({ body: { text: long(65537) } })] }),
    path: 'comments[1].messages[0].body.text',
  },
  {
    name: 'subject.text over 65536 chars',
    comment: validComment('x', { messages: [message({ subject: { text: long(65537) } })] }),
    path: 'comments[1].messages[0].subject.text',
  },
  {
    name: 'signature.text over 65536 chars',
    comment: validComment('x', { messages: [message({ signature: { text: long(65537) } })] }),
    path: 'comments[1].messages[0].signature.text',
  },
  {
    name: 'subject as a bare string',
    comment: validComment('x', { messages: [message({ subject: 'hi' })] }),
    path: 'comments[1].messages[0].subject',
  },
  {
    name: 'response-only body.text_markup',
    comment: validComment('x', { messages: [{ body: { text: 'a', text_markup: [] } }] }),
    path: 'comments[1].messages[0].body: unknown field "text_markup"',
  },
  {
    name: 'empty from',
    comment: validComment('x', { messages: [message({ from: '' })] }),
    path: 'comments[1].messages[0].from',
  },
  {
    name: 'from over 512 chars',
    comment: validComment('x', { messages: [message({ from: long(513) })] }),
    path: 'comments[1].messages[0].from',
  },
  {
    name: 'empty "to" entry',
    comment: validComment('x', { messages: [message({ to: ['a@b.c', ''] })] }),
    path: 'comments[1].messages[0].to[1]',
  },
  {
    name: '"cc" entry over 512 chars',
    comment: validComment('x', { messages: [message({ cc: [long(513)] })] }),
    path: 'comments[1].messages[0].cc[0]',
  },
  {
    name: '"bcc" as a string, not an array',
    comment: validComment('x', { messages: [message({ bcc: 'a@b.c' })] }),
    path: 'comments[1].messages[0].bcc',
  },
  {
    name: 'more than 2048 "to" recipients',
    comment: validComment('x', { messages: [message({ to: Array.from({ length: 2049 }, (_, i) => `r${i}@b.c`) })] }),
    path: 'comments[1].messages[0].to',
  },
  {
    name: 'sent_at without offset',
    comment: validComment('x', { messages: [message({ sent_at: '2024-03-05 14:22' })] }),
    path: 'comments[1].messages[0].sent_at',
  },
  {
    name: 'empty language',
    comment: validComment('x', { messages: [message({ language: '' })] }),
    path: 'comments[1].messages[0].language',
  },
  {
    name: 'language over 8 chars',
    comment: validComment('x', { messages: [message({ language: 'en-GB-oxford' })] }),
    path: 'comments[1].messages[0].language',
  },
  {
    name: 'unknown message field',
    comment: validComment('x', { messages: [message({ html: '<p>' })] }),
    path: 'comments[1].messages[0]: unknown field "html"',
  },
  // user_properties (docs/communications-mining.md#user-properties)
  {
    name: 'property key without type prefix',
    comment: validComment('x', { user_properties: { 'Case Number': '00012345' } }),
    path: 'comments[1].user_properties["Case Number"]: key must start with "string:" or "number:"',
  },
  {
    name: 'unknown prefix boolean:',
    comment: validComment('x', { user_properties: { 'boolean:x': true } }),
    path: 'comments[1].user_properties["boolean:x"]',
  },
  {
    name: 'empty string: value',
    comment: validComment('x', { user_properties: { 'string:Status': '' } }),
    path: 'comments[1].user_properties["string:Status"]: must be a non-empty',
  },
  {
    name: 'whitespace-only string: value',
    comment: validComment('x', { user_properties: { 'string:Status': '  \t' } }),
    path: 'user_properties["string:Status"]',
  },
  {
    name: 'number in a string: property',
    comment: validComment('x', { user_properties: { 'string:Count': 3 } }),
    path: 'user_properties["string:Count"]',
  },
  {
    name: 'string in a number: property',
    comment: validComment('x', { user_properties: { 'number:nps': '7' } }),
    path: 'user_properties["number:nps"]: must be a finite number',
  },
  {
    name: 'boolean value',
    comment: validComment('x', { user_properties: { 'string:Escalated': true } }),
    path: 'user_properties["string:Escalated"]',
  },
  {
    name: 'null value',
    comment: validComment('x', { user_properties: { 'number:n': null } }),
    path: 'user_properties["number:n"]',
  },
  {
    name: 'empty property name after prefix',
    comment: validComment('x', { user_properties: { 'string:': 'x' } }),
    path: 'user_properties["string:"]',
  },
  {
    name: 'user_properties as an array',
    comment: validComment('x', { user_properties: [] }),
    path: 'comments[1].user_properties',
  },
  // attachments (docs/communications-mining.md#attachments)
  {
    name: 'more than 128 attachments',
    comment: validComment('x', {
      attachments: Array.from({ length: 129 }, (_, i) => ({
        name: `${i}.pdf`,
        size: 1,
        content_type: 'application/pdf',
      })),
    }),
    path: 'comments[1].attachments',
  },
  {
    name: 'attachment without size',
    comment: validComment('x', { attachments: [{ name: 'a.pdf', content_type: 'application/pdf' }] }),
    path: 'comments[1].attachments[0].size',
  },
  {
    name: 'attachment with negative size',
    comment: validComment('x', { attachments: [{ name: 'a.pdf', size: -1, content_type: 'application/pdf' }] }),
    path: 'comments[1].attachments[0].size',
  },
  {
    name: 'attachment name over 256 chars',
    comment: validComment('x', { attachments: [{ name: long(257), size: 1, content_type: 'text/plain' }] }),
    path: 'comments[1].attachments[0].name',
  },
  {
    name: 'attachment without content_type',
    comment: validComment('x', { attachments: [{ name: 'a', size: 1 }] }),
    path: 'comments[1].attachments[0].content_type',
  },
  // Not an object at all
  {
    name: 'comment that is a string',
    comment: 'not a comment' as unknown as Record<string, unknown>,
    path: 'comments[1]',
  },
];

async function expectNothingStored(): Promise<void> {
  expect(cm.control.comments(PROJECT, SOURCE)).toEqual([]);
  expect(cm.control.history()).toEqual([]);
  expect(cm.control.counters().comments.new).toBe(0);
}

describe('simulated CM /sync comment validation', () => {
  it.each(invalidCases)('rejects $name with 422 and stores none of the batch', async ({ comment, path }) => {
    const response = await sync(cm, [validComment('ok-before'), comment, validComment('ok-after')]);

    expect(response.status).toBe(422);
    expect(response.body.status).toBe('error');
    expect(response.body.message).toContain(path);
    expect(response.body.message).toContain('nothing in this batch was stored');
    await expectNothingStored();
  });

  it('rejects a number: property of 1e400, which JSON parses to Infinity', async () => {
    const raw = `{"comments":[{"id":"x","timestamp":"2024-03-05T14:22:10Z","messages":[{"body":{"text":"a"}}],"user_properties":{"number:n":1e400}}]}`;
    const response = await callApi(cm, 'POST', `/sources/${PROJECT}/${SOURCE}/sync`, raw);

    expect(response.status).toBe(422);
    expect(response.body.message).toContain(
      'comments[0].user_properties["number:n"]: must be a finite number (got Infinity)',
    );
    await expectNothingStored();
  });

  it('rejects duplicate ids in one batch, naming both indices', async () => {
    const response = await sync(cm, [
      validComment('a'),
      validComment('b'),
      validComment('a', { timestamp: '2024-03-06T00:00:00Z' }),
    ]);

    expect(response.status).toBe(422);
    expect(response.body.message).toContain('comments[2].id: duplicate id "a" (also at comments[0])');
    await expectNothingStored();
  });

  it('lists every bad comment of a batch in one message', async () => {
    const response = await sync(cm, [
      validComment('a/b'),
      validComment('ok'),
      validComment('c', { user_properties: { x: '1' } }),
    ]);

    expect(response.status).toBe(422);
    expect(response.body.message).toContain('comments[0].id');
    expect(response.body.message).toContain('comments[2].user_properties["x"]');
    expect(response.body.message).not.toContain('comments[1]');
  });

  it('accepts every limit at its inclusive bound', async () => {
    const atLimits = validComment(`${'a'.repeat(1000)}!"#$%&'()*+,-.:;<=>?@[\\]^_\`{|}~`.slice(0, 1024), {
      thread_id: 'sf.Case.5005g00000XyZ12AAB',
      timestamp: '2024-02-29T23:59:60.123456-05:30',
      text_format: 'markdown',
      messages: [
        {
          body: { text: long(65536) },
          subject: { text: long(65536) },
          signature: { text: '' },
          from: long(512),
          to: Array.from({ length: 2048 }, (_, i) => `r${i}@b.c`),
          cc: [long(512)],
          bcc: [],
          sent_at: '2024-03-05t14:22:10z',
          language: 'en-GB-xx',
        },
        ...Array.from({ length: 2047 }, () => message({})),
      ],
      user_properties: { 'string:Case Number': '00012345', 'number:nps': -7.5, 'number:count': 0 },
      attachments: Array.from({ length: 128 }, (_, i) => ({
        name: long(256),
        size: i,
        content_type: long(256),
        inline: false,
      })),
    });
    // Limits count characters (code points), not UTF-16 units: 65536 emoji are 131072 units.
    const emoji = validComment('emoji', { messages: [{ body: { text: '😀'.repeat(65536) } }] });

    const response = await sync(cm, [atLimits, emoji]);

    expect(response.status, JSON.stringify(response.body).slice(0, 500)).toBe(200);
    expect(response.body.new).toBe(2);
    expect(cm.control.comments(PROJECT, SOURCE)).toHaveLength(2);
  });

  it('accepts 16384 comments and rejects 16385 with 422', async () => {
    const tiny = (i: number) => ({
      id: `c${i}`,
      timestamp: '2024-03-05T14:22:10Z',
      messages: [{ body: { text: 't' } }],
    });

    const tooMany = await sync(
      cm,
      Array.from({ length: 16385 }, (_, i) => tiny(i)),
    );
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.message).toContain('at most 16384 comments, got 16385');
    await expectNothingStored();

    const maximum = await sync(
      cm,
      Array.from({ length: 16384 }, (_, i) => tiny(i)),
    );
    expect(maximum.status).toBe(200);
    expect(maximum.body.new).toBe(16384);
  });

  it.each([
    { name: 'malformed JSON', body: '{"comments": [', message: 'Malformed JSON body' },
    { name: 'a top-level array', body: '[]', message: 'must be a JSON object' },
    { name: 'an object without comments', body: '{}', message: '"comments": an array' },
    { name: 'comments as an object', body: '{"comments": {}}', message: '"comments": an array' },
    {
      name: 'an extra top-level field',
      body: '{"comments": [], "no_charge": true}',
      message: 'unknown field(s) "no_charge"',
    },
    { name: 'an empty body', body: '', message: 'must be a JSON object' },
  ])('answers a body that is $name with 400', async ({ body, message: expected }) => {
    const response = await callApi(cm, 'POST', `/sources/${PROJECT}/${SOURCE}/sync`, body);

    expect(response.status).toBe(400);
    expect(response.body).toEqual({ status: 'error', message: expect.stringContaining(expected) });
    await expectNothingStored();
  });
});

describe('simulated CM request size limit', () => {
  let small: SimulatedCommunicationsMining;
  beforeAll(async () => {
    small = await startTestCm({ bodyLimitBytes: 2048 });
  });
  afterAll(() => small.close());

  it('answers a body over the configured limit with 413 and the envelope', async () => {
    const response = await fetch(`${small.url}/api/v1/sources/${PROJECT}/${SOURCE}/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ comments: [validComment('big', { messages: [{ body: { text: long(4096) } }] })] }),
    });

    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ status: 'error', message: expect.stringContaining('2048-byte limit') });
    expect(small.control.comments(PROJECT, SOURCE)).toEqual([]);
  });
});
