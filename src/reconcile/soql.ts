/**
 * The SOQL reconciliation and backfill send (docs/salesforce.md#query-and-queryall,
 * #systemmodstamp-watermarks): datetime literals, the "changed since" condition (own and parents'
 * SystemModstamp) and the tie-safe keyset cursor.
 */
import type { ObjectConfig } from '../config/index.ts';
import { soqlString } from '../salesforce/rest-client.ts';

/**
 * A SOQL datetime literal: unquoted, UTC, no fractional seconds (the documented format,
 * docs/salesforce.md#systemmodstamp-watermarks). Truncating down keeps `>=` inclusive: a record stamped
 * at 12:00:00.000 still matches 12:00:00Z.
 */
export function soqlDateTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The relationships a mapping reads through (`Parent.CaseNumber` → `Parent`; `Parent.Account.Name`
 * → `Parent`, `Parent.Account`): a change of any of those parents changes the child's comment
 * without touching the child, so reconciliation asks for them too.
 */
export function relationshipPaths(object: Pick<ObjectConfig, 'fields'>): string[] {
  const paths = new Set<string>();
  for (const field of object.fields) {
    const steps = field.split('.');
    for (let length = 1; length < steps.length; length++) paths.add(steps.slice(0, length).join('.'));
  }
  return [...paths];
}

/** `(SystemModstamp >= X OR Parent.SystemModstamp >= X …)`: the record or one of its mapped parents changed. */
export function changedSince(sinceMs: number, relationships: readonly string[]): string {
  const literal = soqlDateTime(sinceMs);
  const terms = ['SystemModstamp', ...relationships.map((path) => `${path}.SystemModstamp`)].map(
    (field) => `${field} >= ${literal}`,
  );
  return terms.length === 1 ? (terms[0] as string) : `(${terms.join(' OR ')})`;
}

/** A position in `ORDER BY SystemModstamp, Id`: the last row already handled. */
export interface KeysetCursor {
  /** SystemModstamp (ms) of the last row. */
  stamp: number;
  id: string;
}

/**
 * Rows strictly after `cursor` in `SystemModstamp, Id` order. Ties on SystemModstamp (1 s resolution,
 * thousands of rows per second in a bulk load) are never skipped: the Id breaks them.
 */
export function afterCursor(cursor: KeysetCursor): string {
  const stamp = soqlDateTime(cursor.stamp);
  return `(SystemModstamp > ${stamp} OR (SystemModstamp = ${stamp} AND Id > ${soqlString(cursor.id)}))`;
}

/** `a AND b AND …` with every operand parenthesised (SOQL rejects mixed AND/OR without parentheses). */
export function allOf(conditions: ReadonlyArray<string | undefined>): string | undefined {
  const present = conditions.filter((c): c is string => c !== undefined && c.trim() !== '');
  if (present.length === 0) return undefined;
  return present.map((c) => (present.length === 1 ? c : `(${c})`)).join(' AND ');
}
