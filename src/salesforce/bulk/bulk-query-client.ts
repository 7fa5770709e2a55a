/**
 * Bulk API 2.0 query jobs (docs/salesforce.md#bulk-api-20-query-jobs): create, poll with a growing
 * interval, read one result page at a time by locator as a stream of CSV rows, abort, delete.
 *
 * Written over the REST client rather than jsforce's `bulk2` (docs/salesforce.md#why-not-jsforce-bulk2):
 * jsforce joins every page into one stream (and breaks on the second page), parses a page whole in
 * memory, cannot start from a stored locator, and keeps tokens per connection. Here each call goes
 * through the REST client, so the token service refreshes tokens, the API budget reads
 * `Sforce-Limit-Info`, and every call is counted.
 */
import { z } from 'zod';
import type { SalesforceRestClient } from '../rest-client.ts';
import { BulkJobFailedError } from '../errors.ts';
import { csvRowBatches } from './csv-rows.ts';

/** Bulk API 2.0 query jobs exist from this API version on. */
export const MIN_BULK_API_VERSION = 47;

export const BulkJobInfoSchema = z.looseObject({
  id: z.string(),
  state: z.enum(['UploadComplete', 'InProgress', 'JobComplete', 'Failed', 'Aborted']),
  numberRecordsProcessed: z.number().optional(),
  errorMessage: z.string().optional(),
});
export type BulkJobInfo = z.infer<typeof BulkJobInfoSchema>;

export interface PollOptions {
  /** First wait between polls (ms). @defaultValue 1000 */
  initialMs?: number;
  /** The wait doubles up to this (ms). @defaultValue 30000 */
  maxMs?: number;
  signal?: AbortSignal | undefined;
}

/** One page of results: the locator of the next page is known from the headers, before the rows. */
export interface ResultPage {
  /** Locator of the next page; null when this is the last one. */
  next: string | null;
  /** `Sforce-NumberOfRecords`. */
  records: number;
  /** Column names (the header row). */
  header: string[];
  /** The data rows, a batch at a time, as the body arrives. */
  rows: AsyncGenerator<string[][]>;
}

export class BulkQueryClient {
  readonly #base: string;

  constructor(private readonly rest: SalesforceRestClient) {
    this.#base = `/services/data/v${rest.apiVersion}/jobs/query`;
  }

  /** Does the configured API version have Bulk API 2.0 query jobs? */
  static supports(apiVersion: string): boolean {
    return Number.parseFloat(apiVersion) >= MIN_BULK_API_VERSION;
  }

  async create(query: string, operation: 'query' | 'queryAll'): Promise<BulkJobInfo> {
    const response = await this.rest.send(this.#base, {
      kind: 'bulkCreate',
      method: 'POST',
      json: { operation, query, contentType: 'CSV', columnDelimiter: 'COMMA', lineEnding: 'LF' },
    });
    return BulkJobInfoSchema.parse(await response.json());
  }

  async info(jobId: string, signal?: AbortSignal): Promise<BulkJobInfo> {
    const response = await this.rest.send(`${this.#base}/${encodeURIComponent(jobId)}`, { kind: 'bulkPoll', signal });
    return BulkJobInfoSchema.parse(await response.json());
  }

  /**
   * Polls until the job is `JobComplete` (1 s doubling to 30 s by default). `Failed` and `Aborted`
   * throw BulkJobFailedError with Salesforce's errorMessage.
   */
  async waitUntilComplete(jobId: string, options: PollOptions = {}): Promise<BulkJobInfo> {
    let wait = options.initialMs ?? 1_000;
    const max = options.maxMs ?? 30_000;
    for (;;) {
      const info = await this.info(jobId, options.signal);
      if (info.state === 'JobComplete') return info;
      if (info.state === 'Failed' || info.state === 'Aborted')
        throw new BulkJobFailedError(jobId, info.state, info.errorMessage);
      await sleep(wait, options.signal);
      wait = Math.min(max, wait * 2);
    }
  }

  /** One page of a completed job's results; `locator` undefined reads the first page. */
  async page(
    jobId: string,
    options: { locator?: string | undefined; maxRecords?: number; signal?: AbortSignal | undefined },
  ): Promise<ResultPage> {
    const params = new URLSearchParams();
    if (options.locator !== undefined) params.set('locator', options.locator);
    if (options.maxRecords !== undefined) params.set('maxRecords', String(options.maxRecords));
    const query = params.size > 0 ? `?${params.toString()}` : '';
    const response = await this.rest.send(`${this.#base}/${encodeURIComponent(jobId)}/results${query}`, {
      kind: 'bulkResults',
      accept: 'text/csv',
      signal: options.signal,
    });
    const locator = response.headers.get('sforce-locator');
    const next = locator === null || locator === '' || locator === 'null' ? null : locator;
    const records = Number(response.headers.get('sforce-numberofrecords') ?? Number.NaN);
    const body = response.body;
    if (!body) return { next, records: 0, header: [], rows: empty() };
    const batches = csvRowBatches(body);
    // The header is the first row: read up to it, then hand the rest on.
    const { header, rest } = await splitHeader(batches);
    return { next, records, header, rows: rest };
  }

  async abort(jobId: string): Promise<void> {
    const response = await this.rest.send(`${this.#base}/${encodeURIComponent(jobId)}`, {
      kind: 'bulkAbort',
      method: 'PATCH',
      json: { state: 'Aborted' },
    });
    await response.body?.cancel();
  }

  async delete(jobId: string): Promise<void> {
    const response = await this.rest.send(`${this.#base}/${encodeURIComponent(jobId)}`, {
      kind: 'bulkDelete',
      method: 'DELETE',
    });
    await response.body?.cancel();
  }
}

async function splitHeader(
  batches: AsyncGenerator<string[][]>,
): Promise<{ header: string[]; rest: AsyncGenerator<string[][]> }> {
  for (;;) {
    const next = await batches.next();
    if (next.done) return { header: [], rest: empty() };
    const [header, ...rows] = next.value;
    if (header === undefined) continue;
    return { header, rest: prepend(rows, batches) };
  }
}

async function* prepend(first: string[][], rest: AsyncGenerator<string[][]>): AsyncGenerator<string[][]> {
  if (first.length > 0) yield first;
  yield* rest;
}

// eslint-disable-next-line require-yield -- an empty page has no rows
async function* empty(): AsyncGenerator<string[][]> {
  return;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}
