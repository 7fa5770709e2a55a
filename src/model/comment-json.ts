/**
 * The one JSON form of a comment: object keys sorted at every level. The content hash (skip pushes
 * that would change nothing) and the `/sync` body are both made from it, so a comment is serialized
 * once, and Communications Mining receives exactly the bytes the hash covers.
 */
import type { Comment } from './comment.ts';

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

const jsonOf = new WeakMap<Comment, string>();

/** A comment's canonical JSON, made once per comment (comments are never changed once built). */
export function commentJson(comment: Comment): string {
  let json = jsonOf.get(comment);
  if (json === undefined) jsonOf.set(comment, (json = canonicalJson(comment)));
  return json;
}
