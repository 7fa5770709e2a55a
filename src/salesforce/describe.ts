/**
 * The part of the REST describe response (`GET …/sobjects/<Object>/describe`,
 * docs/salesforce.md#describe) the bridge relies on: field types to type `user_properties`, picklist
 * labels, and the reference metadata that turns a relationship path (`Parent.CaseNumber`) into the
 * field it ends at.
 *
 * Only this subset is validated; every other key Salesforce sends is stripped, so a new describe
 * attribute can never break parsing. `type` stays an open string for the same reason: Salesforce adds
 * field types over time, and an unknown type is rendered as a string property, not rejected.
 */
import { z } from 'zod';

const PicklistValueSchema = z.object({
  value: z.string(),
  // Salesforce reports `label: null` for some standard values; the value is the fallback then.
  label: z.string().nullable(),
  active: z.boolean(),
});

const FieldDescribeSchema = z.object({
  name: z.string().min(1),
  label: z.string(),
  type: z.string().min(1),
  length: z.number().int().nonnegative().optional(),
  nillable: z.boolean().optional(),
  picklistValues: z.array(PicklistValueSchema).optional(),
  referenceTo: z.array(z.string()).optional(),
  relationshipName: z.string().nullable().optional(),
  /** `true` on rich text areas (their value is HTML). */
  htmlFormatted: z.boolean().optional(),
  /** `richtextarea` / `plaintextarea` on textareas. */
  extraTypeInfo: z.string().nullable().optional(),
});

export const ObjectDescribeSchema = z.object({
  name: z.string().min(1),
  label: z.string(),
  fields: z.array(FieldDescribeSchema),
});

export type PicklistValue = z.output<typeof PicklistValueSchema>;
export type FieldDescribe = z.output<typeof FieldDescribeSchema>;
export type ObjectDescribe = z.output<typeof ObjectDescribeSchema>;

/** Describe metadata by object API name; undefined when the object is unknown (or not yet described). */
export type DescribeLookup = (objectName: string) => ObjectDescribe | undefined;

export class DescribeParseError extends Error {
  override readonly name = 'DescribeParseError';
}

/** Validates a describe response body. Throws `DescribeParseError` naming the first bad paths. */
export function parseDescribe(json: unknown): ObjectDescribe {
  const parsed = ObjectDescribeSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new DescribeParseError(`not a Salesforce describe response: ${problems.join('; ')}`);
}

/** A lookup over already-parsed describes, by exact API name, then case-insensitively (as the API resolves names). */
export function describeLookupOf(describes: Iterable<ObjectDescribe>): DescribeLookup {
  const byName = new Map<string, ObjectDescribe>();
  for (const describe of describes) byName.set(describe.name.toLowerCase(), describe);
  return (objectName) => byName.get(objectName.toLowerCase());
}

/** Field names are case-insensitive in SOQL; index each describe once. */
const fieldIndexes = new WeakMap<
  ObjectDescribe,
  {
    /** By the describe's own spelling: what configs use, found without lower-casing on every record. */
    byExactName: Map<string, FieldDescribe>;
    byName: Map<string, FieldDescribe>;
    byRelationship: Map<string, FieldDescribe>;
  }
>();

function indexOf(describe: ObjectDescribe) {
  let index = fieldIndexes.get(describe);
  if (!index) {
    index = { byExactName: new Map(), byName: new Map(), byRelationship: new Map() };
    for (const field of describe.fields) {
      index.byExactName.set(field.name, field);
      index.byName.set(field.name.toLowerCase(), field);
      if (field.relationshipName) index.byRelationship.set(field.relationshipName.toLowerCase(), field);
    }
    fieldIndexes.set(describe, index);
  }
  return index;
}

/** The field called `fieldName` (case-insensitive), or undefined. */
export function findField(describe: ObjectDescribe, fieldName: string): FieldDescribe | undefined {
  const index = indexOf(describe);
  return index.byExactName.get(fieldName) ?? index.byName.get(fieldName.toLowerCase());
}

/** The reference field whose relationship name is `relationshipName` (`Parent` → `ParentId`, `Case__r` → `Case__c`). */
export function findRelationship(describe: ObjectDescribe, relationshipName: string): FieldDescribe | undefined {
  return indexOf(describe).byRelationship.get(relationshipName.toLowerCase());
}

export interface ResolvedField {
  /** The object the last segment belongs to (`Case` for `EmailMessage` → `Parent.CaseNumber`). */
  object: ObjectDescribe;
  field: FieldDescribe;
}

/**
 * Resolves a field path from `rootObject` to the describe of the field it ends at:
 * `Subject` → EmailMessage.Subject, `Parent.Priority` → Case.Priority, `Complaint__r.Amount__c` → Complaint__c.Amount__c.
 *
 * Polymorphic relationships (`RelatedTo`, `Owner`, `What`) point at several objects; which one a record
 * holds is only known from the record itself, so `typesAlongPath[i]` may give the `attributes.type` of
 * the object reached after `i` hops (index 0 is the root). Without it, a polymorphic hop resolves only
 * when it has a single target the lookup knows.
 *
 * Returns undefined when any hop or the field is unknown: the caller then types the value by itself.
 */
export function resolveFieldPath(
  rootObject: string,
  path: string,
  describes: DescribeLookup,
  typesAlongPath: readonly (string | undefined)[] = [],
): ResolvedField | undefined {
  let object = describes(rootObject);
  if (!path.includes('.')) {
    // The root's own field (most mapped fields): no hop, no split, on every record.
    const field = object && path !== '' ? findField(object, path) : undefined;
    return object && field ? { object, field } : undefined;
  }
  const segments = path.split('.');
  const fieldName = segments.pop();
  if (fieldName === undefined || fieldName === '') return undefined;
  for (const [hop, relationshipName] of segments.entries()) {
    if (!object) return undefined;
    const reference = findRelationship(object, relationshipName);
    if (!reference) return undefined;
    object = targetOf(reference, describes, typesAlongPath[hop + 1]);
  }
  if (!object) return undefined;
  const field = findField(object, fieldName);
  return field ? { object, field } : undefined;
}

function targetOf(
  reference: FieldDescribe,
  describes: DescribeLookup,
  recordType: string | undefined,
): ObjectDescribe | undefined {
  const targets = reference.referenceTo ?? [];
  if (recordType !== undefined) {
    // Trust the record only for an object the reference can point to.
    const match = targets.find((target) => target.toLowerCase() === recordType.toLowerCase());
    return match === undefined ? undefined : describes(match);
  }
  const known = targets.map((target) => describes(target)).filter((d): d is ObjectDescribe => d !== undefined);
  return targets.length === 1 && known.length === 1 ? known[0] : undefined;
}

/** A picklist value's label; the value itself when describe does not list it (deactivated, or a restricted picklist edit). */
export function picklistLabel(field: FieldDescribe, value: string): string {
  const entry = field.picklistValues?.find((candidate) => candidate.value === value);
  return entry?.label ?? value;
}
