/**
 * The SOQL field list of an object, derived from its mapping and its `where` condition, so engineers
 * never list fields twice. Always includes what the pipeline itself needs: `Id`, `SystemModstamp`
 * (record version and reconciliation watermark) and `CreatedDate` (timestamp fallback).
 */
import type { CommentMapping } from './schema.ts';

const ALWAYS = ['Id', 'SystemModstamp', 'CreatedDate'];

/** SOQL words that can appear in a condition without being a field. */
const SOQL_WORDS = new Set([
  'and',
  'or',
  'not',
  'in',
  'like',
  'null',
  'true',
  'false',
  'includes',
  'excludes',
  'yesterday',
  'today',
  'tomorrow',
  'last_week',
  'this_week',
  'next_week',
  'last_month',
  'this_month',
  'next_month',
  'last_90_days',
  'next_90_days',
  'this_quarter',
  'last_quarter',
  'next_quarter',
  'this_year',
  'last_year',
  'next_year',
  'last_n_days',
  'next_n_days',
]);

/** Field paths named in a SOQL condition: identifiers outside string literals that are not SOQL words or literals. */
export function fieldsOfCondition(condition: string): string[] {
  const withoutStrings = condition.replace(/'(?:\\.|[^'\\])*'/g, "''");
  const withoutDatetimes = withoutStrings.replace(/\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?/g, '0');
  const fields: string[] = [];
  for (const match of withoutDatetimes.matchAll(/[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?::\d+)?/g)) {
    const word = match[0].replace(/:\d+$/, '');
    if (!SOQL_WORDS.has(word.toLowerCase())) fields.push(word);
  }
  return fields;
}

/** Field paths a mapping reads, in mapping order. */
export function fieldsOfMapping(mapping: CommentMapping): string[] {
  const body = Array.isArray(mapping.body) ? mapping.body : [mapping.body];
  const single = [
    mapping.id,
    mapping.timestamp,
    mapping.thread,
    mapping.subject,
    ...body,
    mapping.from,
    mapping.to,
    mapping.cc,
    mapping.bcc,
  ];
  return [...single.filter((f): f is string => f !== undefined), ...Object.values(mapping.properties ?? {})];
}

/** The de-duplicated (case-insensitively, as SOQL is) field list to SELECT for an object. */
export function deriveFieldList(mapping: CommentMapping, where: string | undefined): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const field of [...ALWAYS, ...fieldsOfMapping(mapping), ...(where ? fieldsOfCondition(where) : [])]) {
    const key = field.toLowerCase();
    if (!seen.has(key)) {
      seen.add(key);
      out.push(field);
    }
  }
  return out;
}
