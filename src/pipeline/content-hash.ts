/**
 * A fingerprint of a comment's rendered content, to skip pushes that would change nothing (and cost a
 * request). Keys are sorted at every level, so the hash depends on the content only, never on the
 * order in which the comment's keys were set.
 */
import crypto from 'node:crypto';
import type { Comment } from '../model/comment.ts';

/** JSON with object keys sorted (UTF-16 code unit order); `undefined` members are left out, as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return value === undefined ? 'null' : JSON.stringify(value);
  // Plain loops and concatenation: this runs for every comment a worker converts.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      out += (i > 0 ? ',' : '') + (item === undefined ? 'null' : canonicalJson(item));
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
    first = false;
  }
  return `${out}}`;
}

/** sha256 (hex) of the comment's canonical JSON. */
export function contentHash(comment: Comment): string {
  return sha256Hex(canonicalJson(comment));
}

/** One-shot `crypto.hash` where Node has it (20.12+): no Hash object per call. */
const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');
