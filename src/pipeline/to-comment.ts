/**
 * Record → Communications Mining comment: the processors below, run in order, then CM's limits. Pure
 * and deterministic: the same record, mapping and describes always give a byte-identical comment (CM
 * bills text changes, docs/communications-mining.md#upsert-semantics-annotations-and-billing). Never
 * throws: a record that cannot become a comment gets a reason, for the caller to dead-letter.
 */
import type { ObjectConfig } from '../config/types.ts';
import type { DescribeLookup } from '../salesforce/describe.ts';
import type { Comment } from '../model/comment.ts';
import { applyLimits, DEFAULT_LIMITS } from './limits.ts';
import type { CommentLimits } from './limits.ts';
import { mapId, mapMessage, mapProperties, mapThread, mapTimestamp } from './processors.ts';
import type { CommentDraft, CommentProcessor, PipelineInput } from './processors.ts';
import type { SalesforceRecord } from './read-fields.ts';

/** The pipeline, in order. `mapMessage` needs the timestamp (`sent_at`), so it comes after `mapTimestamp`. */
export const COMMENT_PROCESSORS: readonly CommentProcessor[] = [
  mapId,
  mapTimestamp,
  mapThread,
  mapMessage,
  mapProperties,
];

export type ToCommentResult = { ok: true; comment: Comment; warnings: string[] } | { ok: false; reason: string };

export interface ToCommentOptions {
  /** Overrides of CM's limits (e.g. a smaller property value cap). */
  limits?: Partial<CommentLimits>;
}

export function toComment(
  record: unknown,
  object: Pick<ObjectConfig, 'name' | 'comment'>,
  describes: DescribeLookup,
  options: ToCommentOptions = {},
): ToCommentResult {
  try {
    // Records come from JSON (the REST client validated the page's shape): an object check is enough
    // here, on the hot path; every field read below copes with any JSON value.
    if (record === null || typeof record !== 'object' || Array.isArray(record))
      return { ok: false, reason: 'not a Salesforce record: expected a JSON object' };
    const limits: CommentLimits = { ...DEFAULT_LIMITS, ...options.limits };
    const input: PipelineInput = { record: record as SalesforceRecord, object, describes, limits };
    let draft: CommentDraft = {};
    const warnings: string[] = [];
    for (const process of COMMENT_PROCESSORS) {
      const step = process(draft, input);
      if (!step.ok) return step;
      draft = step.draft;
      if (step.warnings) warnings.push(...step.warnings);
    }
    const assembled = assemble(draft);
    if (typeof assembled === 'string') return { ok: false, reason: assembled };
    const limited = applyLimits(assembled, limits);
    return { ok: true, comment: limited.comment, warnings: [...warnings, ...limited.warnings] };
  } catch (error) {
    // A bug, not a bad record; still a reason rather than a crashed worker.
    return {
      ok: false,
      reason: `could not render the comment: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/** The finished comment, keys in one fixed order; or what is missing (a processor list without a step). */
function assemble(draft: CommentDraft): Comment | string {
  const { id, timestamp, thread_id, message, user_properties } = draft;
  if (id === undefined || timestamp === undefined || message === undefined)
    return 'incomplete comment: id, timestamp and message are required';
  return {
    id,
    timestamp,
    ...(thread_id !== undefined && { thread_id }),
    messages: [message],
    ...(user_properties !== undefined && { user_properties }),
  };
}
