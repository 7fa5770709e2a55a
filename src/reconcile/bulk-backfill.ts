/**
 * The Bulk API 2.0 part of a backfill (docs/salesforce.md#bulk-api-20-query-jobs): one query job per
 * object, its result pages read one after the other by locator and streamed into the change queue.
 *
 * Position: the job id, the locator of the page being read, and how many rows of that page are
 * queued. It is saved after every enqueued chunk, so a run killed in the middle of a page reads that
 * page again (results are a snapshot: the same rows in the same order) and skips the rows already
 * queued; the pages before it are never read again. Bulk results have no order to keyset on (ORDER BY
 * turns off PK chunking), hence the locator rather than a keyset cursor.
 *
 * A job that ends `Failed` or `Aborted` is forgotten (and deleted) and the error thrown: the next run
 * creates a new job. A job that vanished (deleted, or its results expired after 7 days) is replaced
 * the same way, at once. Re-reading rows after that costs API calls, never records: the change jobs
 * they become carry the same ids.
 */
import type { Logger } from 'pino';
import { parseSalesforceDateTime } from '../pipeline/index.ts';
import { BulkQueryClient, type PollOptions } from '../salesforce/bulk/bulk-query-client.ts';
import { BulkJobFailedError } from '../salesforce/errors.ts';
import { SalesforceApiError, type QueryRecord } from '../salesforce/rest-client.ts';
import type { Admission } from './api-budget.ts';

/** Rows per result page asked for: a crash re-reads at most this many. */
export const DEFAULT_BULK_PAGE_RECORDS = 50_000;
/** Rows enqueued (and checkpointed) at once: a multiple of the queue's 250 changes per job. */
const ENQUEUE_CHUNK = 1_000;

/** Where a bulk backfill stands (stored in the object's backfill hash). */
export interface BulkPosition {
  jobId?: string | undefined;
  /** Locator of the page being read; undefined: the first page. */
  locator?: string | undefined;
  /** Rows of that page already queued. */
  pageRows: number;
  /** Every page is queued; only the job's deletion is left. */
  pagesDone?: boolean;
}

export interface BulkRow {
  id: string;
  /** SystemModstamp (ms). */
  stamp: number;
  /** The row as a record, when the run carries records (docs/salesforce.md#bulk-rows-as-records). */
  record?: QueryRecord | undefined;
}

/** Turns the rows of a page with this header into records (undefined for a row that is not carried), or undefined: ids only. */
export type BulkRecordReader = (
  header: readonly string[],
) => ((row: readonly string[]) => QueryRecord | undefined) | undefined;

export interface BulkBackfillRun {
  client: BulkQueryClient;
  /** `SELECT Id, SystemModstamp[, mapped fields] FROM … [WHERE …]`: no ORDER BY, no LIMIT. */
  soql: string;
  /** Records carried with the ids; without it, ids only. */
  records?: BulkRecordReader | undefined;
  operation: 'query' | 'queryAll';
  position: BulkPosition;
  /** @defaultValue DEFAULT_BULK_PAGE_RECORDS */
  pageRecords?: number | undefined;
  poll?: PollOptions | undefined;
  /** Resolves once the rows are durably queued. */
  enqueue(rows: BulkRow[]): Promise<void>;
  /** Store the position; `queued`: rows queued since the last save. Called after the enqueue. */
  save(position: BulkPosition, queued: number): Promise<void>;
  /** Asked between pages: may the run spend more API calls? */
  admit(): Promise<Admission | undefined>;
  signal?: AbortSignal | undefined;
  logger: Logger;
}

export type BulkRunOutcome = { outcome: 'done' } | { outcome: 'deferred'; reason: string; retryInMs: number };

export async function runBulkBackfill(run: BulkBackfillRun): Promise<BulkRunOutcome> {
  let position = { ...run.position };
  for (let replaced = 0; ; replaced++) {
    if (!position.jobId) {
      const job = await run.client.create(run.soql, run.operation);
      position = { jobId: job.id, pageRows: 0 };
      await run.save(position, 0);
      run.logger.info({ jobId: job.id, operation: run.operation }, 'bulk query job created');
    }
    const jobId = position.jobId as string;
    try {
      if (!position.pagesDone) {
        await run.client.waitUntilComplete(jobId, { ...run.poll, signal: run.signal });
        const outcome = await readPages(run, jobId, position, (next) => (position = next));
        if (outcome) return outcome;
      }
      await deleteJob(run.client, jobId);
      return { outcome: 'done' };
    } catch (error) {
      if (error instanceof BulkJobFailedError) {
        await run.save({ pageRows: 0 }, 0);
        await deleteJob(run.client, jobId).catch(() => undefined);
        throw error;
      }
      if (isGone(error) && replaced === 0) {
        run.logger.warn({ jobId }, 'bulk query job or its results are gone: a new job replaces it');
        position = { pageRows: 0 };
        await run.save(position, 0);
        continue;
      }
      throw error;
    }
  }
}

/** Reads the pages from `position` on; returns a deferral when the budget says stop between pages. */
async function readPages(
  run: BulkBackfillRun,
  jobId: string,
  start: BulkPosition,
  moved: (position: BulkPosition) => void,
): Promise<BulkRunOutcome | undefined> {
  let position = start;
  for (;;) {
    run.signal?.throwIfAborted();
    const page = await run.client.page(jobId, {
      locator: position.locator,
      maxRecords: run.pageRecords ?? DEFAULT_BULK_PAGE_RECORDS,
      signal: run.signal,
    });
    const idColumn = page.header.findIndex((name) => name.toLowerCase() === 'id');
    const stampColumn = page.header.findIndex((name) => name.toLowerCase() === 'systemmodstamp');
    if (idColumn < 0 || stampColumn < 0)
      throw new Error(`bulk results of job ${jobId} lack Id or SystemModstamp: ${page.header.join(',')}`);
    const toRecord = run.records?.(page.header);
    let skip = position.pageRows;
    let pending: BulkRow[] = [];
    for await (const batch of page.rows) {
      for (const row of batch) {
        if (skip > 0) {
          skip--;
          continue;
        }
        const id = row[idColumn];
        if (!id) continue;
        pending.push({ id, stamp: parseSalesforceDateTime(row[stampColumn] ?? '') ?? 0, record: toRecord?.(row) });
        if (pending.length >= ENQUEUE_CHUNK) {
          await run.enqueue(pending);
          position = { ...position, pageRows: position.pageRows + pending.length };
          await run.save(position, pending.length);
          moved(position);
          pending = [];
        }
      }
    }
    // The page's last rows and the move to the next page are saved together.
    if (pending.length > 0) await run.enqueue(pending);
    position =
      page.next === null
        ? { jobId, locator: position.locator, pageRows: 0, pagesDone: true }
        : { jobId, locator: page.next, pageRows: 0 };
    await run.save(position, pending.length);
    moved(position);
    if (page.next === null) return undefined;
    const admission = await run.admit();
    if (admission && !admission.ok)
      return { outcome: 'deferred', reason: admission.reason, retryInMs: admission.retryInMs };
  }
}

async function deleteJob(client: BulkQueryClient, jobId: string): Promise<void> {
  try {
    await client.delete(jobId);
  } catch (error) {
    if (!isGone(error)) throw error;
  }
}

/** The job is unknown to Salesforce (deleted, or expired 7 days after completion). */
function isGone(error: unknown): boolean {
  return error instanceof SalesforceApiError && error.status === 404;
}
