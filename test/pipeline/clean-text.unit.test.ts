import { describe, expect, it } from 'vitest';
import { cleanText, isDeclaredHtml, looksLikeHtml, normaliseText } from '../../src/pipeline/clean-text.ts';

describe('cleanText: HTML → text (spec: Cleaning)', () => {
  it.each([
    {
      rule: 'nested inline tags flatten to their text',
      html: '<div>Hello <span><b>nested <i>deep</i></b></span> text</div>',
      want: 'Hello nested deep text',
    },
    {
      rule: '<br> is a line break',
      html: 'Line one<br>Line two<br/>Line three',
      want: 'Line one\nLine two\nLine three',
    },
    {
      rule: '<p> is a paragraph',
      html: '<p>First paragraph</p><p>Second paragraph</p>',
      want: 'First paragraph\n\nSecond paragraph',
    },
    {
      rule: 'lists keep bullets, numbers and nesting',
      html: '<ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul><ol><li>first</li><li>second</li></ol>',
      want: ' * one\n * two\n   * nested\n\n 1. first\n 2. second',
    },
    {
      rule: 'tables: a row per line, cells separated by a space, header case kept',
      html: '<table><tr><th>Item</th><th>Qty</th></tr><tr><td>Widget</td><td>3</td></tr></table>',
      want: 'Item Qty\nWidget 3',
    },
    {
      rule: 'layout tables (signatures) do not pad or wrap',
      html: '<table><tr><td><p>Hello,</p><p>Body</p></td></tr><tr><td><table><tr><td><img src="logo.png"></td><td>Jane Doe<br>Acme</td></tr></table></td></tr></table>',
      want: 'Hello,\n\nBody\n\nJane Doe\nAcme',
    },
    {
      rule: 'entities are decoded',
      html: '<p>Fish &amp; chips &lt;3 &quot;quoted&quot; &#169; &euro;5&nbsp;each</p>',
      want: 'Fish & chips <3 "quoted" © €5 each',
    },
    {
      rule: '<head>, <style> and <script> are dropped',
      html: '<html><head><title>Mail</title><style>p { color: red }</style></head><body><p>Visible</p><script>alert("x")</script></body></html>',
      want: 'Visible',
    },
    {
      rule: 'links stay readable: text [url], the bare URL when text is the URL, mailto: without the scheme',
      html: '<p>See <a href="https://acme.example/kb/42">the article</a> or <a href="https://acme.example">https://acme.example</a>, mail <a href="mailto:help@acme.example">help@acme.example</a></p>',
      want: 'See the article [https://acme.example/kb/42] or https://acme.example, mail help@acme.example',
    },
    {
      rule: 'images are dropped',
      html: '<p>Logo: <img src="cid:logo.png" alt="Acme logo"> end</p>',
      want: 'Logo: end',
    },
    {
      rule: 'quoted replies and signatures are kept',
      html: '<p>Thanks</p><div>-- <br>Jane Doe<br>Acme</div><blockquote>On Mon, Bob wrote:<br>original</blockquote>',
      want: 'Thanks\n\n--\nJane Doe\nAcme\n\n> On Mon, Bob wrote:\n> original',
    },
    { rule: 'headings keep their case', html: '<h1>Heading</h1><p>Body</p>', want: 'Heading\n\nBody' },
    {
      rule: 'source whitespace and CRLF collapse as a browser would',
      html: '<p>Hi</p>\r\n<p>\r\n  spaced   out  \r\n</p>',
      want: 'Hi\n\nspaced out',
    },
    { rule: 'long lines are never wrapped', html: `<p>${'word '.repeat(60)}</p>`, want: 'word '.repeat(60).trimEnd() },
    {
      rule: 'runs of <br> collapse to two blank lines',
      html: '<div>a</div><br><br><br><br><br><div>b</div>',
      want: 'a\n\n\nb',
    },
  ])('$rule', ({ html, want }) => {
    expect(cleanText(html, { detectHtml: true })).toBe(want);
  });
});

describe('cleanText: plain text is not mangled', () => {
  it.each([
    { rule: 'line breaks kept', text: 'Hello,\n\nLine one\nLine two', options: { detectHtml: true } },
    { rule: 'comparisons are not tags', text: 'if a < b and c > d then', options: { detectHtml: true } },
    {
      rule: 'angle-bracket addresses are not tags',
      text: 'From: Jane <jane@x.example>\nTo: Bob <bob@x.example>',
      options: { detectHtml: true },
    },
    {
      rule: 'unknown bracketed words are not tags',
      text: 'Subject: <urgent> please <reply>',
      options: { detectHtml: true },
    },
    {
      rule: 'lone tag names without markup evidence are not HTML',
      text: 'Pick <a> or <b>\nthen reply',
      options: { detectHtml: true },
    },
    { rule: 'entities in plain text are not decoded', text: 'AT&amp;T is literal here', options: { detectHtml: true } },
    { rule: 'indentation kept', text: 'Steps:\n  1. open\n  2. close', options: { detectHtml: true } },
    { rule: 'subjects are never HTML by content', text: 'Question about <div> and <p>', options: {} },
    {
      rule: 'a declared HTML field without markup is plain text',
      text: 'plain\nlines',
      options: { declaredHtml: true },
    },
  ])('$rule', ({ text, options }) => {
    expect(cleanText(text, options)).toBe(text);
  });

  it('a declared HTML field converts any markup, even tags content detection would not trust', () => {
    expect(cleanText('<custom-tag>Hello</custom-tag>&amp; bye', { declaredHtml: true })).toBe('Hello& bye');
  });
});

describe('normaliseText (deterministic normalisation)', () => {
  it.each([
    { rule: 'CRLF → LF', text: 'a\r\nb\r\n', want: 'a\nb' },
    { rule: 'lone CR → LF', text: 'a\rb', want: 'a\nb' },
    { rule: 'trailing spaces and tabs trimmed per line', text: 'a  \nb\t\nc', want: 'a\nb\nc' },
    { rule: 'leading indentation kept', text: 'a\n    b', want: 'a\n    b' },
    { rule: 'more than two blank lines collapse to two', text: 'a\n\n\n\n\n\nb', want: 'a\n\n\nb' },
    { rule: 'two blank lines are kept', text: 'a\n\n\nb', want: 'a\n\n\nb' },
    { rule: 'whitespace-only lines count as blank', text: 'a\n  \n \t \n  \n   \nb', want: 'a\n\n\nb' },
    { rule: 'NBSP → space', text: 'a\u00A0b', want: 'a b' },
    { rule: 'narrow NBSP and other typographic spaces → space', text: '10\u202F000\u2009€', want: '10 000 €' },
    {
      rule: 'zero-width space, word joiner, BOM, soft hyphen removed',
      text: '\uFEFFzero\u200Bwidth\u2060joined\u00ADword',
      want: 'zerowidthjoinedword',
    },
    {
      rule: 'preheader padding (ZWNJ + NBSP runs) removed',
      text: 'Hi\u200C\u00A0\u200C\u00A0\u034F\u200C\u00A0',
      want: 'Hi',
    },
    { rule: 'ZWNJ between letters kept (Persian)', text: 'می\u200Cخواهم', want: 'می\u200Cخواهم' },
    { rule: 'ZWJ inside an emoji sequence kept', text: 'dev 👩\u200D💻', want: 'dev 👩\u200D💻' },
    { rule: 'control characters removed, tab kept', text: 'a\u0000b\u0007c\td', want: 'abc\td' },
    { rule: 'leading and trailing blank lines trimmed', text: '\n\n  \nbody\n\n \n', want: 'body' },
    { rule: 'whitespace only becomes empty', text: ' \r\n\u00A0\n', want: '' },
  ])('$rule', ({ text, want }) => {
    expect(normaliseText(text)).toBe(want);
  });

  it('is idempotent', () => {
    const text = '\uFEFF Hi\u00A0there  \r\n\r\n\r\n\r\n\r\nbye\u200B  \n';
    expect(normaliseText(normaliseText(text))).toBe(normaliseText(text));
  });
});

describe('HTML detection', () => {
  it.each([
    ['a paragraph', '<p>Hi</p>', true],
    ['a line break', 'Hi<br>there', true],
    ['a tag with attributes', '<div class="x">Hi</div>', true],
    ['a doctype', '<!DOCTYPE html><html></html>', true],
    ['Outlook paragraphs', '<o:p></o:p>', true],
    ['an address in brackets', 'Jane <jane@x.example>', false],
    ['a comparison', '1 < 2 > 0', false],
    ['an unknown word in brackets', '<urgent>', false],
    ['bare opening tags without closing tags', 'choose <a> or <b>', false],
    ['an unclosed paragraph tag', 'use <p> for paragraphs', false],
  ])('looksLikeHtml: %s → %s', (_rule, text, want) => {
    expect(looksLikeHtml(text)).toBe(want);
  });

  it.each([
    ['HtmlBody by name', 'HtmlBody', undefined, true],
    ['a relationship path ending in an HTML field', 'Parent.Html_Description__c', undefined, true],
    ['a rich text area by describe', 'Details__c', { extraTypeInfo: 'richtextarea' }, true],
    ['htmlFormatted by describe', 'Details__c', { htmlFormatted: true }, true],
    ['a plain text area', 'TextBody', { extraTypeInfo: 'plaintextarea' }, false],
  ])('isDeclaredHtml: %s', (_rule, path, field, want) => {
    expect(isDeclaredHtml(path, field)).toBe(want);
  });
});
