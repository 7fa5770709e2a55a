import { describe, expect, it } from 'vitest';
import { splitAddresses } from '../../src/pipeline/addresses.ts';

describe('splitAddresses (spec: split on ; and , — trimmed, empties dropped, order kept)', () => {
  it.each([
    { rule: 'one address', list: 'a@x.example', want: ['a@x.example'] },
    { rule: 'split on ;', list: 'a@x.example;b@x.example', want: ['a@x.example', 'b@x.example'] },
    { rule: 'split on ,', list: 'a@x.example,b@x.example', want: ['a@x.example', 'b@x.example'] },
    {
      rule: 'both separators mixed',
      list: 'a@x.example; b@x.example, c@x.example',
      want: ['a@x.example', 'b@x.example', 'c@x.example'],
    },
    {
      rule: 'surrounding whitespace trimmed',
      list: '  a@x.example ;\tb@x.example\n',
      want: ['a@x.example', 'b@x.example'],
    },
    { rule: 'empties dropped', list: ';a@x.example;; ,b@x.example;', want: ['a@x.example', 'b@x.example'] },
    { rule: 'order kept, not sorted', list: 'z@x.example;a@x.example', want: ['z@x.example', 'a@x.example'] },
    {
      rule: 'duplicates kept (order is the record’s)',
      list: 'a@x.example;a@x.example',
      want: ['a@x.example', 'a@x.example'],
    },
    { rule: 'only separators gives nothing', list: ' ; , ', want: [] },
    { rule: 'the empty string gives nothing', list: '', want: [] },
    {
      rule: 'a comma inside a quoted display name does not split',
      list: '"Doe, Jane" <jane@x.example>; bob@x.example',
      want: ['"Doe, Jane" <jane@x.example>', 'bob@x.example'],
    },
    {
      rule: 'inner whitespace runs (folded headers) become one space',
      list: 'Jane\r\n  <jane@x.example>',
      want: ['Jane <jane@x.example>'],
    },
  ])('$rule', ({ list, want }) => {
    expect(splitAddresses(list)).toEqual(want);
  });
});
