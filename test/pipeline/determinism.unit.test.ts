/**
 * Determinism is a hard requirement: CM bills every text change and drops assigned entities when
 * `messages` change (docs/communications-mining.md#upsert-semantics-annotations-and-billing), so the
 * same record must always render byte-identical output.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash } from '../../src/pipeline/content-hash.ts';
import { toComment } from '../../src/pipeline/to-comment.ts';
import type { Comment } from '../../src/model/comment.ts';
import { emailObject, emailRecord, sandboxDescribes } from './fixtures.ts';
import type { RecordJson } from './fixtures.ts';

function render(record: unknown): Comment {
  const result = toComment(record, emailObject, sandboxDescribes);
  if (!result.ok) throw new Error(result.reason);
  return result.comment;
}

/** The same object with its keys (and nested keys) in reverse order. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([key, inner]) => [key, reversedKeys(inner)]),
  );
}

const crlf = (text: string) => text.replace(/\n/g, '\r\n');

describe('determinism: equal records render byte-identical comments and equal hashes', () => {
  const base = emailRecord({
    TextBody: null,
    HtmlBody:
      '<p>Hello,</p>\n<p>We were charged twice.</p>\n<table><tr><td>Invoice</td><td>4471</td></tr></table>\n<p>Thanks,<br>\nJane</p>',
    Subject: 'Invoice 4471\ncharged twice',
  });

  it.each<{ rule: string; variant: RecordJson }>([
    { rule: 'rendering the same record twice', variant: structuredClone(base) },
    {
      rule: 'keys in another order (record, nested relationship, attributes)',
      variant: reversedKeys(base) as RecordJson,
    },
    {
      rule: 'CRLF instead of LF in text fields',
      variant: { ...base, HtmlBody: crlf(base['HtmlBody'] as string), Subject: crlf(base['Subject'] as string) },
    },
    {
      rule: 'trailing spaces and NBSP in the text',
      variant: { ...base, Subject: 'Invoice 4471  \ncharged\u00A0twice ' },
    },
    { rule: 'the same instant with another offset', variant: { ...base, MessageDate: '2024-03-05T15:22:10.000+0100' } },
    { rule: 'address lists with other spacing', variant: { ...base, ToAddress: '  support@acme.example ; ' } },
    {
      rule: 'fields the mapping does not read differ',
      variant: { ...base, SystemModstamp: '2030-01-01T00:00:00.000+0000', Headers: 'X-Other: 1' },
    },
  ])('$rule', ({ variant }) => {
    const expected = render(base);
    const actual = render(variant);
    expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
    expect(contentHash(actual)).toBe(contentHash(expected));
  });

  it.each<{ rule: string; variant: RecordJson }>([
    { rule: 'a changed body', variant: emailRecord({ TextBody: 'Hello, changed' }) },
    { rule: 'a changed property', variant: emailRecord({ Status: '1' }) },
    { rule: 'a changed timestamp', variant: emailRecord({ MessageDate: '2024-03-05T14:22:11.000+0000' }) },
    {
      rule: 'a reordered address list (order is kept, so it is content)',
      variant: emailRecord({ ToAddress: 'b@x.example;a@x.example' }),
    },
  ])('a different rendering gives a different hash: $rule', ({ variant }) => {
    const base = emailRecord({ ToAddress: 'a@x.example;b@x.example' });
    expect(contentHash(render(variant))).not.toBe(contentHash(render(base)));
  });
});

describe('contentHash', () => {
  const comment: Comment = {
    id: 'x',
    timestamp: '2024-01-01T00:00:00.000Z',
    messages: [{ body: { text: 'hi' }, to: ['b@x.example', 'a@x.example'] }],
    user_properties: { 'string:B': 'b', 'number:A': 1 },
  };

  it('is sha256 hex of the canonical JSON', () => {
    expect(contentHash(comment)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not depend on key order at any level', () => {
    expect(contentHash(reversedKeys(comment) as Comment)).toBe(contentHash(comment));
  });

  it('depends on array order', () => {
    const reordered: Comment = {
      ...comment,
      messages: [{ ...comment.messages[0]!, to: ['a@x.example', 'b@x.example'] }],
    };
    expect(contentHash(reordered)).not.toBe(contentHash(comment));
  });

  it.each([
    {
      rule: 'keys sorted at every level',
      value: { b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } },
      want: '{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}',
    },
    { rule: 'undefined members left out, as JSON does', value: { b: undefined, a: 1 }, want: '{"a":1}' },
    { rule: 'strings escaped as JSON', value: { 'k"ey': 'line\nbreak' }, want: '{"k\\"ey":"line\\nbreak"}' },
  ])('canonicalJson: $rule', ({ value, want }) => {
    expect(canonicalJson(value)).toBe(want);
  });

  it('a known comment has a stable, pinned hash (changing it means every comment is re-pushed)', () => {
    expect(canonicalJson(comment)).toBe(
      '{"id":"x","messages":[{"body":{"text":"hi"},"to":["b@x.example","a@x.example"]}],"timestamp":"2024-01-01T00:00:00.000Z","user_properties":{"number:A":1,"string:B":"b"}}',
    );
    expect(contentHash(comment)).toBe('076e6ae7091de8ea19d6d4fcc889706f7ea1b178e98453d78e61426f41e3ffdd');
  });
});
