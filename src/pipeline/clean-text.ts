/**
 * Text cleaning: HTML → plain text, then one deterministic normalisation for every text the bridge
 * sends. Communications Mining bills a comment again whenever its text changes
 * (docs/communications-mining.md#upsert-semantics-annotations-and-billing), so the same record must
 * always render byte-identical text: no wrapping, no locale, no time.
 *
 * Quoted replies and signatures are kept on purpose: Communications Mining recognises them itself.
 */
import { compile } from 'html-to-text';
import type { FormatCallback } from 'html-to-text';
import type { FieldDescribe } from '../salesforce/describe.ts';

/**
 * Table cells are separated by a space and rows by a line break. Email HTML uses tables for layout far
 * more than for data, and html-to-text's data-table rendering pads columns into unreadable text there.
 */
const tableCell: FormatCallback = (elem, walk, builder) => {
  builder.addInline(' ');
  walk(elem.children, builder);
  builder.addInline(' ');
};

const headings = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } }));

/** Compiled once: the options are constant, and compiling per call is the expensive part. */
const convertHtml = compile({
  // Wrapping would insert line breaks that depend on a width, not on the content.
  wordwrap: false,
  formatters: { tableCell },
  selectors: [
    // Images carry no text for Communications Mining; `[logo.png]` noise only.
    { selector: 'img', format: 'skip' },
    // Links stay readable: `text [https://…]`, or just the URL when the text is the URL.
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
    // Upper-casing changes the words themselves; keep the author's case.
    ...headings,
    { selector: 'table', format: 'block', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } },
    { selector: 'tr', format: 'block', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } },
    { selector: 'td', format: 'tableCell' },
    { selector: 'th', format: 'tableCell' },
  ],
});

/** HTML → text. `<style>`, `<script>` and `<head>` are dropped; entities are decoded. Not yet normalised. */
export function htmlToText(html: string): string {
  return convertHtml(html);
}

/** Element names of real HTML (and Outlook's `o:p`): `<urgent>` or `<jane@example.com>` are not among them. */
const TAG_NAME =
  '(?:html|head|body|div|p|br|span|table|tbody|thead|tr|td|th|ul|ol|li|a|b|i|u|em|strong|font|img|h[1-6]|blockquote|pre|hr|center|style|script|meta|title|section|article|header|footer|o:p)';

/**
 * Evidence of markup that plain text does not produce by accident: a closing tag (`</p>`), a line break
 * tag, a known tag with attributes, or a doctype. A bare `<b>` in "choose <a> or <b>" is not enough:
 * plain text taken for HTML would lose its line breaks.
 */
const HTML_EVIDENCE = new RegExp(
  `</${TAG_NAME}\\s*>|<br\\s*/?>|<${TAG_NAME}\\s+[A-Za-z-]+\\s*=|<!DOCTYPE\\s+html`,
  'i',
);

/** Whether `text` is HTML by its content (see `HTML_EVIDENCE`). */
export function looksLikeHtml(text: string): boolean {
  return HTML_EVIDENCE.test(text);
}

/** Any tag or entity at all: enough for a field declared as HTML, whose content is HTML by contract. */
const ANY_MARKUP = /<\/?[A-Za-z!][^<>]*>|&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#x[0-9A-Fa-f]+);/;

/**
 * Invisible characters removed from text: zero-width space, word joiner, BOM, soft hyphen and
 * combining grapheme joiner (HTML email preheaders are padded with runs of them).
 */
const INVISIBLE = /\u200B|\u2060|\uFEFF|\u00AD|\u034F/g;
/** Zero-width non-joiner: meaningful between letters (Persian, Indic scripts), padding elsewhere. */
const STRAY_ZWNJ = /(?<!\p{L}\p{M}*)\u200C|\u200C(?!\p{L})/gu;
/** Zero-width joiner: meaningful inside emoji sequences (👩‍💻) and between letters, padding elsewhere. */
const STRAY_ZWJ =
  /(?<![\p{L}\p{Extended_Pictographic}]\p{M}*\uFE0F?)\u200D|\u200D(?![\p{L}\p{Extended_Pictographic}])/gu;
/** Space characters that render as a space: NBSP, narrow and figure spaces, the typographic spaces. */
const SPACES = /[\u00A0\u2007\u202F\u2000-\u200A\u205F\u3000]/g;
/** C0 controls and DEL, except tab and line feed: invisible, and some break consumers of the JSON. */
// eslint-disable-next-line no-control-regex -- matching control characters is this expression's purpose
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/**
 * The deterministic text normalisation, in this order: line endings to LF, invisible characters
 * removed, space characters to a plain space, trailing spaces trimmed per line, runs of more than two
 * blank lines cut to two, leading and trailing blank lines removed. Indentation inside lines is kept.
 */
export function normaliseText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(CONTROLS, '')
    .replace(INVISIBLE, '')
    .replace(STRAY_ZWNJ, '')
    .replace(STRAY_ZWJ, '')
    .replace(SPACES, ' ')
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{4,}/g, '\n\n\n')
    .replace(/^\n+/, '')
    .replace(/\n+$/, '');
}

export interface CleanTextOptions {
  /** The field is declared as HTML (rich text area, `HtmlBody`): convert whenever it holds markup. */
  declaredHtml?: boolean;
  /** Also detect HTML by content in undeclared fields (bodies only: subjects such as `About <div>` are plain). */
  detectHtml?: boolean;
}

/** Clean one text value: HTML converted when it is HTML, then normalised. */
export function cleanText(text: string, options: CleanTextOptions = {}): string {
  const isHtml = options.declaredHtml ? ANY_MARKUP.test(text) : options.detectHtml === true && looksLikeHtml(text);
  return normaliseText(isHtml ? htmlToText(text) : text);
}

/**
 * Whether a field holds HTML by declaration: a rich text area in describe, or a field named for it
 * (`HtmlBody`). Describe may be missing for a field, so the name alone is enough.
 */
export function isDeclaredHtml(
  fieldPath: string,
  field?: Pick<FieldDescribe, 'htmlFormatted' | 'extraTypeInfo'>,
): boolean {
  if (field?.htmlFormatted === true || field?.extraTypeInfo === 'richtextarea') return true;
  const fieldName = fieldPath.slice(fieldPath.lastIndexOf('.') + 1);
  return /html/i.test(fieldName);
}
