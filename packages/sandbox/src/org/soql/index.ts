/**
 * The SOQL subset of the simulated Salesforce org: what the REST `query` and `queryAll` resources run
 * (docs/salesforce.md#query-and-queryall, #systemmodstamp-watermarks). Errors are SoqlError with
 * Salesforce's errorCode and message (docs/salesforce.md#rest-errors); the REST layer wraps them as
 * `[{"message": …, "errorCode": …}]`.
 */
import type { RecordSource } from '../contracts.ts';
import { evaluatePlan, type SoqlResult } from './evaluate.ts';
import { parseSoql } from './parser.ts';
import { resolveQuery } from './resolve.ts';

export { SoqlError, type SoqlErrorCode } from './errors.ts';
export type { QueryRecord, SoqlResult } from './evaluate.ts';

/**
 * Parse, check against metadata, and run one SOQL query.
 * `includeDeleted`: queryAll (soft-deleted rows too). `apiVersion`: `62.0`, used in `attributes.url`.
 */
export function executeSoql(
  soql: string,
  source: RecordSource,
  opts: { includeDeleted: boolean; apiVersion: string },
): SoqlResult {
  const query = parseSoql(soql);
  const plan = resolveQuery(query, source, soql);
  return evaluatePlan(plan, source, opts);
}
