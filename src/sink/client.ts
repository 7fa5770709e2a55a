/**
 * A thin, typed client for the Communications Mining routes the bridge uses
 * (docs/communications-mining.md#routes, #syncing-comments, #sources): one HTTP exchange per call,
 * every failure a typed `CmError` (errors.ts). It never retries: retry, backoff and batch splitting
 * belong to the pusher (comment-pusher.ts), which knows the batch.
 *
 *   const cm = createCmClient({ baseUrl: 'https://cloud.uipath.com/org/tenant/reinfer_', token });
 *   const counters = await cm.sync('acme', 'salesforce-emails', comments);
 */
import { z } from 'zod';
import type { Logger } from '../logging.ts';
import type { Comment } from '../model/comment.ts';
import { cmEndpoint, normaliseBaseUrl } from './endpoint.ts';
import { syncBody } from './batching.ts';
import {
  CmConnectionError,
  CmNotFoundError,
  CmTimeoutError,
  CmUnexpectedResponseError,
  cmErrorFromResponse,
  type CmCallContext,
} from './errors.ts';
import type { CmRequestOutcome, SinkMetrics } from './metrics.ts';

/** docs/communications-mining.md#errors-retries-and-timeouts, #batching-and-retries-in-the-official-cli: the CLI's HTTP timeout; CM docs say big `/sync` batches are slow. */
export const DEFAULT_TIMEOUT_MS = 240_000;

/** docs/communications-mining.md#delete-comments: the CLI deletes ≤ 32 ids per call, "the maximum the API permits". */
export const MAX_IDS_PER_DELETE = 32;

export interface CmClientOptions {
  /** Tenant base URL, path kept: `https://<x>.reinfer.io` or `https://cloud.uipath.com/<org>/<tenant>/reinfer_`. */
  baseUrl: string;
  /** CM API token, sent as `Authorization: Bearer`; never logged or put in an error. */
  token: string;
  /** @defaultValue the global `fetch` */
  fetch?: typeof globalThis.fetch;
  /** Per request, until the whole body is read. @defaultValue 240 000 (240 s, like the CLI) @unit milliseconds */
  timeoutMs?: number;
  logger?: Logger;
  metrics?: SinkMetrics;
}

/** Optional per-call settings. */
export interface CmCallOptions {
  /** Aborts the call; the abort reason is rethrown as-is (it is the caller's, not a CM failure). */
  signal?: AbortSignal;
}

/** What one `/sync` did (docs/communications-mining.md#sync-response). The two `updated_*` split `updated`; older servers omit them. */
export interface SyncCounters {
  new: number;
  updated: number;
  unchanged: number;
  updated_properties_only?: number;
  updated_text_changed?: number;
}

export interface CmClient {
  /** `POST …/sources/<project>/<source>/sync`: create or fully overwrite each comment by id (docs/communications-mining.md#sync-request, #upsert-semantics-annotations-and-billing). */
  sync(project: string, source: string, comments: readonly Comment[], options?: CmCallOptions): Promise<SyncCounters>;
  /**
   * `DELETE …/sources/<project>/<source>/comments?id=a&id=b` with 1–32 ids
   * (docs/communications-mining.md#delete-comments). A 404 counts as done: what we wanted gone is gone.
   */
  deleteComments(project: string, source: string, ids: readonly string[], options?: CmCallOptions): Promise<void>;
  /** `GET …/sources/<project>/<source>/comments/<id>` (docs/communications-mining.md#get-one-comment). A missing comment or source is a `CmNotFoundError`. */
  getComment(project: string, source: string, id: string, options?: CmCallOptions): Promise<CmCommentView>;
  /** `GET …/sources/<project>/<source>` (docs/communications-mining.md#sources): reachability and permission check for `check --online`. */
  getSource(project: string, source: string, options?: CmCallOptions): Promise<CmSource>;
}

const count = z.number().int().nonnegative();

/** Loose objects: CM adds fields over time and a new field must not break the bridge. */
const syncResponseSchema = z.looseObject({
  status: z.literal('ok'),
  new: count,
  updated: count,
  unchanged: count,
  updated_properties_only: count.optional(),
  updated_text_changed: count.optional(),
});

const okResponseSchema = z.looseObject({ status: z.literal('ok') });

const sourceSchema = z.looseObject({
  id: z.string(),
  owner: z.string(),
  name: z.string(),
  title: z.string().optional(),
  description: z.string().optional(),
  language: z.string().optional(),
  should_translate: z.boolean().optional(),
  sensitive_properties: z.array(z.string()).optional(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
  last_modified: z.string().optional(),
  bucket_id: z.string().nullable().optional(),
});
export type CmSource = z.infer<typeof sourceSchema>;

const messageTextSchema = z.looseObject({ text: z.string() });
const messageSchema = z.looseObject({
  body: messageTextSchema,
  subject: messageTextSchema.optional(),
  from: z.string().optional(),
  to: z.array(z.string()).optional(),
  cc: z.array(z.string()).optional(),
  bcc: z.array(z.string()).optional(),
  sent_at: z.string().optional(),
});

/** A comment as CM returns it: what was sent plus response-only fields (docs/communications-mining.md#comment-fields). */
const commentViewSchema = z.looseObject({
  id: z.string(),
  timestamp: z.string(),
  thread_id: z.string().optional(),
  messages: z.array(messageSchema),
  user_properties: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  uid: z.string().optional(),
  source_id: z.string().optional(),
  created_at: z.string().optional(),
  last_modified: z.string().optional(),
  has_annotations: z.boolean().optional(),
});
export type CmCommentView = z.infer<typeof commentViewSchema>;

const sourceResponseSchema = z.looseObject({ status: z.literal('ok'), source: sourceSchema });
const commentResponseSchema = z.looseObject({ status: z.literal('ok'), comment: commentViewSchema });

export function createCmClient(options: CmClientOptions): CmClient {
  const base = normaliseBaseUrl(options.baseUrl);
  if (options.token === '') throw new TypeError('Communications Mining token must not be empty');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new TypeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const { logger, metrics } = options;
  const authorization = `Bearer ${options.token}`;

  /** One exchange: sends, reads the whole body under the timeout, returns the parsed JSON of a 2xx. */
  async function exchange(
    context: CmCallContext,
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    body: string | undefined,
    callOptions: CmCallOptions | undefined,
  ): Promise<unknown> {
    const started = performance.now();
    let outcome: CmRequestOutcome = 'connection';
    const timeout = AbortSignal.timeout(timeoutMs);
    const caller = callOptions?.signal;
    const signal = caller ? AbortSignal.any([caller, timeout]) : timeout;
    const headers: Record<string, string> = { authorization, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      let response: Response;
      let text: string;
      try {
        response = await fetchImpl(url, { method, headers, body, signal });
        text = await response.text();
      } catch (cause) {
        if (caller?.aborted) throw caller.reason;
        if (timeout.aborted) {
          outcome = 'timeout';
          throw new CmTimeoutError(context, timeoutMs);
        }
        throw new CmConnectionError(context, cause);
      }
      outcome = `${response.status}`;
      const parsed = parseJsonOrText(text);
      if (!response.ok)
        throw cmErrorFromResponse(context, { status: response.status, body: parsed, headers: response.headers });
      return parsed;
    } catch (error) {
      logger?.debug({ ...context, outcome, err: error }, 'communications mining call failed');
      throw error;
    } finally {
      const durationMs = performance.now() - started;
      metrics?.onRequest?.({ operation: context.operation, outcome, durationMs });
      logger?.trace({ ...context, method, outcome, durationMs: Math.round(durationMs) }, 'communications mining call');
    }
  }

  /** Validates a 2xx body; a mismatch is a `CmUnexpectedResponseError` naming what was wrong. */
  function expect<T>(context: CmCallContext, schema: z.ZodType<T>, body: unknown): T {
    const parsed = schema.safeParse(body);
    if (parsed.success) return parsed.data;
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
      .join('; ');
    throw new CmUnexpectedResponseError(context, 200, `unexpected response body: ${problems}`);
  }

  const sourcePath = (project: string, source: string) => ['api', 'v1', 'sources', project, source];

  return {
    async sync(project, source, comments, callOptions) {
      const context: CmCallContext = { operation: 'sync', project, source };
      const url = cmEndpoint(base, [...sourcePath(project, source), 'sync']);
      const body = await exchange(context, 'POST', url, syncBody(comments), callOptions);
      const {
        new: created,
        updated,
        unchanged,
        updated_properties_only,
        updated_text_changed,
      } = expect(context, syncResponseSchema, body);
      const counters: SyncCounters = { new: created, updated, unchanged };
      if (updated_properties_only !== undefined) counters.updated_properties_only = updated_properties_only;
      if (updated_text_changed !== undefined) counters.updated_text_changed = updated_text_changed;
      return counters;
    },

    async deleteComments(project, source, ids, callOptions) {
      if (ids.length === 0 || ids.length > MAX_IDS_PER_DELETE) {
        throw new RangeError(`deleteComments takes 1–${MAX_IDS_PER_DELETE} ids per call, got ${ids.length}`);
      }
      const context: CmCallContext = { operation: 'deleteComments', project, source };
      const url = cmEndpoint(
        base,
        [...sourcePath(project, source), 'comments'],
        ids.map((id) => ['id', id]),
      );
      try {
        expect(context, okResponseSchema, await exchange(context, 'DELETE', url, undefined, callOptions));
      } catch (error) {
        // docs/communications-mining.md#delete-comments: a missing id (or source) on delete means the comment is already gone.
        if (error instanceof CmNotFoundError) {
          logger?.debug(
            { ...context, ids: ids.length, cmMessage: error.cmMessage },
            'delete answered 404: treated as done',
          );
          return;
        }
        throw error;
      }
    },

    async getComment(project, source, id, callOptions) {
      const context: CmCallContext = { operation: 'getComment', project, source };
      const url = cmEndpoint(base, [...sourcePath(project, source), 'comments', id]);
      return expect(context, commentResponseSchema, await exchange(context, 'GET', url, undefined, callOptions))
        .comment;
    },

    async getSource(project, source, callOptions) {
      const context: CmCallContext = { operation: 'getSource', project, source };
      const url = cmEndpoint(base, sourcePath(project, source));
      return expect(context, sourceResponseSchema, await exchange(context, 'GET', url, undefined, callOptions)).source;
    },
  };
}

/** CM answers JSON; proxies and load balancers in front of it may not (docs/communications-mining.md#response-envelope). */
function parseJsonOrText(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
