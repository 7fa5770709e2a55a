/**
 * A fingerprint of a comment's rendered content, to skip pushes that would change nothing (and cost a
 * request). Keys are sorted at every level, so the hash depends on the content only, never on the
 * order in which the comment's keys were set.
 */
import { createHash } from 'node:crypto';
import type { Comment } from '../model/comment.ts';

/** JSON with object keys sorted (UTF-16 code unit order); `undefined` members are left out, as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return value === undefined ? 'null' : JSON.stringify(value);
  if (Array.isArray(value))
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const members = Object.keys(value)
    .sort()
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${members.join(',')}}`;
}

/** sha256 (hex) of the comment's canonical JSON. */
export function contentHash(comment: Comment): string {
  return createHash('sha256').update(canonicalJson(comment), 'utf8').digest('hex');
}
