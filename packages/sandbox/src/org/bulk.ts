/**
 * Bulk API 2.0 query jobs of the simulated org: `/services/data/vXX.X/jobs/query…`
 * (docs/salesforce.md#bulk-api-20-query-jobs). Registered inside the REST API's versioned scope, so
 * every call is authenticated and counted like any REST call.
 *
 * A job is created `UploadComplete`, stays queued for `queueDelayMs`, is `InProgress` for
 * `processingMs`, then runs its query once (the results are a snapshot of that moment) and becomes
 * `JobComplete`, or `Failed` when the Control API asked for it. States advance by the clock whenever
 * the job is looked at, as a client polling sees them.
 *
 * Results are CSV (header row as written in the SELECT, empty = null, RFC 4180 quoting), paged by
 * `maxRecords` and the opaque `Sforce-Locator` header (`null` on the last page); each page is
 * written in chunks, optionally paced so that a test can kill a reader in the middle of one.
 *
 * Choices where the reference is silent (sandbox only):
 * - A query with something Bulk API 2.0 refuses (GROUP BY, OFFSET, TYPEOF, COUNT() and other
 *   functions, FIELDS(), parent-to-child subqueries) is `400 API_ERROR` at creation; other SOQL
 *   problems get the REST query errors (`INVALID_FIELD`, `MALFORMED_QUERY`, …).
 * - Results of a job that is not `JobComplete` are `400 API_ERROR`; an unknown or deleted job is
 *   `404 NOT_FOUND`; a locator this job never issued is `400 INVALID_LOCATOR`.
 * - A locator is the base64 of the row offset (what real locators look like); the default page is
 *   `defaultPageRecords` rows, and `capPageRecords` stands for the server cutting pages by size.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RecordSource } from './contracts.ts';
import { createIdGenerator } from './ids.ts';
import { executeSoql } from './soql/index.ts';
import { parseSoql } from './soql/parser.ts';
import { resolveQuery } from './soql/resolve.ts';
import { RestError } from './rest-error.ts';

export const DEFAULT_QUEUE_DELAY_MS = 300;
export const DEFAULT_PROCESSING_MS = 300;
export const DEFAULT_PAGE_RECORDS = 100_000;
/** Rows per write while a page streams out. */
const ROWS_PER_CHUNK = 1_000;
const DELIMITERS = { BACKQUOTE: '`', CARET: '^', COMMA: ',', PIPE: '|', SEMICOLON: ';', TAB: '\t' } as const;

export type BulkJobState = 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';

export interface BulkQueryOptions {
  source: RecordSource;
  now: () => number;
  /** The integration user, shown as `createdById`. */
  userId: string;
  /** @defaultValue DEFAULT_QUEUE_DELAY_MS */
  queueDelayMs?: number;
  /** @defaultValue DEFAULT_PROCESSING_MS */
  processingMs?: number;
  /** @defaultValue DEFAULT_PAGE_RECORDS */
  defaultPageRecords?: number;
}

/** One results request, as the org saw it: which page of which job, and whether it was sent whole. */
export interface BulkResultRead {
  jobId: string;
  /** `null`: the first page (no locator). */
  locator: string | null;
  records: number;
  at: number;
}

export interface BulkQueryControl {
  /** How long new jobs stay queued (`UploadComplete`) and in progress. */
  setTiming(timing: { queueDelayMs?: number; processingMs?: number }): void;
  /** The next `count` jobs end `Failed` with `errorMessage` instead of completing. */
  failNextJobs(count: number, errorMessage?: string): void;
  /** Pause `delayMs` after every `rows` rows of a results page (0 turns it off). */
  paceResults(rows: number, delayMs: number): void;
  /** Page size when the request names no `maxRecords`. */
  setDefaultPageRecords(rows: number): void;
  /** Pages never hold more than this, whatever `maxRecords` asks (Salesforce also cuts pages by size). 0: no cap. */
  capPageRecords(rows: number): void;
  /** Every results request so far, in order. */
  resultReads(): BulkResultRead[];
  /** Jobs created since the org started (`DailyBulkV2QueryJobs` in /limits). */
  jobsCreated(): number;
  /** Jobs still stored (not deleted), by id, with their state. */
  jobs(): Array<{ id: string; state: BulkJobState; operation: string; query: string }>;
  clearFaults(): void;
}

interface BulkJob {
  id: string;
  operation: 'query' | 'queryAll';
  object: string;
  query: string;
  delimiter: string;
  lineEnding: 'LF' | 'CRLF';
  columnDelimiter: keyof typeof DELIMITERS;
  createdDate: number;
  startsAt: number;
  completesAt: number;
  state: BulkJobState;
  modifiedAt: number;
  failWith?: string;
  errorMessage?: string;
  /** Header line and one CSV line per row, computed when the job completes. */
  header?: string;
  lines?: string[];
}

const createBody = z.object({
  operation: z.enum(['query', 'queryAll']),
  query: z.string().min(1),
  contentType: z.literal('CSV').optional(),
  columnDelimiter: z.enum(['BACKQUOTE', 'CARET', 'COMMA', 'PIPE', 'SEMICOLON', 'TAB']).optional(),
  lineEnding: z.enum(['LF', 'CRLF']).optional(),
});
const jobParams = z.object({ version: z.string(), jobId: z.string() });
const resultsQuery = z.object({ locator: z.string().optional(), maxRecords: z.string().optional() });
const patchBody = z.object({ state: z.literal('Aborted') });

const apiError = (message: string) => new RestError(400, 'API_ERROR', message);

/** What Bulk API 2.0 refuses in a query (docs/salesforce.md#bulk-query-restrictions-and-limits). */
function refusedFeature(soql: string): string | undefined {
  if (/\bGROUP\s+BY\b/i.test(soql)) return 'GROUP BY';
  if (/\bTYPEOF\b/i.test(soql)) return 'TYPEOF';
  if (/\bFIELDS\s*\(/i.test(soql)) return 'FIELDS()';
  if (/\(\s*SELECT\b/i.test(soql)) return 'a parent-to-child subquery';
  if (/\b(COUNT|COUNT_DISTINCT|SUM|AVG|MIN|MAX)\s*\(/i.test(soql)) return 'an aggregate function';
  if (/\bOFFSET\s+\d+/i.test(soql)) return 'OFFSET';
  return undefined;
}

const REST_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/;

/** One value as CSV: quoted when it holds the delimiter, a quote or a line break, quotes doubled. */
function csvValue(value: unknown, delimiter: string): string {
  if (value === null || value === undefined) return '';
  let text: string;
  if (typeof value === 'string') {
    // REST renders datetimes `…+0000`; Bulk results are ISO-8601 UTC with `Z`.
    text = value.length === 28 && REST_DATETIME.test(value) ? `${value.slice(0, 23)}Z` : value;
  } else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else text = JSON.stringify(value);
  return text.includes(delimiter) || /["\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** `Parent.CaseNumber` out of the nested objects the SOQL engine returns (keys in canonical case). */
function valueAt(record: Record<string, unknown>, path: string[]): unknown {
  let value: unknown = record;
  for (const step of path) {
    if (value === null || typeof value !== 'object') return null;
    if (Object.hasOwn(value, step)) {
      value = (value as Record<string, unknown>)[step];
      continue;
    }
    const lower = step.toLowerCase();
    const key = Object.keys(value).find((k) => k.toLowerCase() === lower);
    value = key === undefined ? null : (value as Record<string, unknown>)[key];
  }
  return value;
}

const encodeLocator = (offset: number) => Buffer.from(String(offset)).toString('base64url');
function decodeLocator(locator: string): number | undefined {
  const text = Buffer.from(locator, 'base64url').toString();
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

export function createBulkQueryApi(opts: BulkQueryOptions): {
  register: (versioned: FastifyInstance) => void;
  control: BulkQueryControl;
} {
  const { source, now } = opts;
  let queueDelayMs = opts.queueDelayMs ?? DEFAULT_QUEUE_DELAY_MS;
  let processingMs = opts.processingMs ?? DEFAULT_PROCESSING_MS;
  let defaultPageRecords = opts.defaultPageRecords ?? DEFAULT_PAGE_RECORDS;
  let pace = { rows: 0, delayMs: 0 };
  let pageCap = 0;
  const failures: string[] = [];
  const jobs = new Map<string, BulkJob>();
  const reads: BulkResultRead[] = [];
  const nextId = createIdGenerator({ pod: '0B' });
  let created = 0;

  /** Move a job along by the clock; run its query when it completes. */
  function advance(job: BulkJob, version: string): void {
    const at = now();
    if (job.state === 'UploadComplete' && at >= job.startsAt) {
      job.state = 'InProgress';
      job.modifiedAt = job.startsAt;
    }
    if (job.state !== 'InProgress' || at < job.completesAt) return;
    job.modifiedAt = job.completesAt;
    if (job.failWith !== undefined) {
      job.state = 'Failed';
      job.errorMessage = job.failWith;
      return;
    }
    const paths = selectPaths(job.query);
    const result = executeSoql(job.query, source, {
      includeDeleted: job.operation === 'queryAll',
      apiVersion: version.slice(1),
    });
    job.header = paths.map((p) => csvValue(p.text, job.delimiter)).join(job.delimiter);
    job.lines = result.records.map((record) =>
      paths.map((p) => csvValue(valueAt(record, p.segments), job.delimiter)).join(job.delimiter),
    );
    job.state = 'JobComplete';
  }

  function info(job: BulkJob, version: string) {
    advance(job, version);
    return {
      id: job.id,
      operation: job.operation,
      object: job.object,
      createdById: opts.userId,
      createdDate: new Date(job.createdDate).toISOString().replace(/Z$/, '+0000'),
      systemModstamp: new Date(job.modifiedAt).toISOString().replace(/Z$/, '+0000'),
      state: job.state,
      concurrencyMode: 'Parallel',
      contentType: 'CSV',
      apiVersion: Number(version.slice(1)),
      lineEnding: job.lineEnding,
      columnDelimiter: job.columnDelimiter,
      ...(job.state === 'JobComplete' || job.state === 'Failed'
        ? {
            numberRecordsProcessed: job.lines?.length ?? 0,
            retries: 0,
            totalProcessingTime: job.completesAt - job.startsAt,
            isPkChunkingSupported: true,
          }
        : {}),
      ...(job.errorMessage !== undefined ? { errorMessage: job.errorMessage } : {}),
    };
  }

  function jobOr404(jobId: string): BulkJob {
    const job = jobs.get(jobId);
    if (!job) throw new RestError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return job;
  }

  function register(versioned: FastifyInstance): void {
    versioned.post('/jobs/query', { config: { restRoute: 'bulkCreate' } }, async (request) => {
      const { version } = request.params as { version: string };
      if (Number(version.slice(1)) < 47) throw new RestError(404, 'NOT_FOUND', 'The requested resource does not exist');
      const body = createBody.safeParse(request.body);
      if (!body.success) throw apiError(`Invalid query job request: ${z.prettifyError(body.error)}`);
      const refused = refusedFeature(body.data.query);
      if (refused) throw apiError(`Bulk API 2.0 does not support ${refused} in a query job`);
      // The SOQL is checked now (names, syntax), as Salesforce does before it accepts the job.
      const plan = resolveQuery(parseSoql(body.data.query), source, body.data.query);
      const createdAt = now();
      const columnDelimiter = body.data.columnDelimiter ?? 'COMMA';
      const failWith = failures.shift();
      const job: BulkJob = {
        id: nextId('750'),
        operation: body.data.operation,
        object: plan.object.name,
        query: body.data.query,
        delimiter: DELIMITERS[columnDelimiter],
        columnDelimiter,
        lineEnding: body.data.lineEnding ?? 'LF',
        createdDate: createdAt,
        startsAt: createdAt + queueDelayMs,
        completesAt: createdAt + queueDelayMs + processingMs,
        state: 'UploadComplete',
        modifiedAt: createdAt,
        ...(failWith !== undefined ? { failWith } : {}),
      };
      jobs.set(job.id, job);
      created++;
      return info(job, version);
    });

    versioned.get('/jobs/query', { config: { restRoute: 'bulkList' } }, async (request) => {
      const { version } = request.params as { version: string };
      return { done: true, records: [...jobs.values()].map((job) => info(job, version)), nextRecordsUrl: null };
    });

    versioned.get('/jobs/query/:jobId', { config: { restRoute: 'bulkJob' } }, async (request) => {
      const { version, jobId } = jobParams.parse(request.params);
      return info(jobOr404(jobId), version);
    });

    versioned.patch('/jobs/query/:jobId', { config: { restRoute: 'bulkAbort' } }, async (request) => {
      const { version, jobId } = jobParams.parse(request.params);
      const job = jobOr404(jobId);
      const body = patchBody.safeParse(request.body);
      if (!body.success) throw apiError('A query job can only be moved to the Aborted state');
      advance(job, version);
      if (job.state === 'JobComplete' || job.state === 'Failed' || job.state === 'Aborted')
        throw apiError(`Job ${job.id} is already ${job.state} and cannot be aborted`);
      job.state = 'Aborted';
      job.modifiedAt = now();
      return info(job, version);
    });

    versioned.delete('/jobs/query/:jobId', { config: { restRoute: 'bulkDelete' } }, async (request, reply) => {
      const { version, jobId } = jobParams.parse(request.params);
      const job = jobOr404(jobId);
      advance(job, version);
      if (job.state === 'UploadComplete' || job.state === 'InProgress')
        throw apiError(`Job ${job.id} is ${job.state}: abort it before deleting it`);
      jobs.delete(job.id);
      return reply.code(204).send();
    });

    versioned.get('/jobs/query/:jobId/results', { config: { restRoute: 'bulkResults' } }, async (request, reply) => {
      const { version, jobId } = jobParams.parse(request.params);
      const job = jobOr404(jobId);
      advance(job, version);
      if (job.state !== 'JobComplete' || !job.lines || job.header === undefined)
        throw apiError(`Job ${job.id} is ${job.state}: results are available once it is JobComplete`);
      const query = resultsQuery.parse(request.query);
      const offset = query.locator === undefined ? 0 : decodeLocator(query.locator);
      if (offset === undefined || offset > job.lines.length)
        throw new RestError(400, 'INVALID_LOCATOR', `Invalid locator: ${query.locator ?? ''}`);
      const maxRecords = query.maxRecords === undefined ? defaultPageRecords : Number(query.maxRecords);
      if (!Number.isInteger(maxRecords) || maxRecords < 1)
        throw apiError(`maxRecords must be a positive integer: ${query.maxRecords ?? ''}`);
      const pageRecords = pageCap > 0 ? Math.min(pageCap, maxRecords) : maxRecords;
      const end = Math.min(job.lines.length, offset + pageRecords);
      reads.push({ jobId: job.id, locator: query.locator ?? null, records: end - offset, at: now() });
      void reply
        .header('Content-Type', 'text/csv; charset=UTF-8')
        .header('Sforce-Locator', end < job.lines.length ? encodeLocator(end) : 'null')
        .header('Sforce-NumberOfRecords', String(end - offset));
      return reply.send(Readable.from(pageChunks(job, offset, end)));
    });
  }

  async function* pageChunks(job: BulkJob, offset: number, end: number): AsyncGenerator<string> {
    const newline = job.lineEnding === 'CRLF' ? '\r\n' : '\n';
    const lines = job.lines ?? [];
    yield `${job.header ?? ''}${newline}`;
    let sincePause = 0;
    for (let at = offset; at < end; at += ROWS_PER_CHUNK) {
      const stop = Math.min(end, at + ROWS_PER_CHUNK);
      yield lines.slice(at, stop).join(newline) + newline;
      sincePause += stop - at;
      if (pace.rows > 0 && pace.delayMs > 0 && sincePause >= pace.rows) {
        sincePause = 0;
        await new Promise((resolve) => setTimeout(resolve, pace.delayMs));
      }
    }
  }

  const control: BulkQueryControl = {
    setTiming(timing) {
      if (timing.queueDelayMs !== undefined) queueDelayMs = Math.max(0, timing.queueDelayMs);
      if (timing.processingMs !== undefined) processingMs = Math.max(0, timing.processingMs);
    },
    failNextJobs(count, errorMessage = 'InternalServerError: the query job could not be processed') {
      for (let i = 0; i < count; i++) failures.push(errorMessage);
    },
    paceResults(rows, delayMs) {
      pace = { rows: Math.max(0, rows), delayMs: Math.max(0, delayMs) };
    },
    setDefaultPageRecords(rows) {
      defaultPageRecords = Math.max(1, rows);
    },
    capPageRecords(rows) {
      pageCap = Math.max(0, rows);
    },
    jobsCreated: () => created,
    resultReads: () => reads.map((read) => ({ ...read })),
    jobs: () =>
      [...jobs.values()].map((job) => ({ id: job.id, state: job.state, operation: job.operation, query: job.query })),
    clearFaults() {
      failures.length = 0;
      pace = { rows: 0, delayMs: 0 };
      pageCap = 0;
    },
  };

  return { register, control };
}

/** The SELECT list as written: the CSV header and the path of each column. */
function selectPaths(soql: string): Array<{ text: string; segments: string[] }> {
  const select = parseSoql(soql).select;
  if (select.kind !== 'fields') throw apiError('Bulk API 2.0 does not support an aggregate function in a query job');
  return select.fields.map((field) => ({ text: field.text, segments: field.segments }));
}
