import { describe, expect, it } from 'vitest';
import { toIsoDate, toRfc3339 } from '../../src/pipeline/datetimes.ts';

describe('toRfc3339 (Salesforce datetimes and dates → RFC 3339 UTC with milliseconds)', () => {
  it.each([
    { rule: 'REST format with +0000', input: '2024-05-20T20:49:32.000+0000', want: '2024-05-20T20:49:32.000Z' },
    { rule: 'CDC format with Z', input: '2024-05-20T20:49:32.000Z', want: '2024-05-20T20:49:32.000Z' },
    {
      rule: 'a positive offset without colon is converted to UTC',
      input: '2024-05-20T22:49:32.000+0200',
      want: '2024-05-20T20:49:32.000Z',
    },
    {
      rule: 'a negative offset with colon is converted to UTC',
      input: '2024-05-20T15:49:32.000-05:00',
      want: '2024-05-20T20:49:32.000Z',
    },
    {
      rule: 'an offset crossing midnight changes the date',
      input: '2024-12-31T23:30:00.000-0100',
      want: '2025-01-01T00:30:00.000Z',
    },
    { rule: 'no fractional seconds', input: '2024-05-20T20:49:32Z', want: '2024-05-20T20:49:32.000Z' },
    {
      rule: 'sub-millisecond digits are dropped',
      input: '2024-05-20T20:49:32.123456Z',
      want: '2024-05-20T20:49:32.123Z',
    },
    { rule: 'one fractional digit is tenths', input: '2024-05-20T20:49:32.5Z', want: '2024-05-20T20:49:32.500Z' },
    { rule: 'a date only is midnight UTC', input: '2024-05-20', want: '2024-05-20T00:00:00.000Z' },
    {
      rule: 'surrounding whitespace ignored',
      input: ' 2024-05-20T20:49:32.000+0000 ',
      want: '2024-05-20T20:49:32.000Z',
    },
    { rule: 'a leap day', input: '2024-02-29T12:00:00.000+0000', want: '2024-02-29T12:00:00.000Z' },
    {
      rule: 'a two-digit year is not moved to the 1900s',
      input: '0099-01-01T00:00:00.000Z',
      want: '0099-01-01T00:00:00.000Z',
    },
  ])('$rule: $input', ({ input, want }) => {
    expect(toRfc3339(input)).toBe(want);
  });

  it.each([
    ['not a date', 'yesterday'],
    ['February 30th', '2024-02-30T00:00:00.000Z'],
    ['not a leap year', '2023-02-29'],
    ['month 13', '2024-13-01'],
    ['hour 24', '2024-05-20T24:00:00Z'],
    ['no offset (ambiguous local time)', '2024-05-20T20:49:32.000'],
    ['an offset of 24 hours', '2024-05-20T20:49:32.000+2400'],
    ['the empty string', ''],
  ])('rejects %s', (_rule, input) => {
    expect(toRfc3339(input)).toBeUndefined();
  });
});

describe('toIsoDate', () => {
  it.each([
    ['a date stays a date', '2024-05-20', '2024-05-20'],
    ['an invalid calendar date is rejected', '2024-04-31', undefined],
    ['a datetime is not a date', '2024-05-20T00:00:00Z', undefined],
  ])('%s', (_rule, input, want) => {
    expect(toIsoDate(input)).toBe(want);
  });
});
