/**
 * How SOQL compares, sorts and renders values, by field type.
 *
 * Every stored value and every literal is first normalised to a comparable primitive for its field's
 * comparison kind; after that `===` is equality and `<` is order. This keeps Salesforce's rules in
 * one place: strings compare case-insensitively, Ids on their first 15 characters (15- and 18-char
 * forms are the same record), datetimes as instants, and an empty string is null (Salesforce never
 * stores empty text).
 */
import type { FieldType, FieldValue } from '../contracts.ts';
import { STRING_ESCAPES } from './lexer.ts';

export type ComparisonKind = 'id' | 'text' | 'multipicklist' | 'boolean' | 'number' | 'date' | 'datetime';

/** A normalised value: null, or a primitive ordered by `<` within one comparison kind. */
export type Comparable = string | number | boolean | null;

export function comparisonKindOf(type: FieldType): ComparisonKind {
  switch (type) {
    case 'id':
    case 'reference':
      return 'id';
    case 'multipicklist':
      return 'multipicklist';
    case 'boolean':
      return 'boolean';
    case 'int':
    case 'double':
    case 'currency':
    case 'percent':
      return 'number';
    case 'date':
      return 'date';
    case 'datetime':
      return 'datetime';
    default:
      return 'text';
  }
}

export function normalize(kind: ComparisonKind, value: FieldValue | undefined): Comparable {
  if (value === null || value === undefined || value === '') return null;
  switch (kind) {
    case 'id':
      return String(value).slice(0, 15);
    case 'text':
      return String(value).toLowerCase();
    case 'multipicklist': {
      // Salesforce stores the selected values `;`-separated; equality ignores their order.
      const values = String(value)
        .split(';')
        .map((v) => v.trim().toLowerCase())
        .filter((v) => v !== '');
      return values.length === 0 ? null : values.sort().join(';');
    }
    case 'boolean':
      return value === true || value === 'true';
    case 'number': {
      const number = typeof value === 'number' ? value : Number(value);
      return Number.isNaN(number) ? null : number;
    }
    case 'date':
      return String(value).slice(0, 10);
    case 'datetime': {
      const epochMs = typeof value === 'number' ? value : Date.parse(String(value));
      return Number.isNaN(epochMs) ? null : epochMs;
    }
  }
}

/** Order of two non-null comparables of one kind: negative, zero or positive. */
export function compareComparables(a: Exclude<Comparable, null>, b: Exclude<Comparable, null>): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/**
 * A LIKE pattern as a case-insensitive RegExp. Built from the literal's raw text because `\%` and
 * `\_` (literal percent and underscore) decode to the same characters as the wildcards.
 */
export function likePatternToRegExp(raw: string): RegExp {
  let source = '^';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i] as string;
    if (ch === '\\') {
      source += escapeRegExp(STRING_ESCAPES[raw[i + 1] ?? ''] ?? '');
      i++;
    } else if (ch === '%') {
      source += '[\\s\\S]*';
    } else if (ch === '_') {
      source += '[\\s\\S]';
    } else {
      source += escapeRegExp(ch);
    }
  }
  return new RegExp(`${source}$`, 'i');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A stored value as the REST API returns it (docs/salesforce.md#query-and-queryall). */
export function renderValue(value: FieldValue | undefined, type: FieldType): FieldValue {
  if (value === undefined) return null;
  if (type === 'datetime' && typeof value === 'string') return renderDatetime(value);
  return value;
}

const STORED_DATETIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** `2024-05-20T20:49:32.000Z` → `2024-05-20T20:49:32.000+0000`: Salesforce puts no colon in the offset. */
export function renderDatetime(value: string): string {
  // What the store writes (toISOString): only the offset changes. Anything else goes through Date.
  if (value.length === 24 && STORED_DATETIME.test(value)) return `${value.slice(0, 23)}+0000`;
  const epochMs = Date.parse(value);
  if (Number.isNaN(epochMs)) return value;
  return new Date(epochMs).toISOString().replace(/Z$/, '+0000');
}
