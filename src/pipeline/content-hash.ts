/**
 * A fingerprint of a comment's rendered content, to skip pushes that would change nothing (and cost a
 * request). It hashes the comment's canonical JSON (keys sorted at every level), so the hash depends
 * on the content only, never on the order in which the comment's keys were set; that same JSON is
 * what the `/sync` body carries (model/comment-json.ts).
 */
import crypto from 'node:crypto';
import type { Comment } from '../model/comment.ts';
import { commentJson } from '../model/comment-json.ts';

export { canonicalJson } from '../model/comment-json.ts';

/** sha256 (hex) of the comment's canonical JSON. */
export function contentHash(comment: Comment): string {
  return sha256Hex(commentJson(comment));
}

/** One-shot `crypto.hash` where Node has it (20.12+): no Hash object per call. */
const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');
