/**
 * Communications Mining's limits (docs/communications-mining.md#comment-model, #limits), enforced
 * before a comment leaves the bridge: one invalid comment fails its whole `/sync` batch
 * (docs/communications-mining.md#errors-retries-and-timeouts), so a comment CM would reject must never
 * be produced. Everything cut is reported as a warning.
 *
 * Lengths count Unicode code points, as the API's JSON Schema `maxLength` does, and a cut never splits
 * a surrogate pair.
 */
import type { Comment, Message, UserProperties } from '../model/comment.ts';

export interface CommentLimits {
  /** Max characters of a body or subject text. @defaultValue 65536 (docs/communications-mining.md#message-fields) */
  maxTextChars: number;
  /** Max characters of `from` and of each `to`/`cc`/`bcc` address. @defaultValue 512 (docs/communications-mining.md#message-fields) */
  maxAddressChars: number;
  /** Max addresses in each of `to`, `cc`, `bcc`. @defaultValue 2048 (docs/communications-mining.md#message-fields) */
  maxRecipients: number;
  /** Max characters of a string property value; undocumented by CM, a bridge cap (docs/communications-mining.md#user-properties). @defaultValue 1024 */
  maxPropertyValueChars: number;
  /** Max number of user properties; undocumented by CM, a bridge cap (docs/communications-mining.md#user-properties). @defaultValue 64 */
  maxProperties: number;
}

export const DEFAULT_LIMITS: Readonly<CommentLimits> = Object.freeze({
  maxTextChars: 65536,
  maxAddressChars: 512,
  maxRecipients: 2048,
  maxPropertyValueChars: 1024,
  maxProperties: 64,
});

/** Appended to truncated text, so readers in Communications Mining see that the text goes on in Salesforce. */
export const TRUNCATION_MARKER = '\n[… truncated by sf-cm-bridge]';
/** Appended to a truncated property value. */
export const PROPERTY_TRUNCATION_MARKER = '…';

/** Comment id rule, from the API's path-parameter pattern (docs/communications-mining.md#comment-fields): 1–1024 chars, no `/`, no whitespace. */
const COMMENT_ID_PATTERN = /^[\w\x21-\x2e\x3a-\x40\x5b-\x60\x7b-\x7e]{1,1024}$/;
export const MAX_COMMENT_ID_CHARS = 1024;

/** Why `id` cannot be a comment id (or thread id), or undefined when it can. */
export function commentIdProblem(id: string): string | undefined {
  if (id === '') return 'is empty';
  if (id.length > MAX_COMMENT_ID_CHARS)
    return `is ${id.length} characters long (Communications Mining allows ${MAX_COMMENT_ID_CHARS})`;
  if (id.includes('/')) return 'contains "/"';
  if (/\s/.test(id)) return 'contains whitespace';
  if (!COMMENT_ID_PATTERN.test(id))
    return 'contains characters other than letters, digits, "_" and printable ASCII punctuation';
  return undefined;
}

/** Code point count, cheaply when the UTF-16 length already proves the limit holds. */
export function charCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function withinChars(text: string, max: number): boolean {
  return text.length <= max || charCount(text) <= max;
}

/** The first `count` code points of `text`. */
function firstChars(text: string, count: number): string {
  let end = 0;
  let seen = 0;
  for (const char of text) {
    if (seen === count) break;
    end += char.length;
    seen++;
  }
  return text.slice(0, end);
}

/** `text` cut to at most `max` code points including `marker`; unchanged when it fits. */
export function truncate(text: string, max: number, marker: string): { text: string; truncated: boolean } {
  if (withinChars(text, max)) return { text, truncated: false };
  const keep = Math.max(0, max - charCount(marker));
  // Trailing whitespace before the marker would only be noise.
  return { text: firstChars(text, keep).trimEnd() + marker, truncated: true };
}

/** The comment with every limit applied, and a warning for each cut. Never mutates its input. */
export function applyLimits(
  comment: Comment,
  limits: CommentLimits = DEFAULT_LIMITS,
): { comment: Comment; warnings: string[] } {
  const warnings: string[] = [];
  const messages = comment.messages.map((message, index) =>
    limitMessage(message, limits, (w) => warnings.push(comment.messages.length > 1 ? `messages[${index}]: ${w}` : w)),
  );
  const limited: Comment = { ...comment, messages };
  if (comment.user_properties) {
    const properties = limitProperties(comment.user_properties, limits, (w) => warnings.push(w));
    if (Object.keys(properties).length > 0) limited.user_properties = properties;
    else delete limited.user_properties;
  }
  return { comment: limited, warnings };
}

function limitMessage(message: Message, limits: CommentLimits, warn: (warning: string) => void): Message {
  const limited: Message = { ...message };
  const body = truncate(message.body.text, limits.maxTextChars, TRUNCATION_MARKER);
  if (body.truncated) {
    warn(`body truncated to ${limits.maxTextChars} characters (was ${charCount(message.body.text)})`);
    limited.body = { text: body.text };
  }
  if (message.subject) {
    const subject = truncate(message.subject.text, limits.maxTextChars, TRUNCATION_MARKER);
    if (subject.truncated) {
      warn(`subject truncated to ${limits.maxTextChars} characters (was ${charCount(message.subject.text)})`);
      limited.subject = { text: subject.text };
    }
  }
  if (message.from !== undefined && !withinChars(message.from, limits.maxAddressChars)) {
    warn(`from dropped: ${charCount(message.from)} characters, over the ${limits.maxAddressChars} allowed`);
    delete limited.from;
  }
  for (const list of ['to', 'cc', 'bcc'] as const) {
    const addresses = message[list];
    if (!addresses) continue;
    const kept = limitRecipients(addresses, list, limits, warn);
    if (kept.length > 0) limited[list] = kept;
    else if (list === 'to') delete limited.to;
    else if (list === 'cc') delete limited.cc;
    else delete limited.bcc;
  }
  return limited;
}

function limitRecipients(
  addresses: readonly string[],
  list: string,
  limits: CommentLimits,
  warn: (warning: string) => void,
): string[] {
  const fitting = addresses.filter((address) => withinChars(address, limits.maxAddressChars));
  const dropped = addresses.length - fitting.length;
  if (dropped > 0) warn(`${list}: ${dropped} address(es) over ${limits.maxAddressChars} characters dropped`);
  if (fitting.length > limits.maxRecipients) {
    warn(`${list}: ${fitting.length} addresses, only the first ${limits.maxRecipients} kept`);
    return fitting.slice(0, limits.maxRecipients);
  }
  return fitting;
}

function limitProperties(
  properties: UserProperties,
  limits: CommentLimits,
  warn: (warning: string) => void,
): UserProperties {
  const limited: UserProperties = {};
  const entries = Object.entries(properties) as Array<[keyof UserProperties, string | number]>;
  if (entries.length > limits.maxProperties) {
    const dropped = entries.slice(limits.maxProperties).map(([key]) => key);
    warn(
      `user_properties: ${entries.length} properties, only the first ${limits.maxProperties} kept (dropped ${dropped.join(', ')})`,
    );
  }
  for (const [key, value] of entries.slice(0, limits.maxProperties)) {
    if (typeof value === 'string') {
      const cut = truncate(value, limits.maxPropertyValueChars, PROPERTY_TRUNCATION_MARKER);
      if (cut.truncated)
        warn(`${key} truncated to ${limits.maxPropertyValueChars} characters (was ${charCount(value)})`);
      limited[key] = cut.text;
    } else {
      limited[key] = value;
    }
  }
  return limited;
}
