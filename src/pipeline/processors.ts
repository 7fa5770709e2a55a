/**
 * The steps that turn a record into a comment, one mapping rule each (README.md#mapping-rules).
 * Each is a pure function of the draft so far and the input; `to-comment.ts` runs them in order.
 */
import { resolveFieldPath } from '../salesforce/describe.ts';
import type { DescribeLookup, FieldDescribe } from '../salesforce/describe.ts';
import type { ObjectConfig } from '../config/types.ts';
import type { Message, UserProperties } from '../model/comment.ts';
import { normaliseAddress, splitAddresses } from './addresses.ts';
import { cleanText, isDeclaredHtml } from './clean-text.ts';
import { toRfc3339 } from './datetimes.ts';
import { commentIdProblem } from './limits.ts';
import type { CommentLimits } from './limits.ts';
import { renderProperty } from './properties.ts';
import { readPath, typesAlongPath } from './read-fields.ts';
import type { SalesforceRecord } from './read-fields.ts';

/** What the steps read: never changed by them. */
export interface PipelineInput {
  record: SalesforceRecord;
  object: Pick<ObjectConfig, 'name' | 'comment'>;
  describes: DescribeLookup;
  limits: CommentLimits;
}

/** The comment as it is being built; `to-comment.ts` checks it is complete. */
export interface CommentDraft {
  id?: string;
  timestamp?: string;
  thread_id?: string;
  message?: Message;
  user_properties?: UserProperties;
}

export type StepResult = { ok: true; draft: CommentDraft; warnings?: string[] } | { ok: false; reason: string };

export type CommentProcessor = (draft: CommentDraft, input: PipelineInput) => StepResult;

/** The field a path ends at, typed from the record's `attributes.type` on polymorphic hops. */
function fieldOf(input: PipelineInput, path: string): FieldDescribe | undefined {
  return resolveFieldPath(input.object.name, path, input.describes, typesAlongPath(input.record, path))?.field;
}

/** A short, safe rendering of a value inside a message. */
function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/** Reads an id-like field (comment id, thread id): text or a number, checked against CM's id rule. */
function readId(input: PipelineInput, path: string): { id: string } | { problem: string } {
  const read = readPath(input.record, path);
  if (read.kind === 'null') return { problem: `${path} is null or missing` };
  if (read.kind === 'structured' || typeof read.value === 'boolean') return { problem: `${path} is not text` };
  const id = String(read.value);
  const problem = commentIdProblem(id);
  return problem ? { problem: `${path} ${quote(id)} ${problem}` } : { id };
}

/** `id` defaults to `Id`; the raw value, unprefixed. A record without a usable id cannot become a comment. */
export const mapId: CommentProcessor = (draft, input) => {
  const result = readId(input, input.object.comment.id);
  if ('problem' in result) return { ok: false, reason: `no usable comment id: ${result.problem}` };
  return { ok: true, draft: { ...draft, id: result.id } };
};

const FALLBACK_TIMESTAMP_FIELD = 'CreatedDate';

/** `timestamp` defaults to `CreatedDate`; a null (or unreadable) timestamp field falls back to `CreatedDate`. */
export const mapTimestamp: CommentProcessor = (draft, input) => {
  const path = input.object.comment.timestamp;
  const warnings: string[] = [];
  const mapped = readTimestamp(input, path);
  if (mapped.timestamp !== undefined) return { ok: true, draft: { ...draft, timestamp: mapped.timestamp } };
  if (mapped.invalid !== undefined && path !== FALLBACK_TIMESTAMP_FIELD)
    warnings.push(`timestamp ${path} ${quote(mapped.invalid)} is not a datetime; used ${FALLBACK_TIMESTAMP_FIELD}`);
  const fallback = path === FALLBACK_TIMESTAMP_FIELD ? mapped : readTimestamp(input, FALLBACK_TIMESTAMP_FIELD);
  if (fallback.timestamp === undefined) {
    const why = fallback.invalid === undefined ? 'is null or missing' : `${quote(fallback.invalid)} is not a datetime`;
    const tried = path === FALLBACK_TIMESTAMP_FIELD ? '' : `${path} is unusable and `;
    return { ok: false, reason: `no usable timestamp: ${tried}${FALLBACK_TIMESTAMP_FIELD} ${why}` };
  }
  return { ok: true, draft: { ...draft, timestamp: fallback.timestamp }, warnings };
};

function readTimestamp(input: PipelineInput, path: string): { timestamp?: string; invalid?: string } {
  const read = readPath(input.record, path);
  if (read.kind === 'null') return {};
  if (read.kind === 'structured' || typeof read.value !== 'string')
    return { invalid: read.kind === 'structured' ? '[object]' : String(read.value) };
  const timestamp = toRfc3339(read.value);
  return timestamp === undefined ? { invalid: read.value } : { timestamp };
}

/** `thread_id` is the raw value of the `thread` field; null omits it, an unusable one is dropped with a warning. */
export const mapThread: CommentProcessor = (draft, input) => {
  const path = input.object.comment.thread;
  if (path === undefined || readPath(input.record, path).kind === 'null') return { ok: true, draft };
  const result = readId(input, path);
  if ('problem' in result) return { ok: true, draft, warnings: [`thread_id omitted: ${result.problem}`] };
  return { ok: true, draft: { ...draft, thread_id: result.id } };
};

/** The text of a field, cleaned; '' when null. Bodies also detect HTML by content. */
function readText(input: PipelineInput, path: string, detectHtml: boolean): string {
  const read = readPath(input.record, path);
  if (read.kind !== 'value') return '';
  return cleanText(String(read.value), { declaredHtml: isDeclaredHtml(path, fieldOf(input, path)), detectHtml });
}

function readString(input: PipelineInput, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const read = readPath(input.record, path);
  return read.kind === 'value' ? String(read.value) : undefined;
}

/**
 * One message per comment: `body` is the first non-empty of its fields (empty text when none is),
 * `subject`, `from`, `to`/`cc`/`bcc` are omitted when empty, `sent_at` is the comment timestamp.
 */
export const mapMessage: CommentProcessor = (draft, input) => {
  const mapping = input.object.comment;
  const bodyFields = Array.isArray(mapping.body) ? mapping.body : [mapping.body];
  let body = '';
  for (const path of bodyFields) {
    body = readText(input, path, true);
    if (body !== '') break;
  }
  const message: Message = { body: { text: body } };
  const subject = mapping.subject === undefined ? '' : readText(input, mapping.subject, false);
  if (subject !== '') message.subject = { text: subject };
  const from = normaliseAddress(readString(input, mapping.from) ?? '');
  if (from !== '') message.from = from;
  for (const list of ['to', 'cc', 'bcc'] as const) {
    const addresses = splitAddresses(readString(input, mapping[list]) ?? '');
    if (addresses.length > 0) message[list] = addresses;
  }
  if (draft.timestamp !== undefined) message.sent_at = draft.timestamp;
  return { ok: true, draft: { ...draft, message } };
};

/** `properties`: label → field, typed by describe (see `properties.ts`); null values omit the property. */
export const mapProperties: CommentProcessor = (draft, input) => {
  const entries = Object.entries(input.object.comment.properties ?? {});
  if (entries.length === 0) return { ok: true, draft };
  const warnings: string[] = [];
  const described = input.describes(input.object.name) !== undefined;
  if (!described) warnings.push(`no describe for ${input.object.name}: properties typed by their values`);
  const properties: UserProperties = {};
  for (const [label, path] of entries) {
    const read = readPath(input.record, path);
    const field = fieldOf(input, path);
    if (described && field === undefined && read.kind === 'value') {
      warnings.push(`property "${label}": ${path} not found in describe; typed by its value`);
    }
    const rendered = renderProperty(label, path, read, field);
    if (rendered.warning) warnings.push(rendered.warning);
    if (rendered.kind === 'property') properties[rendered.key] = rendered.value;
  }
  if (Object.keys(properties).length === 0) return { ok: true, draft, warnings };
  return { ok: true, draft: { ...draft, user_properties: properties }, warnings };
};
