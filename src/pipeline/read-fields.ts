/**
 * Reading mapped field paths out of a Salesforce record (docs/salesforce.md#query-and-queryall):
 * top-level fields, nested relationship objects (`Parent.CaseNumber` reads `record.Parent.CaseNumber`),
 * and `null` anywhere along the way (a relationship with no parent comes back as `Parent: null`).
 */
import { z } from 'zod';

/** A record as the REST API returns it: JSON, with `attributes.type` on the record and on every nested relationship. */
export const SalesforceRecordSchema = z.record(z.string(), z.json());
export type SalesforceRecord = z.output<typeof SalesforceRecordSchema>;

/** What a leaf field can hold. Compound fields (address, location) are objects and are not scalars. */
export type FieldScalar = string | number | boolean;

export type FieldRead =
  /** The path reaches a scalar. */
  | { kind: 'value'; value: FieldScalar }
  /** The field, or a relationship on the way, is null; or the record does not carry the field at all. */
  | { kind: 'null' }
  /** The path reaches an object or array (e.g. an `address` compound field): not something a comment can show. */
  | { kind: 'structured' };

type Json = z.output<ReturnType<typeof z.json>>;
type JsonObject = { [key: string]: Json };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A key of `object`, exactly or else case-insensitively: SOQL names are case-insensitive and the API
 * answers with the describe's spelling, which may differ from the config's (`parentid` vs `ParentId`).
 */
function member(object: JsonObject, key: string): Json | undefined {
  if (Object.hasOwn(object, key)) return object[key];
  const wanted = key.toLowerCase();
  for (const candidate of Object.keys(object).sort()) {
    if (candidate !== 'attributes' && candidate.toLowerCase() === wanted) return object[candidate];
  }
  return undefined;
}

const NULL_READ: FieldRead = Object.freeze({ kind: 'null' });
const STRUCTURED_READ: FieldRead = Object.freeze({ kind: 'structured' });

/** The value at a field path. Missing and null read the same: both mean "nothing to send". */
export function readPath(record: SalesforceRecord, path: string): FieldRead {
  let current: Json | undefined;
  // Most mapped fields are the record's own: read them without splitting the path (every field, every record).
  if (!path.includes('.')) current = member(record, path);
  else {
    current = record;
    for (const segment of path.split('.')) {
      if (!isObject(current)) return NULL_READ;
      current = member(current, segment);
    }
  }
  if (current === undefined || current === null) return NULL_READ;
  if (typeof current === 'object') return STRUCTURED_READ;
  return { kind: 'value', value: current };
}

/**
 * `attributes.type` of each object a path passes through, root first: for `RelatedTo.Name` on an
 * EmailMessage, `['EmailMessage', 'Case']`. Polymorphic relationships are typed from this.
 */
export function typesAlongPath(record: SalesforceRecord, path: string): (string | undefined)[] {
  if (!path.includes('.')) return [attributesType(record)];
  const types: (string | undefined)[] = [];
  let current: Json | undefined = record;
  for (const segment of path.split('.')) {
    if (!isObject(current)) break;
    types.push(attributesType(current));
    current = member(current, segment);
  }
  return types;
}

function attributesType(object: JsonObject): string | undefined {
  const attributes = object['attributes'];
  if (!isObject(attributes)) return undefined;
  const type = attributes['type'];
  return typeof type === 'string' ? type : undefined;
}
