/**
 * `user_properties` from the mapping's `properties` (README.md#mapping-rules;
 * docs/communications-mining.md#user-properties): numeric fields → `number:<label>`, everything else →
 * `string:<label>`; picklists as their labels, booleans as `"true"`/`"false"`, dates and datetimes as
 * ISO 8601, references as the Id. A null, empty or whitespace-only value omits the property: CM rejects
 * `""`, and a missing property reads as "none".
 */
import { picklistLabel } from '../salesforce/describe.ts';
import type { FieldDescribe } from '../salesforce/describe.ts';
import type { UserProperties } from '../model/comment.ts';
import { cleanText, isDeclaredHtml } from './clean-text.ts';
import { toIsoDate, toRfc3339 } from './datetimes.ts';
import type { FieldRead, FieldScalar } from './read-fields.ts';

/** Describe types sent as `number:` properties. `long` is the 64-bit integer type some objects report. */
export const NUMBER_FIELD_TYPES: ReadonlySet<string> = new Set(['int', 'double', 'currency', 'percent', 'long']);

export type UserPropertyKey = keyof UserProperties;

export type RenderedProperty =
  | { kind: 'property'; key: UserPropertyKey; value: string | number; warning?: string }
  | { kind: 'omitted'; warning?: string };

const omitted: RenderedProperty = { kind: 'omitted' };

/**
 * One property. `field` is the describe of the field the path ends at; without it (object not described,
 * field unknown) the value is typed by itself: JSON numbers are numeric fields in Salesforce, the rest strings.
 */
export function renderProperty(
  label: string,
  path: string,
  read: FieldRead,
  field: FieldDescribe | undefined,
): RenderedProperty {
  if (read.kind === 'null') return omitted;
  if (read.kind === 'structured')
    return { kind: 'omitted', warning: `property "${label}": ${path} is a compound field, not a value; not sent` };
  const value = read.value;
  const isNumber = field ? NUMBER_FIELD_TYPES.has(field.type) : typeof value === 'number';
  if (isNumber) return numberProperty(label, path, value);
  return stringProperty(label, stringValue(path, value, field));
}

function numberProperty(label: string, path: string, value: FieldScalar): RenderedProperty {
  // Salesforce sends numbers as JSON numbers; a numeric string (formula output) is accepted too.
  const number =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isFinite(number)) {
    return {
      kind: 'omitted',
      warning: `property "${label}": ${path} is not a finite number (${JSON.stringify(value)}); not sent`,
    };
  }
  // -0 and 0 are the same number; keep one rendering.
  return { kind: 'property', key: `number:${label}`, value: Object.is(number, -0) ? 0 : number };
}

function stringProperty(label: string, rendered: { text: string; warning?: string }): RenderedProperty {
  const text = rendered.text.trim();
  if (text === '') return rendered.warning ? { kind: 'omitted', warning: rendered.warning } : omitted;
  const property: RenderedProperty = { kind: 'property', key: `string:${label}`, value: text };
  if (rendered.warning) property.warning = rendered.warning;
  return property;
}

/** The text of a non-numeric value, by its describe type. */
function stringValue(
  path: string,
  value: FieldScalar,
  field: FieldDescribe | undefined,
): { text: string; warning?: string } {
  if (typeof value === 'boolean') return { text: String(value) };
  const raw = String(value);
  switch (field?.type) {
    case 'boolean':
      return { text: raw.trim().toLowerCase() };
    case 'picklist':
    case 'combobox':
      return { text: picklistLabel(field, raw) };
    case 'multipicklist':
      return {
        text: raw
          .split(';')
          .map((item) => item.trim())
          .filter((item) => item !== '')
          .map((item) => picklistLabel(field, item))
          .join('; '),
      };
    case 'date':
      return isoOr(raw, toIsoDate(raw), path, 'date');
    case 'datetime':
      return isoOr(raw, toRfc3339(raw), path, 'datetime');
    case 'id':
    case 'reference':
      return { text: raw.trim() };
    default:
      return { text: cleanText(raw, { declaredHtml: isDeclaredHtml(path, field) }) };
  }
}

function isoOr(raw: string, iso: string | undefined, path: string, kind: string): { text: string; warning?: string } {
  if (iso !== undefined) return { text: iso };
  return { text: raw, warning: `${path} is not a valid ${kind} (${JSON.stringify(raw)}); sent as it is` };
}
