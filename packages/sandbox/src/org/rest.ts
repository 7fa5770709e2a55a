/**
 * REST API of the simulated org: `/services/data/vXX.X/…` (docs/salesforce.md#rest-api).
 *
 * Every versioned call is authenticated through the org's TokenAuthority, counted against a daily API
 * allowance (`Sforce-Limit-Info` on every response,
 * docs/salesforce.md#api-limits-and-sforce-limit-info), and may be slowed, failed or cut by injected
 * faults. Errors are JSON arrays `[{"message","errorCode"}]` (docs/salesforce.md#rest-errors).
 *
 * Choices where the reference is silent:
 * - A record Id that is malformed or of another object is `400 MALFORMED_ID` on single retrieve.
 * - getUpdated/getDeleted date problems are `400 INVALID_REPLICATION_DATE`, a missing `start`/`end`
 *   is `400 MISSING_ARGUMENT`. When `end` lies in the future, `latestDateCovered` is the current
 *   minute and only changes before it are listed (the next window picks up the rest).
 * - A query cursor is dropped once its last page has been served, or after `queryCursorTtlMs`.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { FieldMeta, ObjectMeta, RecordSource, SRecord, TokenAuthority } from './contracts.ts';
import { createIdGenerator, isValidId, keyPrefixOf } from './ids.ts';
import { findField } from './metadata.ts';
import { executeSoql, SoqlError, type QueryRecord } from './soql/index.ts';
import { renderValue } from './soql/values.ts';
import { RestError } from './rest-error.ts';
import { createBulkQueryApi, type BulkQueryControl } from './bulk.ts';

export { RestError };

/** Oldest and newest API versions the org answers (Summer '26 is 67.0, reference header). */
export const MIN_API_VERSION = 20;
export const MAX_API_VERSION = 67;
export const DEFAULT_DAILY_API_LIMIT = 100_000;
/** Query page bounds (docs/salesforce.md#key-numbers, #query-and-queryall). */
export const MIN_QUERY_BATCH = 200;
export const MAX_QUERY_BATCH = 2000;
/** Cursors live 2 days since API 56.0 (docs/salesforce.md#key-numbers). */
export const DEFAULT_QUERY_CURSOR_TTL_MS = 2 * 24 * 60 * 60 * 1000;
export const MAX_COLLECTION_IDS = 2000;
export const MAX_REPLICATION_IDS = 600_000;
const UPDATED_WINDOW_DAYS = 30;
const DELETED_WINDOW_DAYS = 15;
const DAY_MS = 24 * 60 * 60 * 1000;
const MINUTE_MS = 60 * 1000;

export interface RestOptions {
  source: RecordSource;
  auth: TokenAuthority;
  /** Base URL of the org (for the identity URL in the resources list). */
  baseUrl: () => string;
  /** Calls allowed per day before `REQUEST_LIMIT_EXCEEDED`. @defaultValue DEFAULT_DAILY_API_LIMIT */
  dailyApiLimit?: number;
  /** Upper bound on a query page, below Salesforce's 2,000, so tests can force paging. @defaultValue 2000 */
  maxBatchSize?: number;
  /** @defaultValue DEFAULT_QUERY_CURSOR_TTL_MS */
  queryCursorTtlMs?: number;
  /** More entries for `/limits`, e.g. streaming allocations from the CometD endpoint. */
  extraLimits?: () => Record<string, { Max: number; Remaining: number }>;
  /** Clock (epoch ms). @defaultValue Date.now */
  now?: () => number;
  /** The integration user: `createdById` of Bulk API 2.0 jobs. @defaultValue '005000000000000AAA' */
  userId?: string;
}

export type RestFault = 500 | 503;

export interface RestCounters {
  /** Requests per route label (`query`, `queryMore`, `describe`, `retrieve`, …), authenticated or not. */
  calls: Record<string, number>;
  apiUsage: { used: number; max: number };
  /** Responses by errorCode. */
  errors: Record<string, number>;
  openQueryCursors: number;
}

/** Fault injection and limits for tests and the Control API. */
export interface RestControl {
  /** Delay every REST response by `ms` (0 turns it off). */
  setLatency(ms: number): void;
  /** The next `count` REST calls answer with `status` instead of doing their work. */
  failNext(count: number, status?: RestFault): void;
  /** The next `count` REST calls have their TCP connection destroyed without a response. */
  dropNext(count: number): void;
  clearFaults(): void;
  setDailyApiLimit(max: number): void;
  setMaxBatchSize(size: number): void;
  /** Start a new "day" of API usage. */
  resetApiUsage(): void;
  /** Forget every open query cursor (its next page then fails with INVALID_QUERY_LOCATOR). */
  expireQueryCursors(): void;
  counters(): RestCounters;
}

export interface RestApi {
  /** Fastify plugin; register with `prefix: '/services/data'`. */
  routes: FastifyPluginAsync;
  control: RestControl;
  /** Bulk API 2.0 query jobs (`/jobs/query`): timing, failures, the results request log. */
  bulk: BulkQueryControl;
}

const notFound = () => new RestError(404, 'NOT_FOUND', 'The requested resource does not exist');
const invalidType = (name: string) =>
  new RestError(
    400,
    'INVALID_TYPE',
    `sObject type '${name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
  );
const invalidField = (field: string, entity: string) =>
  new RestError(
    400,
    'INVALID_FIELD',
    `No such column '${field}' on entity '${entity}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
  );
const malformedId = (object: ObjectMeta, id: string) =>
  new RestError(400, 'MALFORMED_ID', `${object.label} ID: id value of incorrect type: ${id}`, ['Id']);
const invalidLocator = () => new RestError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
const replicationDate = (message: string) => new RestError(400, 'INVALID_REPLICATION_DATE', message);

/** `Sforce-Query-Options: batchSize=500` → 500, clamped to Salesforce's 200–2,000 (it is only a hint). */
function batchSizeHint(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = /batchSize\s*=\s*(\d+)/i.exec(value ?? '');
  if (!match?.[1]) return undefined;
  return Math.min(MAX_QUERY_BATCH, Math.max(MIN_QUERY_BATCH, Number(match[1])));
}

/** API version labels: v20.0 was Winter '11, three releases a year since. */
function releaseLabel(version: number): string {
  const step = version - MIN_API_VERSION;
  const season = ['Winter', 'Spring', 'Summer'][step % 3] ?? 'Winter';
  const year = 11 + Math.floor(step / 3);
  return `${season} '${String(year).padStart(2, '0')}`;
}

const SOAP_TYPES: Record<FieldMeta['type'], string> = {
  id: 'tns:ID',
  reference: 'tns:ID',
  string: 'xsd:string',
  textarea: 'xsd:string',
  email: 'xsd:string',
  phone: 'xsd:string',
  url: 'xsd:string',
  picklist: 'xsd:string',
  multipicklist: 'xsd:string',
  boolean: 'xsd:boolean',
  int: 'xsd:int',
  double: 'xsd:double',
  currency: 'xsd:double',
  percent: 'xsd:double',
  date: 'xsd:date',
  datetime: 'xsd:dateTime',
};

function describeField(field: FieldMeta) {
  return {
    name: field.name,
    label: field.label,
    type: field.type,
    soapType: SOAP_TYPES[field.type],
    length: field.length ?? 0,
    byteLength: (field.length ?? 0) * 3,
    digits: 0,
    precision: 0,
    scale: 0,
    nillable: field.nillable,
    custom: field.custom,
    createable: field.createable,
    updateable: field.updateable,
    calculated: field.calculated,
    autoNumber: false,
    unique: false,
    externalId: false,
    idLookup: field.type === 'id',
    nameField: field.name === 'Name',
    filterable: field.type !== 'textarea',
    sortable: field.type !== 'textarea' && field.type !== 'multipicklist',
    groupable: field.type !== 'textarea',
    defaultValue: null,
    picklistValues: (field.picklistValues ?? []).map((p) => ({ ...p, validFor: null })),
    referenceTo: field.referenceTo ?? [],
    relationshipName: field.relationshipName ?? null,
    compoundFieldName: null,
  };
}

function sobjectUrls(version: string, name: string) {
  const base = `/services/data/${version}/sobjects/${name}`;
  return { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` };
}

function describeGlobalEntry(object: ObjectMeta, version: string) {
  return {
    name: object.name,
    label: object.label,
    labelPlural: object.labelPlural,
    keyPrefix: object.keyPrefix,
    custom: object.custom,
    queryable: true,
    retrieveable: true,
    replicateable: true,
    searchable: true,
    createable: true,
    updateable: true,
    deletable: true,
    undeletable: true,
    triggerable: true,
    urls: sobjectUrls(version, object.name),
  };
}

function describeObject(object: ObjectMeta, all: ObjectMeta[], version: string) {
  // Child relationships are the reference fields of other objects that point here.
  const childRelationships = all.flatMap((child) =>
    child.fields
      .filter((f) => f.type === 'reference' && (f.referenceTo ?? []).includes(object.name))
      .map((f) => ({ childSObject: child.name, field: f.name, relationshipName: null, cascadeDelete: false })),
  );
  return {
    ...describeGlobalEntry(object, version),
    childRelationships,
    recordTypeInfos: [
      {
        name: 'Master',
        developerName: 'Master',
        recordTypeId: '012000000000000AAA',
        master: true,
        active: true,
        available: true,
        defaultRecordTypeMapping: true,
      },
    ],
    fields: object.fields.map(describeField),
  };
}

/** One stored record shaped as REST returns it (`attributes` first, datetimes `…+0000`, docs/salesforce.md#query-and-queryall). */
function renderRecord(object: ObjectMeta, record: SRecord, fields: FieldMeta[], version: string): QueryRecord {
  const out: QueryRecord = {
    attributes: { type: object.name, url: `/services/data/${version}/sobjects/${object.name}/${String(record.Id)}` },
  };
  for (const field of fields) out[field.name] = renderValue(record[field.name], field.type);
  return out;
}

/** Field names from `fields=` / a JSON list, resolved case-insensitively; any unknown name fails the call. */
function resolveFields(object: ObjectMeta, names: string[] | undefined): FieldMeta[] {
  if (names === undefined) return object.fields;
  const resolved = new Map<string, FieldMeta>();
  for (const raw of names) {
    const name = raw.trim();
    if (name === '') continue;
    const field = findField(object, name);
    if (!field) throw invalidField(name, object.name);
    resolved.set(field.name, field);
  }
  return [...resolved.values()];
}

/** `2024-05-06T00:00:00+00:00` with seconds truncated (docs/salesforce.md#getupdated-and-getdeleted). */
function replicationInstant(raw: string | undefined, name: 'start' | 'end'): number {
  if (raw === undefined || raw === '') throw new RestError(400, 'MISSING_ARGUMENT', `${name} parameter is missing`);
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(raw)
    ? Date.parse(raw.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
    : Number.NaN;
  if (Number.isNaN(ms)) throw replicationDate(`${name} must be a dateTime such as 2024-05-06T00:00:00+00:00: ${raw}`);
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

const sfDate = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '+0000');

const queryParams = z.object({ q: z.string().optional() });
const retrieveParams = z.object({ fields: z.string().optional() });
const collectionGetParams = z.object({ ids: z.string().optional(), fields: z.string().optional() });
const collectionBody = z.object({ ids: z.array(z.string()), fields: z.array(z.string()) });
const replicationParams = z.object({ start: z.string().optional(), end: z.string().optional() });
const objectParams = z.object({ version: z.string(), object: z.string() });
const recordParams = objectParams.extend({ id: z.string() });
const locatorParams = z.object({ version: z.string(), locator: z.string() });

interface QueryCursor {
  records: QueryRecord[];
  totalSize: number;
  batchSize: number;
  expiresAt: number;
}

type RouteLabel = string;
declare module 'fastify' {
  interface FastifyContextConfig {
    /** Name a REST route is counted under. */
    restRoute?: RouteLabel;
  }
}

export function createRestApi(opts: RestOptions): RestApi {
  const now = opts.now ?? Date.now;
  const source = opts.source;
  let dailyApiLimit = opts.dailyApiLimit ?? DEFAULT_DAILY_API_LIMIT;
  let maxBatchSize = opts.maxBatchSize ?? MAX_QUERY_BATCH;
  const cursorTtlMs = opts.queryCursorTtlMs ?? DEFAULT_QUERY_CURSOR_TTL_MS;
  const metadataModifiedAt = Math.floor(now() / 1000) * 1000;

  let apiUsed = 0;
  let latencyMs = 0;
  const pendingFailures: RestFault[] = [];
  let pendingDrops = 0;
  const calls: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const cursors = new Map<string, QueryCursor>();
  const nextLocatorId = createIdGenerator({ pod: '0Q' });
  const bulk = createBulkQueryApi({ source, now, userId: opts.userId ?? '005000000000000AAA' });

  const objectOr = (name: string, error: () => RestError): ObjectMeta => {
    const object = source.describe(name);
    if (!object) throw error();
    return object;
  };

  function pageOf(cursorId: string | undefined, cursor: QueryCursor, offset: number, version: string) {
    const end = Math.min(cursor.totalSize, offset + cursor.batchSize);
    const done = end >= cursor.records.length;
    const records = cursor.records.slice(offset, end);
    if (done && cursorId) cursors.delete(cursorId);
    let nextRecordsUrl: string | undefined;
    if (!done) {
      const id = cursorId ?? nextLocatorId('01g');
      cursors.set(id, cursor);
      // jsforce takes the last path segment as the locator and re-appends it to `/query/` (docs/salesforce.md#query-and-queryall).
      nextRecordsUrl = `/services/data/${version}/query/${id}-${end}`;
    }
    return { totalSize: cursor.totalSize, done, ...(nextRecordsUrl ? { nextRecordsUrl } : {}), records };
  }

  function runQuery(request: FastifyRequest, version: string, includeDeleted: boolean) {
    const { q } = queryParams.parse(request.query);
    if (!q || q.trim() === '') throw new RestError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
    const result = executeSoql(q, source, { includeDeleted, apiVersion: version.slice(1) });
    const batchSize = Math.min(maxBatchSize, batchSizeHint(request.headers['sforce-query-options']) ?? MAX_QUERY_BATCH);
    const cursor: QueryCursor = {
      records: result.records,
      totalSize: result.totalSize,
      batchSize,
      expiresAt: now() + cursorTtlMs,
    };
    return pageOf(undefined, cursor, 0, version);
  }

  function queryMore(request: FastifyRequest) {
    const { version, locator } = locatorParams.parse(request.params);
    const match = /^(01g[0-9A-Za-z]{15})-(\d+)$/.exec(locator);
    const cursor = match?.[1] ? cursors.get(match[1]) : undefined;
    const offset = Number(match?.[2]);
    if (!match?.[1] || !cursor || cursor.expiresAt <= now() || offset >= cursor.records.length) throw invalidLocator();
    const hint = batchSizeHint(request.headers['sforce-query-options']);
    if (hint !== undefined) cursor.batchSize = Math.min(maxBatchSize, hint);
    return pageOf(match[1], cursor, offset, version);
  }

  /** Records of one object by Id, in Id order, `null` for what cannot be returned (docs/salesforce.md#retrieving-records-by-id). */
  function retrieveCollection(version: string, objectName: string, ids: string[], fieldNames: string[]) {
    const object = objectOr(objectName, () => invalidType(objectName));
    if (ids.length > MAX_COLLECTION_IDS) {
      throw new RestError(
        400,
        'LIMIT_EXCEEDED',
        `The number of IDs requested exceeds the maximum of ${MAX_COLLECTION_IDS}`,
      );
    }
    const fields = resolveFields(object, fieldNames);
    return ids.map((id) => {
      if (!isValidId(id) || keyPrefixOf(id) !== object.keyPrefix) return null;
      const record = source.get(id);
      return record ? renderRecord(object, record, fields, version) : null;
    });
  }

  function replicationWindow(request: FastifyRequest, windowDays: number) {
    const { start: rawStart, end: rawEnd } = replicationParams.parse(request.query);
    const start = replicationInstant(rawStart, 'start');
    const end = replicationInstant(rawEnd, 'end');
    if (start >= end) throw replicationDate('startDate must chronologically precede endDate by more than 1 minute');
    const earliest = Math.floor((now() - windowDays * DAY_MS) / MINUTE_MS) * MINUTE_MS;
    if (start < earliest) throw replicationDate(`startDate cannot be more than ${windowDays} days ago`);
    const latestDateCovered = Math.min(end, Math.floor(now() / MINUTE_MS) * MINUTE_MS);
    return { start, latestDateCovered, earliest };
  }

  function modstampOf(record: SRecord): number {
    const stamp = record.SystemModstamp ?? record.LastModifiedDate;
    return typeof stamp === 'string' ? Date.parse(stamp) : Number.NaN;
  }

  const routes: FastifyPluginAsync = async (app) => {
    app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
      let error: RestError;
      if (err instanceof RestError) error = err;
      else if (err instanceof SoqlError) error = new RestError(400, err.errorCode, err.message);
      else if (err instanceof z.ZodError) error = new RestError(400, 'MALFORMED_QUERY', z.prettifyError(err));
      else if (err.statusCode === 415) error = new RestError(415, 'UNSUPPORTED_MEDIA_TYPE', err.message);
      else if (err.statusCode && err.statusCode < 500) error = new RestError(400, 'JSON_PARSER_ERROR', err.message);
      else {
        request.log.error({ err }, 'sandbox REST handler failed');
        error = new RestError(
          500,
          'UNKNOWN_EXCEPTION',
          'An unexpected error occurred. Please include this ErrorId if you contact support: 1234567-89012 (-1234567890)',
        );
      }
      errors[error.errorCode] = (errors[error.errorCode] ?? 0) + 1;
      return reply.code(error.status).send(error.body());
    });
    app.setNotFoundHandler((_request, reply) => {
      errors.NOT_FOUND = (errors.NOT_FOUND ?? 0) + 1;
      return reply.code(404).send(notFound().body());
    });

    // Every response carries the usage header (docs/salesforce.md#api-limits-and-sforce-limit-info); jsforce reads it into conn.limitInfo.
    app.addHook('onSend', async (_request, reply, payload) => {
      void reply.header('Sforce-Limit-Info', `api-usage=${apiUsed}/${dailyApiLimit}`);
      return payload;
    });

    app.addHook('onRequest', async (request, reply) => {
      const label = request.routeOptions.config.restRoute;
      if (label) calls[label] = (calls[label] ?? 0) + 1;
      if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
      if (pendingDrops > 0) {
        pendingDrops--;
        reply.hijack();
        request.raw.socket.destroy();
        return;
      }
      const failure = pendingFailures.shift();
      if (failure === 503)
        throw new RestError(503, 'SERVER_UNAVAILABLE', 'Service Unavailable. Please try your request again later.');
      if (failure === 500)
        throw new RestError(
          500,
          'UNKNOWN_EXCEPTION',
          'An unexpected error occurred. Please include this ErrorId if you contact support: 1234567-89012 (-1234567890)',
        );
    });

    app.get('/', { config: { restRoute: 'versions' } }, async () => {
      const versions = [];
      for (let v = MIN_API_VERSION; v <= MAX_API_VERSION; v++) {
        versions.push({ label: releaseLabel(v), url: `/services/data/v${v}.0`, version: `${v}.0` });
      }
      return versions;
    });

    await app.register(
      async (versioned) => {
        versioned.addHook('onRequest', async (request) => {
          const { version } = request.params as { version?: string };
          const match = /^v(\d+)\.0$/.exec(version ?? '');
          const number = Number(match?.[1]);
          if (!match || number < MIN_API_VERSION || number > MAX_API_VERSION) throw notFound();
          const auth = opts.auth.check(request.headers.authorization);
          if (!auth.ok) throw new RestError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
          if (apiUsed >= dailyApiLimit)
            throw new RestError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
          apiUsed++;
        });

        versioned.get('/', { config: { restRoute: 'resources' } }, async (request) => {
          const { version } = request.params as { version: string };
          const auth = opts.auth.check(request.headers.authorization);
          const base = `/services/data/${version}`;
          return {
            sobjects: `${base}/sobjects`,
            query: `${base}/query`,
            queryAll: `${base}/queryAll`,
            composite: `${base}/composite`,
            limits: `${base}/limits`,
            recent: `${base}/recent`,
            search: `${base}/search`,
            ...(auth.ok ? { identity: `${opts.baseUrl().replace(/\/+$/, '')}/id/${auth.orgId}/${auth.userId}` } : {}),
          };
        });

        versioned.get('/limits', { config: { restRoute: 'limits' } }, async () => ({
          DailyApiRequests: { Max: dailyApiLimit, Remaining: Math.max(0, dailyApiLimit - apiUsed) },
          DailyBulkApiBatches: { Max: 15000, Remaining: 15000 },
          DailyBulkV2QueryJobs: { Max: 10000, Remaining: 10000 - bulk.control.jobsCreated() },
          DailyAsyncApexExecutions: { Max: 250000, Remaining: 250000 },
          ...opts.extraLimits?.(),
        }));

        versioned.get('/sobjects', { config: { restRoute: 'describeGlobal' } }, async (request) => {
          const { version } = request.params as { version: string };
          return {
            encoding: 'UTF-8',
            maxBatchSize: 200,
            sobjects: source.objects().map((o) => describeGlobalEntry(o, version)),
          };
        });

        versioned.get('/sobjects/:object', { config: { restRoute: 'sobjectInfo' } }, async (request) => {
          const { version, object: name } = objectParams.parse(request.params);
          const object = objectOr(name, notFound);
          return { objectDescribe: describeGlobalEntry(object, version), recentItems: [] };
        });

        versioned.get('/sobjects/:object/describe', { config: { restRoute: 'describe' } }, async (request, reply) => {
          const { version, object: name } = objectParams.parse(request.params);
          const object = objectOr(name, notFound);
          void reply.header('Last-Modified', new Date(metadataModifiedAt).toUTCString());
          const since = Date.parse(request.headers['if-modified-since'] ?? '');
          if (!Number.isNaN(since) && since >= metadataModifiedAt) return reply.code(304).send();
          return describeObject(object, source.objects(), version);
        });

        versioned.get('/sobjects/:object/updated', { config: { restRoute: 'updated' } }, async (request) => {
          const { object: name } = objectParams.parse(request.params);
          const object = objectOr(name, notFound);
          const { start, latestDateCovered } = replicationWindow(request, UPDATED_WINDOW_DAYS);
          const ids: string[] = [];
          for (const record of source.records(object.name)) {
            const stamp = modstampOf(record);
            if (stamp >= start && stamp < latestDateCovered) ids.push(String(record.Id));
          }
          if (ids.length > MAX_REPLICATION_IDS)
            throw new RestError(400, 'EXCEEDED_ID_LIMIT', `too many ids: more than ${MAX_REPLICATION_IDS}`);
          return { ids, latestDateCovered: sfDate(latestDateCovered) };
        });

        versioned.get('/sobjects/:object/deleted', { config: { restRoute: 'deleted' } }, async (request) => {
          const { object: name } = objectParams.parse(request.params);
          const object = objectOr(name, notFound);
          const { start, latestDateCovered, earliest } = replicationWindow(request, DELETED_WINDOW_DAYS);
          const deletedRecords: Array<{ id: string; deletedDate: string }> = [];
          for (const record of source.records(object.name, { includeDeleted: true })) {
            if (record.IsDeleted !== true) continue;
            const stamp = modstampOf(record);
            if (stamp >= start && stamp < latestDateCovered)
              deletedRecords.push({ id: String(record.Id), deletedDate: sfDate(stamp) });
          }
          if (deletedRecords.length > MAX_REPLICATION_IDS)
            throw new RestError(400, 'EXCEEDED_ID_LIMIT', `too many ids: more than ${MAX_REPLICATION_IDS}`);
          return {
            deletedRecords,
            earliestDateAvailable: sfDate(earliest),
            latestDateCovered: sfDate(latestDateCovered),
          };
        });

        versioned.get('/sobjects/:object/:id', { config: { restRoute: 'retrieve' } }, async (request) => {
          const { version, object: name, id } = recordParams.parse(request.params);
          const object = objectOr(name, notFound);
          if (!isValidId(id) || keyPrefixOf(id) !== object.keyPrefix) throw malformedId(object, id);
          const { fields } = retrieveParams.parse(request.query);
          const selected = resolveFields(object, fields?.split(','));
          const record = source.get(id);
          if (!record) throw notFound();
          return renderRecord(object, record, selected, version);
        });

        versioned.get(
          '/composite/sobjects/:object',
          { config: { restRoute: 'collectionsRetrieve' } },
          async (request) => {
            const { version, object } = objectParams.parse(request.params);
            const { ids, fields } = collectionGetParams.parse(request.query);
            if (!ids) throw new RestError(400, 'MISSING_ARGUMENT', 'ids parameter is missing');
            if (!fields) throw new RestError(400, 'MISSING_ARGUMENT', 'fields parameter is missing');
            return retrieveCollection(version, object, ids.split(','), fields.split(','));
          },
        );

        versioned.post(
          '/composite/sobjects/:object',
          { config: { restRoute: 'collectionsRetrieve' } },
          async (request) => {
            const { version, object } = objectParams.parse(request.params);
            const body = collectionBody.safeParse(request.body);
            if (!body.success) {
              throw new RestError(
                400,
                'JSON_PARSER_ERROR',
                `Expected {"ids": [string], "fields": [string]}: ${z.prettifyError(body.error)}`,
              );
            }
            return retrieveCollection(version, object, body.data.ids, body.data.fields);
          },
        );

        bulk.register(versioned);

        versioned.get('/query', { config: { restRoute: 'query' } }, async (request) => {
          const { version } = request.params as { version: string };
          return runQuery(request, version, false);
        });
        versioned.get('/queryAll', { config: { restRoute: 'queryAll' } }, async (request) => {
          const { version } = request.params as { version: string };
          return runQuery(request, version, true);
        });
        // The cursor remembers whether it is a queryAll, whichever path continues it (docs/salesforce.md#query-and-queryall).
        versioned.get('/query/:locator', { config: { restRoute: 'queryMore' } }, async (request) => queryMore(request));
        versioned.get('/queryAll/:locator', { config: { restRoute: 'queryMore' } }, async (request) =>
          queryMore(request),
        );
      },
      { prefix: '/:version' },
    );
  };

  const control: RestControl = {
    setLatency(ms) {
      latencyMs = Math.max(0, ms);
    },
    failNext(count, status = 503) {
      for (let i = 0; i < count; i++) pendingFailures.push(status);
    },
    dropNext(count) {
      pendingDrops += count;
    },
    clearFaults() {
      latencyMs = 0;
      pendingFailures.length = 0;
      pendingDrops = 0;
    },
    setDailyApiLimit(max) {
      dailyApiLimit = max;
    },
    setMaxBatchSize(size) {
      maxBatchSize = Math.max(1, size);
    },
    resetApiUsage() {
      apiUsed = 0;
    },
    expireQueryCursors() {
      cursors.clear();
    },
    counters() {
      return {
        calls: { ...calls },
        apiUsage: { used: apiUsed, max: dailyApiLimit },
        errors: { ...errors },
        openQueryCursors: cursors.size,
      };
    },
  };

  return { routes, control, bulk: bulk.control };
}
