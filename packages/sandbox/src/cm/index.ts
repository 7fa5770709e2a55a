/**
 * The simulated UiPath Communications Mining API, for integration tests, `sf-cm-bridge demo` and
 * offline development. It follows docs/communications-mining.md: base path, Bearer auth and envelope
 * (#base-url-authentication-and-envelope), strict comment validation (#comment-model), sync / get /
 * delete (#syncing-comments), sources (#sources), limits (#limits). Where the docs mark a fact
 * Unverified it is strict and says so.
 *
 *   const cm = await startCommunicationsMining({ tokens: ['t'], basePath: '/org/tenant/reinfer_',
 *                                                sources: [{ project: 'p', name: 's' }] });
 *   // bridge posts to `${cm.url}/api/v1/sources/p/s/sync`
 *   cm.control.history({ commentId: 'x' }); cm.control.failNext({ status: 429, retryAfterSeconds: 2 });
 *   await cm.close();
 */
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { createCmControl, createCmRuntime, tokensSchema, type CmControl } from './control.ts';
import { parseOrThrow } from './input.ts';
import { buildCmApp, DEFAULT_BODY_LIMIT_BYTES } from './server.ts';
import { CmStore } from './store.ts';

export type { CmControl, CmCounters } from './control.ts';
export type {
  ActiveFaults,
  CmRouteName,
  DropNextOptions,
  FailNextOptions,
  FailUntilClearedOptions,
  LatencyOptions,
} from './faults.ts';
export { CM_ROUTE_NAMES } from './faults.ts';
export type {
  CommentCounts,
  DeleteHistoryEntry,
  HistoryEntry,
  HistoryFilter,
  Source,
  SourceFields,
  StoredComment,
  SyncCounts,
  SyncOutcome,
  UpsertHistoryEntry,
} from './store.ts';
export type { Comment, Message } from './comment-schema.ts';
export { commentSchema, validateSyncBody } from './comment-schema.ts';
export { CONTROL_PREFIX } from './control-routes.ts';
export { MAX_IDS_PER_DELETE } from './api-routes.ts';
export { DEFAULT_BODY_LIMIT_BYTES } from './server.ts';

export interface CommunicationsMiningOptions {
  /** Interface to listen on. @defaultValue '127.0.0.1' */
  host?: string;
  /** @defaultValue 0 (a free port) */
  port?: number;
  /** Tenant path before `/api`, e.g. '/org/tenant/reinfer_' (docs/communications-mining.md#base-url). @defaultValue '' */
  basePath?: string;
  /** Accepted Bearer tokens; anything else is a 401. */
  tokens: string[];
  /** Sources that exist from the start (and again after `reset()`). */
  sources?: Array<{ project: string; name: string }>;
  /** Sync to an unknown source creates it instead of answering 404 like the real API. @defaultValue false */
  autoCreateSources?: boolean;
  /** Larger request bodies get 413. @defaultValue 64 MiB */
  bodyLimitBytes?: number;
}

export interface SimulatedCommunicationsMining {
  /** Base URL including basePath, no trailing slash; the API is at `${url}/api/v1/...`. */
  url: string;
  /** In-process control; also served over HTTP under `/_sandbox/cm` (see control-routes.ts). */
  control: CmControl;
  close(): Promise<void>;
}

const optionsSchema = z.strictObject({
  host: z.string().min(1).optional(),
  port: z.number().int().min(0).max(65535).optional(),
  basePath: z
    .string()
    .regex(/^\/?([A-Za-z0-9._~-]+\/)*([A-Za-z0-9._~-]+)?\/?$/, {
      error: 'must be path segments like /org/tenant/reinfer_',
    })
    .optional(),
  tokens: tokensSchema,
  sources: z.array(z.strictObject({ project: z.string(), name: z.string() })).optional(),
  autoCreateSources: z.boolean().optional(),
  bodyLimitBytes: z.number().int().positive().optional(),
});

/** `org/tenant/reinfer_/` → `/org/tenant/reinfer_`; `''` and `/` → `''`. */
function normaliseBasePath(basePath: string): string {
  const trimmed = basePath.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `/${trimmed}`;
}

export async function startCommunicationsMining(
  opts: CommunicationsMiningOptions,
): Promise<SimulatedCommunicationsMining> {
  const valid = parseOrThrow(optionsSchema, opts, 'CommunicationsMiningOptions');
  const basePath = normaliseBasePath(valid.basePath ?? '');
  const runtime = createCmRuntime(new CmStore());
  const control = createCmControl(runtime, { tokens: valid.tokens, sources: valid.sources ?? [] });
  control.reset(); // creates the configured sources and installs the tokens

  const closing = new AbortController();
  const app = buildCmApp({
    runtime,
    control,
    basePath,
    autoCreateSources: valid.autoCreateSources ?? false,
    bodyLimitBytes: valid.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    closing: closing.signal,
  });
  const host = valid.host ?? '127.0.0.1';
  await app.listen({ host, port: valid.port ?? 0 });
  const { port } = app.server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}${basePath}`,
    control,
    close() {
      closed ??= (async () => {
        closing.abort();
        await app.close();
      })();
      return closed;
    },
  };
}
