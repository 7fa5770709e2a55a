/**
 * The record → comment pipeline. Read top to bottom, it is the `processors:` list:
 *
 *   record ─ mapId ─ mapTimestamp ─ mapThread ─ mapMessage ─ mapProperties ─ applyLimits ─ comment
 *
 * (`COMMENT_PROCESSORS` in `to-comment.ts`), built from the pure helpers below it: reading field paths,
 * cleaning text, splitting addresses, formatting datetimes and typing properties.
 */
export { toComment, COMMENT_PROCESSORS } from './to-comment.ts';
export type { ToCommentOptions, ToCommentResult } from './to-comment.ts';
export { mapId, mapTimestamp, mapThread, mapMessage, mapProperties } from './processors.ts';
export type { CommentDraft, CommentProcessor, PipelineInput, StepResult } from './processors.ts';
export {
  applyLimits,
  commentIdProblem,
  DEFAULT_LIMITS,
  TRUNCATION_MARKER,
  PROPERTY_TRUNCATION_MARKER,
} from './limits.ts';
export type { CommentLimits } from './limits.ts';
export { contentHash, canonicalJson } from './content-hash.ts';
export { readPath, typesAlongPath, SalesforceRecordSchema } from './read-fields.ts';
export type { FieldRead, FieldScalar, SalesforceRecord } from './read-fields.ts';
export { cleanText, htmlToText, normaliseText, looksLikeHtml, isDeclaredHtml } from './clean-text.ts';
export { splitAddresses, normaliseAddress } from './addresses.ts';
export { toRfc3339, toIsoDate, parseSalesforceDateTime } from './datetimes.ts';
export { renderProperty, NUMBER_FIELD_TYPES } from './properties.ts';
export type { RenderedProperty, UserPropertyKey } from './properties.ts';
