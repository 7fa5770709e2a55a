/**
 * Reading large result sets in bounded slices. Each slice is one SOQL query `ORDER BY SystemModstamp,
 * Id LIMIT n` that starts strictly after the previous slice's last row (keyset paging); inside a
 * slice the rest client follows `nextRecordsUrl`. Why keyset rather than one long cursor:
 * - the position is two values that can be checkpointed (a backfill resumes after a crash);
 * - an expired query locator (INVALID_QUERY_LOCATOR, docs/salesforce.md#query-and-queryall) costs one
 *   slice, not the whole scan;
 * - memory stays bounded by the slice, whatever the object's size.
 */
import { parseSalesforceDateTime } from '../pipeline/index.ts';
import {
  SalesforceApiError,
  soqlString,
  type QueryRecord,
  type QueryResult,
  type SalesforceRestClient,
} from '../salesforce/rest-client.ts';
import { afterCursor, allOf, type KeysetCursor } from './soql.ts';

/** Rows per keyset slice: five full query pages. */
export const DEFAULT_ROWS_PER_QUERY = 10_000;
/** Attempts at one slice whose locator expired mid-way. */
const LOCATOR_ATTEMPTS = 3;

export interface ScannedRow {
  id: string;
  /** The record's own SystemModstamp (ms): its position in the scan and its version. */
  stamp: number;
  /** The newest of its own and its mapped parents' SystemModstamp (ms). */
  changedAt: number;
  /** Salesforce's clock when the row was read (`Date` of the response, ms), when it said. */
  readAt: number | undefined;
}

export interface ModstampScan {
  object: string;
  /** Condition the rows must meet (already parenthesised where needed). */
  where?: string | undefined;
  /** Relationship paths whose SystemModstamp is read too (`Parent`). */
  relationships?: readonly string[];
  /** queryAll: include soft-deleted rows (docs/salesforce.md#query-and-queryall). */
  all?: boolean;
  /** Start strictly after this row. */
  after?: KeysetCursor | undefined;
  /** @defaultValue DEFAULT_ROWS_PER_QUERY */
  rowsPerQuery?: number;
  signal?: AbortSignal | undefined;
}

/** Every matching row in `SystemModstamp, Id` order, one slice at a time. */
export async function* scanByModstamp(rest: SalesforceRestClient, scan: ModstampScan): AsyncGenerator<ScannedRow[]> {
  const relationships = scan.relationships ?? [];
  const limit = scan.rowsPerQuery ?? DEFAULT_ROWS_PER_QUERY;
  const select = ['Id', 'SystemModstamp', ...relationships.map((path) => `${path}.SystemModstamp`)].join(', ');
  let cursor = scan.after;
  for (;;) {
    scan.signal?.throwIfAborted();
    const where = allOf([scan.where, cursor ? afterCursor(cursor) : undefined]);
    const soql = `SELECT ${select} FROM ${scan.object}${where ? ` WHERE ${where}` : ''} ORDER BY SystemModstamp, Id LIMIT ${limit}`;
    const { records, serverTime } = await queryRetryingLocator(rest, soql, scan.all === true);
    const rows = records.map((record) => toRow(record, relationships, serverTime));
    if (rows.length > 0) yield rows;
    const last = rows.at(-1);
    if (!last || rows.length < limit) return;
    cursor = { stamp: last.stamp, id: last.id };
  }
}

/** Every Id matching `where`, in Id order, one slice at a time (the id sweep). */
export async function* scanIds(
  rest: SalesforceRestClient,
  scan: { object: string; where?: string | undefined; rowsPerQuery?: number; signal?: AbortSignal | undefined },
): AsyncGenerator<string[]> {
  const limit = scan.rowsPerQuery ?? DEFAULT_ROWS_PER_QUERY;
  let after: string | undefined;
  for (;;) {
    scan.signal?.throwIfAborted();
    const where = allOf([scan.where, after ? `Id > ${soqlString(after)}` : undefined]);
    const soql = `SELECT Id FROM ${scan.object}${where ? ` WHERE ${where}` : ''} ORDER BY Id LIMIT ${limit}`;
    const ids = (await queryRetryingLocator(rest, soql, false)).records.map((record) => String(record.Id));
    if (ids.length > 0) yield ids;
    after = ids.at(-1);
    if (after === undefined || ids.length < limit) return;
  }
}

async function queryRetryingLocator(rest: SalesforceRestClient, soql: string, all: boolean): Promise<QueryResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await rest.query(soql, { all });
    } catch (error) {
      // The slice is re-run from its own start: nothing before it is lost, nothing after it was read.
      if (
        error instanceof SalesforceApiError &&
        error.errorCode === 'INVALID_QUERY_LOCATOR' &&
        attempt < LOCATOR_ATTEMPTS
      )
        continue;
      throw error;
    }
  }
}

function toRow(record: QueryRecord, relationships: readonly string[], readAt: number | undefined): ScannedRow {
  const stamp =
    (typeof record.SystemModstamp === 'string' ? parseSalesforceDateTime(record.SystemModstamp) : undefined) ?? 0;
  let changedAt = stamp;
  for (const path of relationships) {
    const parentStamp = readPath(record, `${path}.SystemModstamp`);
    const ms = typeof parentStamp === 'string' ? parseSalesforceDateTime(parentStamp) : undefined;
    if (ms !== undefined && ms > changedAt) changedAt = ms;
  }
  return { id: String(record.Id), stamp, changedAt, readAt };
}

/** `Parent.SystemModstamp` out of the nested relationship objects REST returns (null when no parent). */
function readPath(record: QueryRecord, path: string): unknown {
  let value: unknown = record;
  for (const step of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}
