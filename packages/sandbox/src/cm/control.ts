/**
 * `CmControl`: what a test (or the demo) can see and steer in the simulated CM tenant. The HTTP
 * control API under `/_sandbox/cm` (control-routes.ts) exposes the same operations.
 */
import { z } from 'zod';
import {
  FaultPlan,
  type ActiveFaults,
  type DropNextOptions,
  type FailNextOptions,
  type FailUntilClearedOptions,
  type LatencyOptions,
} from './faults.ts';
import { InvalidInputError, parseOrThrow } from './input.ts';
import { RequestCounters, type RequestCountsByRoute } from './request-counters.ts';
import {
  PROJECT_NAME_PATTERN,
  SOURCE_NAME_PATTERN,
  type CmStore,
  type CommentCounts,
  type HistoryEntry,
  type HistoryFilter,
  type Source,
  type SourceFields,
  type StoredComment,
} from './store.ts';

export interface CmCounters {
  /** Route name → HTTP status (or `"dropped"`) → count, e.g. `requests.sync?.["429"]`. */
  requests: RequestCountsByRoute;
  /** `/api` requests received and not yet answered or dropped (e.g. waiting in injected latency). */
  inFlight: number;
  /** What syncs and deletes did to comments; `billable` = new + updated_text_changed. */
  comments: CommentCounts;
}

export interface CmControl {
  /** Every source in the tenant. */
  sources(): Source[];
  /** Creates a source without going through the API (no token, no faults). Throws if it exists. */
  createSource(project: string, name: string, fields?: SourceFields): Source;
  /** The comments a source holds now, in creation order; `[]` when the source does not exist. */
  comments(project: string, source: string): StoredComment[];
  /** One stored comment, or undefined. */
  comment(project: string, source: string, id: string): StoredComment | undefined;
  /**
   * Every accepted version of every comment (unchanged re-syncs included) and every delete, in
   * `seq` order, with the time it was accepted. Narrow with `{ project, source, commentId }`.
   */
  history(filter?: HistoryFilter): HistoryEntry[];
  /** Request and comment counters since start or the last `reset()`. */
  counters(): CmCounters;
  /** The next `count` (default 1) matching `/api` requests answer `status` with the error envelope. */
  failNext(opts: FailNextOptions): void;
  /** Every matching `/api` request answers `status` until `clearFaults()`: an outage window. */
  failUntilCleared(opts: FailUntilClearedOptions): void;
  /** Delays every matching `/api` request by `ms` until `clearFaults()` or `latency(0)`. */
  latency(ms: number, opts?: LatencyOptions): void;
  /** The next `count` matching `/api` requests lose their connection with no response. */
  dropNext(count?: number, opts?: Omit<DropNextOptions, 'count'>): void;
  /** What is armed now. */
  faults(): ActiveFaults;
  clearFaults(): void;
  /**
   * Replaces the accepted Bearer tokens, e.g. to play a user regenerating their token, which
   * revokes the old one (docs/communications-mining.md#authentication, #pitfall-12-one-api-token-per-user).
   */
  setTokens(tokens: string[]): void;
  /**
   * Back to the start state: the configured sources (empty, with new ids), the configured tokens,
   * no history, zero counters, no faults. History `seq` numbers keep increasing.
   */
  reset(): void;
}

export const sourceFieldsSchema = z.strictObject({
  title: z.string().max(128).optional(),
  description: z.string().max(16384).optional(),
  language: z.enum(['en', 'de', 'xlm']).optional(),
  should_translate: z.boolean().optional(),
  sensitive_properties: z.array(z.string()).max(4096).optional(),
});

export const tokensSchema = z.array(z.string().min(1, { error: 'a token must not be empty' }));

/** Checks a project/source pair against the name patterns (docs/communications-mining.md#limits); throws a readable error. */
export function assertSourceNames(project: string, name: string): void {
  if (!PROJECT_NAME_PATTERN.test(project)) {
    throw new InvalidInputError(`Invalid project name ${JSON.stringify(project)}: must match ${PROJECT_NAME_PATTERN}`);
  }
  if (!SOURCE_NAME_PATTERN.test(name)) {
    throw new InvalidInputError(`Invalid source name ${JSON.stringify(name)}: must match ${SOURCE_NAME_PATTERN}`);
  }
}

/** Shared mutable state the API routes read on every request. */
export interface CmRuntime {
  store: CmStore;
  faults: FaultPlan;
  requests: RequestCounters;
  tokens: Set<string>;
}

export interface CmInitialState {
  tokens: readonly string[];
  sources: ReadonlyArray<{ project: string; name: string }>;
}

export function createCmRuntime(store: CmStore): CmRuntime {
  return { store, faults: new FaultPlan(), requests: new RequestCounters(), tokens: new Set() };
}

export function createCmControl(runtime: CmRuntime, initial: CmInitialState): CmControl {
  const { store, faults, requests } = runtime;
  const control: CmControl = {
    sources: () => store.listSources(),
    createSource(project, name, fields = {}) {
      assertSourceNames(project, name);
      return store.createSource(project, name, parseOrThrow(sourceFieldsSchema, fields, 'source fields'));
    },
    comments: (project, source) => store.comments(project, source),
    comment: (project, source, id) => store.comment(project, source, id),
    history: (filter) => store.history(filter),
    counters: () => ({ requests: requests.snapshot(), inFlight: requests.inFlight(), comments: store.commentCounts() }),
    failNext: (opts) => faults.failNext(opts),
    failUntilCleared: (opts) => faults.failUntilCleared(opts),
    latency: (ms, opts) => faults.latency(ms, opts),
    dropNext: (count = 1, opts = {}) => faults.dropNext({ ...opts, count }),
    faults: () => faults.active(),
    clearFaults: () => faults.clear(),
    setTokens(tokens) {
      const valid = parseOrThrow(tokensSchema, tokens, 'tokens');
      runtime.tokens.clear();
      for (const token of valid) runtime.tokens.add(token);
    },
    reset() {
      store.clear();
      faults.clear();
      requests.clear();
      control.setTokens([...initial.tokens]);
      for (const { project, name } of initial.sources) control.createSource(project, name);
    },
  };
  return control;
}
