/**
 * Bulk API 2.0 result rows as the records a REST query would have returned
 * (docs/salesforce.md#bulk-rows-as-records), so that a backfill can carry each record to the worker
 * and the worker needs no fetch.
 *
 * A CSV row loses what JSON says: null and empty text are one (both empty), numbers and booleans are
 * text, relationships are flat `Parent.CaseNumber` columns and no object says its type. The columns
 * are typed from the describes, so the record built here renders the same comment as the REST record
 * of the same state (the content hash is then equal, and a later reconciliation pushes nothing).
 * Paths that cannot be typed that way are refused, and the backfill then queues ids only:
 * - a compound field (address, location) or a base64 field: Bulk API 2.0 cannot select them;
 * - a polymorphic hop (`What.Name`): which object a row points at is only in the REST record's
 *   `attributes.type`, and the property's type may depend on it.
 */
import { findField, findRelationship, type DescribeLookup, type ObjectDescribe } from '../describe.ts';
import type { QueryRecord } from '../rest-client.ts';

/** Field types a Bulk API 2.0 query cannot select. */
const UNSELECTABLE_TYPES: ReadonlySet<string> = new Set(['address', 'location', 'base64']);
/** Field types whose CSV text is a JSON number in a REST record. */
const NUMERIC_TYPES: ReadonlySet<string> = new Set(['int', 'double', 'currency', 'percent', 'long']);

/** How one column becomes part of the record. */
interface Column {
  /** Relationship names down to the field, then the field's API name. */
  segments: string[];
  /** The object each relationship on the way points at (for `attributes.type`). */
  hopTypes: string[];
  /** How the text becomes a value. */
  kind: 'text' | 'number' | 'boolean';
}

export type BulkRecordPlan = { ok: true; columns: string[] } | { ok: false; reason: string };

/**
 * The columns to select for `paths` (plus `Id` and `SystemModstamp`), or why records cannot be
 * carried for this object. The SELECT list is the paths as configured: the CSV header repeats it.
 */
export function bulkRecordPlan(
  objectName: string,
  paths: readonly string[],
  describes: DescribeLookup,
): BulkRecordPlan {
  const seen = new Set<string>();
  const columns: string[] = [];
  for (const path of ['Id', 'SystemModstamp', ...paths]) {
    if (seen.has(path.toLowerCase())) continue;
    const resolved = resolveColumn(objectName, path, describes);
    if ('reason' in resolved) return { ok: false, reason: resolved.reason };
    seen.add(path.toLowerCase());
    columns.push(path);
  }
  return { ok: true, columns };
}

/** A converter from rows under `header` to records, or undefined when a header column cannot be typed. */
export function bulkRowReader(
  objectName: string,
  header: readonly string[],
  describes: DescribeLookup,
): ((row: readonly string[]) => QueryRecord) | undefined {
  const columns: Column[] = [];
  for (const name of header) {
    const resolved = resolveColumn(objectName, name, describes);
    if ('reason' in resolved) return undefined;
    columns.push(resolved);
  }
  return (row) => {
    const record: QueryRecord = { attributes: { type: objectName } };
    for (const [index, column] of columns.entries()) place(record, column, row[index] ?? '');
    return pruneEmptyRelationships(record);
  };
}

function resolveColumn(objectName: string, path: string, describes: DescribeLookup): Column | { reason: string } {
  const segments = path.split('.');
  const fieldName = segments.at(-1) ?? '';
  let object: ObjectDescribe | undefined = describes(objectName);
  if (!object) return { reason: `${objectName} is not described` };
  const hopTypes: string[] = [];
  for (const relationship of segments.slice(0, -1)) {
    const reference = findRelationship(object, relationship);
    const targets = reference?.referenceTo ?? [];
    if (!reference || targets.length === 0) return { reason: `${path}: ${relationship} is not a relationship` };
    if (targets.length > 1) return { reason: `${path}: ${relationship} is polymorphic` };
    const target = targets[0] as string;
    object = describes(target);
    if (!object) return { reason: `${path}: ${target} is not described` };
    hopTypes.push(object.name);
  }
  const field = findField(object, fieldName);
  if (!field) return { reason: `${path}: no field ${fieldName} on ${object.name}` };
  if (UNSELECTABLE_TYPES.has(field.type))
    return { reason: `${path} is a ${field.type} field, which Bulk API 2.0 cannot select` };
  const kind = NUMERIC_TYPES.has(field.type) ? 'number' : field.type === 'boolean' ? 'boolean' : 'text';
  return { segments: [...segments.slice(0, -1), field.name], hopTypes, kind };
}

function place(record: QueryRecord, column: Column, text: string): void {
  let target = record;
  for (const [hop, relationship] of column.segments.slice(0, -1).entries()) {
    let next = target[relationship] as QueryRecord | undefined;
    if (!next) target[relationship] = next = { attributes: { type: column.hopTypes[hop] } };
    target = next;
  }
  target[column.segments.at(-1) as string] = valueOf(text, column.kind);
}

function valueOf(text: string, kind: Column['kind']): string | number | boolean | null {
  if (text === '') return null;
  if (kind === 'boolean') return text === 'true';
  if (kind === 'number') {
    const number = Number(text);
    return Number.isFinite(number) ? number : text;
  }
  return text;
}

/** A relationship whose columns are all empty is a null lookup: REST answers `Parent: null`. */
function pruneEmptyRelationships(record: QueryRecord): QueryRecord {
  for (const [key, value] of Object.entries(record)) {
    if (key === 'attributes' || value === null || typeof value !== 'object') continue;
    const nested = pruneEmptyRelationships(value as QueryRecord);
    const filled = Object.entries(nested).some(([name, inner]) => name !== 'attributes' && inner !== null);
    record[key] = filled ? nested : null;
  }
  return record;
}
