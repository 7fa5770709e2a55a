/**
 * Salesforce REST for the workers (docs/salesforce.md#rest-api): SOQL query/queryAll with paging, describe.
 * Every request takes the current token from the token service; a 401 refreshes once (across all
 * processes) and retries once. `Sforce-Limit-Info` is read on every response for the API budget.
 *
 * Hand-written over fetch rather than jsforce's Connection: the token lifecycle must stay in the token
 * service (jsforce captures tokens per connection, docs/salesforce.md#jsforce-oauth-and-auto-refresh),
 * and errors must keep Salesforce's `errorCode` for the retry decision.
 */
import { z } from 'zod';
import { RecordFieldsSchema, type RecordFields } from '../model/record-fields.ts';
import { BridgeError } from '../errors.ts';
import { SalesforceUnavailableError } from './errors.ts';
import type { SalesforceSession, SessionSource } from './session.ts';

const REQUEST_TIMEOUT_MS = 120_000;

/** A REST error body `[{message, errorCode, fields?}]` (docs/salesforce.md#rest-errors). */
export class SalesforceApiError extends BridgeError {
  readonly code = 'BRIDGE_ERR_SALESFORCE_API';

  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(`Salesforce ${errorCode} (HTTP ${status}): ${message}`, hintFor(errorCode));
  }

  /** The daily API allocation is used up (403 REQUEST_LIMIT_EXCEEDED): stop until it recovers. */
  get isLimitExceeded(): boolean {
    return this.errorCode === 'REQUEST_LIMIT_EXCEEDED';
  }
}

function hintFor(errorCode: string): string | undefined {
  switch (errorCode) {
    case 'INVALID_FIELD':
      return 'a mapped field does not exist or is not readable by the integration user: run `sf-cm-bridge check --online`';
    case 'INVALID_TYPE':
      return 'the object does not exist or the integration user cannot read it';
    case 'REQUEST_LIMIT_EXCEEDED':
      return "the org's API allocation is used up; work resumes when it recovers";
    default:
      return undefined;
  }
}

const ErrorBodySchema = z.array(z.looseObject({ message: z.string(), errorCode: z.string() })).min(1);

export type QueryRecord = RecordFields;

export const QueryPageSchema = z.object({
  totalSize: z.number(),
  done: z.boolean(),
  nextRecordsUrl: z.string().optional(),
  records: z.array(RecordFieldsSchema),
});

/** Parsed `Sforce-Limit-Info: api-usage=used/max`. */
export interface ApiUsage {
  used: number;
  max: number;
}

export interface RestClientOptions {
  integration: string;
  apiVersion: string;
  tokens: SessionSource;
  fetch?: typeof fetch;
  /** Told about every `Sforce-Limit-Info` header (API budget governor, metrics). */
  onApiUsage?: (usage: ApiUsage) => void;
  /** Told about every call, by kind: metrics and "API calls per 1000 changes". Required: every call is counted. */
  onCall: (kind: RestCallKind) => void;
}

export type RestCallKind =
  'query' | 'queryMore' | 'describe' | 'bulkCreate' | 'bulkPoll' | 'bulkResults' | 'bulkAbort' | 'bulkDelete';

/** One REST request beyond a GET of JSON (Bulk API 2.0: POST/PATCH/DELETE, CSV results). */
export interface RestRequest {
  kind: RestCallKind;
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Sent as JSON. */
  json?: unknown;
  /** @defaultValue 'application/json' */
  accept?: string;
  signal?: AbortSignal | undefined;
}

export interface QueryResult {
  records: QueryRecord[];
  /** Rows the query matched (for `SELECT COUNT()`, the count; `records` is then empty). */
  totalSize: number;
  /** Server time of the first page (`Date` header, ms): what "absent from the result" is relative to. */
  serverTime: number | undefined;
}

export class SalesforceRestClient {
  readonly #fetch: typeof fetch;

  constructor(private readonly options: RestClientOptions) {
    this.#fetch = options.fetch ?? fetch;
  }

  get apiVersion(): string {
    return this.options.apiVersion;
  }

  /** All rows of a SOQL query (every page). `all`: queryAll, which also returns soft-deleted rows. */
  async query(soql: string, opts: { all?: boolean } = {}): Promise<QueryResult> {
    const resource = opts.all ? 'queryAll' : 'query';
    const first = await this.#request(
      `/services/data/v${this.options.apiVersion}/${resource}?q=${encodeURIComponent(soql)}`,
      'query',
    );
    const records: QueryRecord[] = [];
    let page = QueryPageSchema.parse(first.body);
    const { totalSize } = page;
    records.push(...page.records);
    while (!page.done && page.nextRecordsUrl) {
      page = QueryPageSchema.parse((await this.#request(page.nextRecordsUrl, 'queryMore')).body);
      records.push(...page.records);
    }
    return { records, totalSize, serverTime: first.serverTime };
  }

  async describe(objectName: string): Promise<unknown> {
    return (
      await this.#request(
        `/services/data/v${this.options.apiVersion}/sobjects/${encodeURIComponent(objectName)}/describe`,
        'describe',
      )
    ).body;
  }

  async #request(path: string, kind: RestCallKind): Promise<{ body: unknown; serverTime: number | undefined }> {
    const response = await this.send(path, { kind });
    const body: unknown = await response.json().catch(() => undefined);
    const date = response.headers.get('date');
    return { body, serverTime: date ? Date.parse(date) : undefined };
  }

  /**
   * One authenticated request; the successful response is returned unread (a caller may stream its
   * body). A 401 refreshes the token once and retries; 5xx is SalesforceUnavailableError, any other
   * failure SalesforceApiError with Salesforce's errorCode.
   */
  async send(path: string, request: RestRequest): Promise<Response> {
    let session = await this.options.tokens.session(this.options.integration);
    for (let attempt = 0; ; attempt++) {
      const response = await this.#send(session, path, request);
      this.options.onCall(request.kind);
      this.#readLimitInfo(response.headers);
      if (response.status === 401 && attempt === 0) {
        await response.body?.cancel().catch(() => undefined);
        // Expired session (docs/salesforce.md#rest-errors): refresh once across processes, retry once.
        session = await this.options.tokens.refresh(this.options.integration, session.accessToken);
        continue;
      }
      if (response.ok) return response;
      const body: unknown = await response.json().catch(() => undefined);
      if (response.status >= 500)
        throw new SalesforceUnavailableError(`Salesforce answered HTTP ${response.status} for ${request.kind}`);
      const errors = ErrorBodySchema.safeParse(body);
      const first = errors.success ? errors.data[0] : undefined;
      throw new SalesforceApiError(
        response.status,
        first?.errorCode ?? `HTTP_${response.status}`,
        first?.message ?? 'no error body',
      );
    }
  }

  async #send(session: SalesforceSession, path: string, request: RestRequest): Promise<Response> {
    const url = new URL(path, session.instanceUrl);
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    try {
      return await this.#fetch(url, {
        method: request.method ?? 'GET',
        headers: {
          Authorization: `Bearer ${session.accessToken}`,
          Accept: request.accept ?? 'application/json',
          ...(request.json === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(request.json === undefined ? {} : { body: JSON.stringify(request.json) }),
        signal: request.signal ? AbortSignal.any([request.signal, timeout]) : timeout,
      });
    } catch (error) {
      request.signal?.throwIfAborted();
      throw new SalesforceUnavailableError(`Salesforce is not reachable at ${url.origin}: ${(error as Error).message}`);
    }
  }

  #readLimitInfo(headers: Headers): void {
    const match = /api-usage=(\d+)\/(\d+)/.exec(headers.get('sforce-limit-info') ?? '');
    if (match) this.options.onApiUsage?.({ used: Number(match[1]), max: Number(match[2]) });
  }
}

/** A SOQL string literal: backslash and quote escaped (docs/salesforce.md#systemmodstamp-watermarks). */
export function soqlString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}
