/**
 * The comment object accepted by `POST …/sync`, validated as strictly as the docs allow
 * (docs/communications-mining.md#comment-model, limits from #limits). The sandbox is deliberately
 * strict: a bridge that passes here sends only what the documented schema permits.
 *
 * Where the docs say Unverified, the sandbox picks the strict reading and says so in a comment.
 */
import { z } from 'zod';

/** Comment id rule from the PA path-parameter pattern (docs/communications-mining.md#comment-fields): no `/`, no whitespace. */
export const COMMENT_ID_PATTERN = /^[\w\x21-\x2e\x3a-\x40\x5b-\x60\x7b-\x7e]{1,1024}$/;
export const MAX_COMMENTS_PER_SYNC = 16384; // docs/communications-mining.md#sync-request, #limits
export const MAX_MESSAGES_PER_COMMENT = 2048;
export const MAX_TEXT_CHARS = 65536;
export const MAX_ADDRESS_CHARS = 512;
export const MAX_RECIPIENTS = 2048;
export const MAX_ATTACHMENTS = 128;
export const MAX_ATTACHMENT_FIELD_CHARS = 256;

/** Fields the API returns on read but that a client must never send (docs/communications-mining.md#comment-fields). */
export const RESPONSE_ONLY_COMMENT_FIELDS: ReadonlySet<string> = new Set([
  'uid',
  'source_id',
  'created_at',
  'last_modified',
  'context',
  'has_annotations',
  'thread_properties',
  'text_markup',
  'translated_from_markup',
]);

/**
 * JSON-Schema `maxLength` counts code points, JS `length` counts UTF-16 units. Count code points only
 * when the cheap count is over the limit (code points ≤ UTF-16 units).
 */
function withinChars(value: string, max: number): boolean {
  if (value.length <= max) return true;
  let count = 0;
  for (const _ of value) if (++count > max) return false;
  return true;
}

function text(max: number) {
  return z.string().refine((s) => withinChars(s, max), { error: `must be at most ${max} characters` });
}

function nonEmptyText(max: number) {
  return z
    .string()
    .min(1, { error: 'must not be empty (omit the field instead)' })
    .refine((s) => withinChars(s, max), { error: `must be at most ${max} characters` });
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/** RFC 3339 date-time with `Z` or an explicit offset, calendar-valid (`timestamp`, docs/communications-mining.md#comment-fields). */
export function isRfc3339DateTime(value: string): boolean {
  const m = RFC3339.exec(value);
  if (!m) return false;
  // Field by field, without arrays or Dates: this runs for every timestamp of every comment synced.
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = month === 2 ? (leap ? 29 : 28) : DAYS_IN_MONTH[month - 1];
  if (daysInMonth === undefined || day > daysInMonth) return false;
  if (hour > 23 || minute > 59 || second > 60) return false; // 60: leap second, allowed by RFC 3339
  if (m[8] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return false;
  return true;
}

const dateTime = z.string().refine(isRfc3339DateTime, {
  error: 'must be an RFC 3339 date-time with a Z or ±hh:mm offset, e.g. 2024-03-05T14:22:10Z',
});

const commentId = z.string().regex(COMMENT_ID_PATTERN, {
  error: 'must be 1–1024 characters of letters, digits, "_" and printable ASCII punctuation, without "/" or whitespace',
});

const messageText = z.strictObject({
  text: text(MAX_TEXT_CHARS),
  translated_from: text(MAX_TEXT_CHARS).optional(),
});

const recipients = z.array(nonEmptyText(MAX_ADDRESS_CHARS)).max(MAX_RECIPIENTS, {
  error: `must have at most ${MAX_RECIPIENTS} recipients`,
});

/** One message of a comment (docs/communications-mining.md#message-fields). */
export const messageSchema = z.strictObject({
  body: messageText,
  subject: messageText.optional(),
  signature: messageText.optional(),
  from: nonEmptyText(MAX_ADDRESS_CHARS).optional(),
  to: recipients.optional(),
  cc: recipients.optional(),
  bcc: recipients.optional(),
  sent_at: dateTime.optional(),
  language: z.string().min(1).max(8).optional(),
});

/**
 * User properties (docs/communications-mining.md#user-properties): every key is `string:<name>` or
 * `number:<name>` and the value matches the prefix. An empty display name (`"string:"`) is rejected
 * too: UNVERIFIED on the real API, strict here.
 */
const userProperties = z.record(z.string(), z.unknown()).superRefine((props, ctx) => {
  for (const [key, value] of Object.entries(props)) {
    const fail = (message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    if (key.startsWith('string:')) {
      if (key.length === 'string:'.length) fail('property name after "string:" must not be empty');
      else if (typeof value !== 'string' || value.trim() === '')
        fail(`must be a non-empty, non-whitespace string (got ${describeJson(value)}), omit empty properties instead`);
    } else if (key.startsWith('number:')) {
      if (key.length === 'number:'.length) fail('property name after "number:" must not be empty');
      else if (typeof value !== 'number' || !Number.isFinite(value))
        fail(`must be a finite number (got ${describeJson(value)})`);
    } else {
      fail('key must start with "string:" or "number:"');
    }
  }
});

/** Attachments (docs/communications-mining.md#attachments): metadata only. */
export const attachmentSchema = z.strictObject({
  name: text(MAX_ATTACHMENT_FIELD_CHARS),
  size: z.number().int().nonnegative(),
  content_type: text(MAX_ATTACHMENT_FIELD_CHARS),
  attachment_reference: z.string().optional(),
  content_hash: z.string().optional(),
  inline: z.boolean().optional(),
});

/** A comment (docs/communications-mining.md#comment-fields). `thread_id` uses the id rule: UNVERIFIED on the real API, strict here. */
export const commentSchema = z.strictObject({
  id: commentId,
  timestamp: dateTime,
  thread_id: commentId.optional(),
  messages: z
    .array(messageSchema)
    .min(1, { error: 'must contain at least one message' })
    .max(MAX_MESSAGES_PER_COMMENT, { error: `must contain at most ${MAX_MESSAGES_PER_COMMENT} messages` }),
  user_properties: userProperties.optional(),
  attachments: z
    .array(attachmentSchema)
    .max(MAX_ATTACHMENTS, { error: `must contain at most ${MAX_ATTACHMENTS} attachments` })
    .optional(),
  text_format: z.enum(['plain', 'markdown']).optional(),
});

export type Comment = z.infer<typeof commentSchema>;
export type Message = z.infer<typeof messageSchema>;

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') {
    if (value === '') return 'an empty string';
    return value.trim() === '' ? 'a whitespace-only string' : 'a string';
  }
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value;
}

/** `comments[3].messages[0].body.text`, `comments[0].user_properties["string:Case Number"]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  let previous: PropertyKey | undefined;
  for (const part of path) {
    // Property names are data, always quoted: `user_properties["x"]`, not `user_properties.x`.
    const isData = previous === 'user_properties';
    if (typeof part === 'number') out += `[${part}]`;
    else if (!isData && typeof part === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(part))
      out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(String(part))}]`;
    previous = part;
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue, prefix: ReadonlyArray<PropertyKey>): string {
  const where = formatPath([...prefix, ...issue.path]);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((key) => {
        const why = RESPONSE_ONLY_COMMENT_FIELDS.has(key)
          ? ' (a response-only field: returned on read, never accepted on sync)'
          : '';
        return `${where}: unknown field ${JSON.stringify(key)}${why}`;
      })
      .join('; ');
  }
  return `${where}: ${issue.message}`;
}

export interface BatchValidationError {
  /** 400: the body is not `{"comments": [...]}`. 422: the body's shape is right but a comment is invalid. */
  status: 400 | 422;
  message: string;
}

export type BatchValidationResult = { ok: true; comments: Comment[] } | { ok: false; error: BatchValidationError };

/** How many problems one error message lists before it summarises the rest. */
const MAX_LISTED_PROBLEMS = 20;

/**
 * Validates a whole `/sync` body. One invalid comment fails the whole batch
 * (docs/communications-mining.md#errors-retries-and-timeouts,
 * #pitfall-6-one-bad-comment-fails-the-batch), so this either returns every comment or none; the
 * message names each bad comment's index and path. Duplicate ids in one batch are rejected (UNVERIFIED
 * on the real API; the CLI rejects them,
 * docs/communications-mining.md#upsert-semantics-annotations-and-billing).
 */
export function validateSyncBody(body: unknown): BatchValidationResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return bad(400, 'Request body must be a JSON object {"comments": [...]}');
  }
  const extra = Object.keys(body).filter((key) => key !== 'comments');
  if (extra.length > 0) {
    return bad(
      400,
      `Request body has unknown field(s) ${extra.map((k) => JSON.stringify(k)).join(', ')}; only "comments" is allowed`,
    );
  }
  const comments = (body as { comments?: unknown }).comments;
  if (!Array.isArray(comments)) {
    return bad(400, 'Request body must have "comments": an array of comments');
  }
  if (comments.length > MAX_COMMENTS_PER_SYNC) {
    return bad(422, `comments: a batch holds at most ${MAX_COMMENTS_PER_SYNC} comments, got ${comments.length}`);
  }

  const problems: string[] = [];
  let problemCount = 0;
  const note = (problem: string) => {
    problemCount++;
    if (problems.length < MAX_LISTED_PROBLEMS) problems.push(problem);
  };
  const valid: Comment[] = [];
  const firstIndexOfId = new Map<string, number>();
  comments.forEach((candidate, index) => {
    const parsed = commentSchema.safeParse(candidate);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) note(describeIssue(issue, ['comments', index]));
      return;
    }
    const earlier = firstIndexOfId.get(parsed.data.id);
    if (earlier !== undefined) {
      note(
        `comments[${index}].id: duplicate id ${JSON.stringify(parsed.data.id)} (also at comments[${earlier}]); send each id once per batch`,
      );
      return;
    }
    firstIndexOfId.set(parsed.data.id, index);
    // Keep the value as sent, not zod's output: the store compares and returns what the client sent.
    valid.push(candidate as Comment);
  });

  if (problemCount > 0) {
    const more = problemCount > problems.length ? `; …and ${problemCount - problems.length} more` : '';
    return bad(422, `Invalid comments, nothing in this batch was stored: ${problems.join('; ')}${more}`);
  }
  return { ok: true, comments: valid };
}

function bad(status: 400 | 422, message: string): BatchValidationResult {
  return { ok: false, error: { status, message } };
}
