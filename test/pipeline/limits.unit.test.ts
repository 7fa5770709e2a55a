import { describe, expect, it } from 'vitest';
import {
  applyLimits,
  charCount,
  commentIdProblem,
  DEFAULT_LIMITS,
  TRUNCATION_MARKER,
  truncate,
} from '../../src/pipeline/limits.ts';
import type { Comment, UserProperties } from '../../src/model/comment.ts';
import { expectAcceptedByCm } from './fixtures.ts';

function comment(message: Partial<Comment['messages'][number]> = {}, user_properties?: UserProperties): Comment {
  return {
    id: '02s5g00000AbCdEAAV',
    timestamp: '2024-03-05T14:22:10.000Z',
    messages: [{ body: { text: 'hello' }, ...message }],
    ...(user_properties && { user_properties }),
  };
}

const address = (length: number, tag = 'a') => `${tag.padEnd(length - '@x.example'.length, 'x')}@x.example`;

describe('commentIdProblem (1–1024 chars, no "/", no whitespace)', () => {
  it.each([
    ['an 18-character Salesforce Id', '02s5g00000AbCdEAAV', undefined],
    ['printable ASCII punctuation', 'sf.Case:500-x_y!', undefined],
    ['exactly 1024 characters', 'a'.repeat(1024), undefined],
    ['empty', '', /empty/],
    ['over 1024 characters', 'a'.repeat(1025), /1025 characters/],
    ['a slash', 'a/b', /"\/"/],
    ['a space', 'a b', /whitespace/],
    ['a tab', 'a\tb', /whitespace/],
    ['a newline', 'ab\n', /whitespace/],
    ['non-ASCII', 'café', /printable ASCII/],
  ])('%s', (_rule, id, problem) => {
    const found = commentIdProblem(id);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});

describe('truncate', () => {
  it.each([
    { rule: 'text that fits is unchanged', text: 'abc', max: 3, want: 'abc' },
    { rule: 'cut text ends with the marker, within the limit', text: 'abcdefghij', max: 6, want: 'abc[x]' },
    { rule: 'whitespace before the marker is trimmed', text: 'ab   cdefghij', max: 8, want: 'ab[x]' },
    { rule: 'a surrogate pair is never split', text: '😀😀😀😀😀😀', max: 5, want: '😀😀[x]' },
    { rule: 'limits count code points, not UTF-16 units', text: '😀😀😀', max: 3, want: '😀😀😀' },
  ])('$rule', ({ text, max, want }) => {
    const cut = truncate(text, max, '[x]');
    expect(cut.text).toBe(want);
    expect(charCount(cut.text)).toBeLessThanOrEqual(max);
  });
});

describe('applyLimits (never produce a comment CM would reject)', () => {
  it('a body over 65536 characters is truncated with the visible marker and a warning', () => {
    const { comment: limited, warnings } = applyLimits(comment({ body: { text: 'x'.repeat(70_000) } }));
    const text = limited.messages[0]!.body.text;
    expect(charCount(text)).toBe(DEFAULT_LIMITS.maxTextChars);
    expect(text.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(warnings).toEqual(['body truncated to 65536 characters (was 70000)']);
    expectAcceptedByCm(limited);
  });

  it('a body of exactly 65536 characters is not touched', () => {
    const { comment: limited, warnings } = applyLimits(comment({ body: { text: 'x'.repeat(65_536) } }));
    expect(limited.messages[0]!.body.text).toHaveLength(65_536);
    expect(warnings).toEqual([]);
  });

  it('an astral-plane body is measured in code points', () => {
    const { comment: limited, warnings } = applyLimits(comment({ body: { text: '😀'.repeat(40_000) } }));
    expect(warnings).toEqual([]);
    expect(limited.messages[0]!.body.text).toHaveLength(80_000);
    expectAcceptedByCm(limited);
  });

  it('a subject over the limit is truncated too', () => {
    const { comment: limited, warnings } = applyLimits(comment({ subject: { text: 's'.repeat(65_537) } }));
    expect(limited.messages[0]!.subject!.text.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(warnings).toEqual(['subject truncated to 65536 characters (was 65537)']);
  });

  it('a from over 512 characters is dropped with a warning', () => {
    const { comment: limited, warnings } = applyLimits(comment({ from: address(513) }));
    expect(limited.messages[0]).not.toHaveProperty('from');
    expect(warnings).toEqual(['from dropped: 513 characters, over the 512 allowed']);
    expectAcceptedByCm(limited);
  });

  it('a from of exactly 512 characters is kept', () => {
    const from = address(512);
    expect(applyLimits(comment({ from })).comment.messages[0]!.from).toBe(from);
  });

  it('over-long recipients are dropped, the rest kept in order', () => {
    const { comment: limited, warnings } = applyLimits(
      comment({ to: ['a@x.example', address(600), 'b@x.example'], cc: [address(513)] }),
    );
    expect(limited.messages[0]!.to).toEqual(['a@x.example', 'b@x.example']);
    expect(limited.messages[0]).not.toHaveProperty('cc');
    expect(warnings).toEqual([
      'to: 1 address(es) over 512 characters dropped',
      'cc: 1 address(es) over 512 characters dropped',
    ]);
    expectAcceptedByCm(limited);
  });

  it('more than 2048 recipients are cut to the first 2048', () => {
    const bcc = Array.from({ length: 2050 }, (_, i) => `r${i}@x.example`);
    const { comment: limited, warnings } = applyLimits(comment({ bcc }));
    expect(limited.messages[0]!.bcc).toEqual(bcc.slice(0, 2048));
    expect(warnings).toEqual(['bcc: 2050 addresses, only the first 2048 kept']);
    expectAcceptedByCm(limited);
  });

  it('string property values are capped (default 1024) with "…"; numbers are untouched', () => {
    const { comment: limited, warnings } = applyLimits(
      comment({}, { 'string:Notes': 'n'.repeat(2000), 'number:Amount': 12345678901 }),
    );
    expect(limited.user_properties!['string:Notes']).toBe(`${'n'.repeat(1023)}…`);
    expect(limited.user_properties!['number:Amount']).toBe(12345678901);
    expect(warnings).toEqual(['string:Notes truncated to 1024 characters (was 2000)']);
  });

  it('the property value cap is configurable', () => {
    const { comment: limited } = applyLimits(comment({}, { 'string:Notes': 'abcdef' }), {
      ...DEFAULT_LIMITS,
      maxPropertyValueChars: 4,
    });
    expect(limited.user_properties!['string:Notes']).toBe('abc…');
  });

  it('more than 64 properties keep the first 64 in mapping order, and name the dropped ones', () => {
    const properties: UserProperties = {};
    for (let i = 1; i <= 66; i++) properties[`string:P${i}`] = `v${i}`;
    const { comment: limited, warnings } = applyLimits(comment({}, properties));
    expect(Object.keys(limited.user_properties!)).toEqual(Array.from({ length: 64 }, (_, i) => `string:P${i + 1}`));
    expect(warnings).toEqual([
      'user_properties: 66 properties, only the first 64 kept (dropped string:P65, string:P66)',
    ]);
  });

  it('a comment within every limit comes back equal, with no warnings', () => {
    const input = comment({ subject: { text: 'Hi' }, from: 'a@x.example', to: ['b@x.example'] }, { 'string:A': 'a' });
    expect(applyLimits(input)).toEqual({ comment: input, warnings: [] });
  });

  it('does not mutate its input', () => {
    const input = comment({ body: { text: 'x'.repeat(70_000) }, to: [address(600)] });
    const copy = structuredClone(input);
    applyLimits(input);
    expect(input).toEqual(copy);
  });
});
