/**
 * Pure batch planning for `/sync` and delete calls: de-duplication by id and bounds by count and by
 * serialized bytes. No I/O, so it is tested table-driven.
 */
import type { Comment } from '../model/comment.ts';
import { commentJson } from '../model/comment-json.ts';

export interface SyncBatchLimits {
  /**
   * Comments per `/sync` request. The API allows 16 384 and larger batches are faster per comment
   * (docs/communications-mining.md#sync-request); the CLI uses 128
   * (#batching-and-retries-in-the-official-cli). The count is a bridge choice with a byte cap beside it
   * (#errors-retries-and-timeouts, #pitfall-10-the-batch-maximum-is-not-a-good-batch-size). 500 keeps
   * CM requests ≤ 2 per 1000 comments; the byte cap bounds slow, huge requests, and a 422 is bisected
   * in ≤ 9 extra requests.
   * @defaultValue 500
   */
  maxComments: number;
  /**
   * Serialized request body, in bytes. No limit is documented; 5 MiB is a bridge choice
   * (docs/communications-mining.md#errors-retries-and-timeouts);
   * proxies in front of CM commonly cap bodies, and 5 MiB of text is far above what 500 typical
   * emails weigh, so this only bites for unusually large comments.
   * @defaultValue 5 MiB
   */
  maxBytes: number;
}

export const DEFAULT_SYNC_BATCH_LIMITS: Readonly<SyncBatchLimits> = Object.freeze({
  maxComments: 500,
  maxBytes: 5 * 1024 * 1024,
});

/** `{"comments":[` + `]}`: what a `/sync` body weighs around its comments. */
const SYNC_ENVELOPE_BYTES = Buffer.byteLength(JSON.stringify({ comments: [] }));

/** The UTF-8 size of one comment as the `/sync` body carries it: its canonical JSON (model/comment-json.ts), made once. */
export function serializedBytes(comment: Comment): number {
  return Buffer.byteLength(commentJson(comment));
}

/** The `/sync` body, `{"comments":[…]}`, from the comments' JSON already made. */
export function syncBody(comments: readonly Comment[]): string {
  return `{"comments":[${comments.map(commentJson).join(',')}]}`;
}

/** The exact UTF-8 size of the `/sync` body for these comments. */
export function syncBodyBytes(comments: readonly Comment[]): number {
  const separators = Math.max(0, comments.length - 1);
  return comments.reduce((sum, comment) => sum + serializedBytes(comment), SYNC_ENVELOPE_BYTES + separators);
}

/**
 * One comment per id, the last version given winning (later input is newer), at the position of that
 * last version. The duplicate behaviour of `/sync` is undocumented and the CLI refuses duplicates
 * (docs/communications-mining.md#upsert-semantics-annotations-and-billing), so they never reach CM.
 */
export function lastVersionPerId(comments: readonly Comment[]): { comments: Comment[]; dropped: number } {
  const lastIndexOf = new Map<string, number>();
  comments.forEach((comment, index) => lastIndexOf.set(comment.id, index));
  const unique = comments.filter((comment, index) => lastIndexOf.get(comment.id) === index);
  return { comments: unique, dropped: comments.length - unique.length };
}

/**
 * Consecutive batches, each within both limits. A comment that alone exceeds `maxBytes` travels
 * alone: CM decides, and if it refuses, that one comment is rejected rather than the batch.
 */
export function planSyncBatches(comments: readonly Comment[], limits: SyncBatchLimits): Comment[][] {
  assertPositiveInteger('maxComments', limits.maxComments);
  assertPositiveInteger('maxBytes', limits.maxBytes);
  const batches: Comment[][] = [];
  let current: Comment[] = [];
  let currentBytes = SYNC_ENVELOPE_BYTES;
  for (const comment of comments) {
    const bytes = serializedBytes(comment);
    const added = current.length === 0 ? bytes : bytes + 1; // + the comma
    if (current.length > 0 && (current.length >= limits.maxComments || currentBytes + added > limits.maxBytes)) {
      batches.push(current);
      current = [];
      currentBytes = SYNC_ENVELOPE_BYTES;
    }
    currentBytes += current.length === 0 ? bytes : bytes + 1;
    current.push(comment);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** `items` in consecutive slices of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  assertPositiveInteger('size', size);
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}
