/**
 * In-memory state of the simulated Communications Mining tenant: sources, their comments, the
 * push history of every comment, and what the syncs did (new / updated / unchanged / billable).
 *
 * Each comment is kept as its JSON text, not as a tree of objects: a source of a million comments is
 * then a million strings, which the garbage collector marks at almost no cost (a tree costs a dozen
 * objects per comment, marked again at every major collection of a large load). Reads parse a copy and
 * freeze it, so tests cannot change what the store holds.
 */
import { randomBytes } from 'node:crypto';
import type { Comment } from './comment-schema.ts';

/** Path-name patterns of projects and sources (docs/communications-mining.md#sync-request, #limits). */
export const PROJECT_NAME_PATTERN = /^[A-Za-z0-9\-_.]{1,1024}$/;
export const SOURCE_NAME_PATTERN = /^[A-Za-z0-9\-_]{1,256}$/;

export type SourceLanguage = 'en' | 'de' | 'xlm';

/** Fields a client may set on create (`PUT`) or update (`POST`) (docs/communications-mining.md#sources). */
export interface SourceFields {
  title?: string;
  description?: string;
  language?: SourceLanguage;
  should_translate?: boolean;
  sensitive_properties?: string[];
}

/** A source as `GET /api/v1/sources/<project>/<name>` returns it (docs/communications-mining.md#sources). */
export interface Source {
  /** 16 lowercase hex characters. */
  id: string;
  /** The project (`owner` in the API). */
  owner: string;
  name: string;
  title: string;
  description: string;
  language: SourceLanguage;
  should_translate: boolean;
  sensitive_properties: string[];
  created_at: string;
  updated_at: string;
  last_modified: string;
  bucket_id: string | null;
}

/** How one synced comment compared with what the source held (docs/communications-mining.md#upsert-semantics-annotations-and-billing). */
export type SyncOutcome = 'new' | 'unchanged' | 'updated_properties_only' | 'updated_text_changed';

/** One comment as the source currently holds it. */
export interface StoredComment {
  /** Exactly what the last accepted `/sync` sent for this id (full overwrite, docs/communications-mining.md#upsert-semantics-annotations-and-billing). */
  comment: Comment;
  /** Platform-wide id: `<source_id>.<comment id>`. */
  uid: string;
  source_id: string;
  /** When this id was (last) created; a deleted and re-synced id gets a new one. */
  created_at: string;
  /** When the content last changed; an unchanged re-sync leaves it alone. */
  last_modified: string;
  /** `seq` of the history entry that produced this version. */
  seq: number;
}

interface HistoryEntryBase {
  /** Strictly increasing across the whole store, never reused (not even after `reset()`). */
  seq: number;
  /** ISO-8601 time the store accepted the change. */
  at: string;
  project: string;
  source: string;
  commentId: string;
}

/** One accepted `/sync` of one comment, unchanged re-syncs included. */
export interface UpsertHistoryEntry extends HistoryEntryBase {
  kind: 'upsert';
  outcome: SyncOutcome;
  comment: Comment;
}

/** One id named in a delete call. `existed: false` means the id was not there (ignored). */
export interface DeleteHistoryEntry extends HistoryEntryBase {
  kind: 'delete';
  existed: boolean;
}

export type HistoryEntry = UpsertHistoryEntry | DeleteHistoryEntry;

export interface HistoryFilter {
  project?: string;
  source?: string;
  commentId?: string;
}

/** The counters a `/sync` response carries (docs/communications-mining.md#sync-response). `updated` = the two `updated_*`. */
export interface SyncCounts {
  new: number;
  updated: number;
  unchanged: number;
  updated_properties_only: number;
  updated_text_changed: number;
}

/** Totals since start or `reset()`. */
export interface CommentCounts extends SyncCounts {
  /** Ids removed by delete calls. */
  deleted: number;
  /** Ids named in delete calls that did not exist. */
  deleted_missing: number;
  /** Billed comments: created, or updated with changed messages (docs/communications-mining.md#upsert-semantics-annotations-and-billing). */
  billable: number;
}

export class SourceExistsError extends Error {
  constructor(project: string, name: string) {
    super(`Source '${project}/${name}' already exists`);
    this.name = 'SourceExistsError';
  }
}

/** What the store keeps of a comment: `StoredComment` with the comment as JSON text. */
interface KeptComment extends Omit<StoredComment, 'comment'> {
  json: string;
}

/** What the store keeps of an upsert: `UpsertHistoryEntry` with the comment as JSON text. */
interface KeptUpsert extends Omit<UpsertHistoryEntry, 'comment'> {
  json: string;
}

type KeptHistoryEntry = KeptUpsert | DeleteHistoryEntry;

interface SourceState {
  source: Source;
  comments: Map<string, KeptComment>;
}

/** A frozen copy of what the store keeps, with `comment` parsed from `json` (and frozen) when first read. */
function withComment<T extends { json: string }>({
  json,
  ...kept
}: T): Readonly<Omit<T, 'json'> & { comment: Comment }> {
  let comment: Comment | undefined;
  return Object.freeze({
    ...kept,
    get comment(): Comment {
      return (comment ??= deepFreeze(JSON.parse(json) as Comment));
    },
  });
}

function historyView(entry: KeptHistoryEntry): HistoryEntry {
  return entry.kind === 'delete' ? entry : withComment(entry);
}

function zeroCounts(): CommentCounts {
  return {
    new: 0,
    updated: 0,
    unchanged: 0,
    updated_properties_only: 0,
    updated_text_changed: 0,
    deleted: 0,
    deleted_missing: 0,
    billable: 0,
  };
}

/** JSON with object keys sorted, so key order never makes two equal comments differ. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key];
    return sorted;
  });
}

/**
 * Billing (docs/communications-mining.md#upsert-semantics-annotations-and-billing). "Text changed" is
 * read as "messages differ" (sent_at, from… included), which is also when assigned entities are
 * discarded. The real billing rule ("its text was modified") may be narrower; the sandbox errs towards
 * counting a bill.
 */
function classify(previousJson: string | undefined, next: Comment): SyncOutcome {
  if (previousJson === undefined) return 'new';
  const previous = JSON.parse(previousJson) as Comment;
  if (canonicalJson(previous) === canonicalJson(next)) return 'unchanged';
  if (canonicalJson(previous.messages) === canonicalJson(next.messages)) return 'updated_properties_only';
  return 'updated_text_changed';
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function sourceKey(project: string, name: string): string {
  return `${project}/${name}`;
}

export class CmStore {
  #sources = new Map<string, SourceState>();
  #history: KeptHistoryEntry[] = [];
  #counts = zeroCounts();
  #seq = 0;
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  listSources(project?: string): Source[] {
    return [...this.#sources.values()]
      .map((state) => state.source)
      .filter((source) => project === undefined || source.owner === project);
  }

  getSource(project: string, name: string): Source | undefined {
    return this.#sources.get(sourceKey(project, name))?.source;
  }

  getSourceById(id: string): Source | undefined {
    return this.listSources().find((source) => source.id === id);
  }

  /** Throws `SourceExistsError` when it exists. Names must match the reference patterns (callers check). */
  createSource(project: string, name: string, fields: SourceFields = {}): Source {
    const key = sourceKey(project, name);
    if (this.#sources.has(key)) throw new SourceExistsError(project, name);
    const at = this.#now().toISOString();
    const source: Source = deepFreeze({
      id: randomBytes(8).toString('hex'),
      owner: project,
      name,
      title: fields.title ?? '',
      description: fields.description ?? '',
      language: fields.language ?? 'en',
      should_translate: fields.should_translate ?? false,
      sensitive_properties: [...(fields.sensitive_properties ?? [])],
      created_at: at,
      updated_at: at,
      last_modified: at,
      bucket_id: null,
    });
    this.#sources.set(key, { source, comments: new Map() });
    return source;
  }

  /** Changes only the given fields; undefined when the source does not exist. */
  updateSource(project: string, name: string, fields: SourceFields): Source | undefined {
    const state = this.#sources.get(sourceKey(project, name));
    if (!state) return undefined;
    const at = this.#now().toISOString();
    const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    state.source = deepFreeze({ ...state.source, ...defined, updated_at: at, last_modified: at });
    return state.source;
  }

  /**
   * Stores an already validated batch (full overwrite per id) and returns the response counters.
   * Throws when the source does not exist: the route checks first.
   */
  sync(project: string, name: string, comments: readonly Comment[]): SyncCounts {
    const state = this.#requireSource(project, name);
    const counts: SyncCounts = {
      new: 0,
      updated: 0,
      unchanged: 0,
      updated_properties_only: 0,
      updated_text_changed: 0,
    };
    const at = this.#now().toISOString();
    for (const comment of comments) {
      const json = JSON.stringify(comment);
      const previous = state.comments.get(comment.id);
      const outcome = classify(previous?.json, comment);
      counts[outcome]++;
      if (outcome === 'updated_properties_only' || outcome === 'updated_text_changed') counts.updated++;
      const seq = ++this.#seq;
      this.#history.push(
        Object.freeze({ seq, at, project, source: name, commentId: comment.id, kind: 'upsert', outcome, json }),
      );
      if (outcome === 'unchanged') continue;
      state.comments.set(comment.id, {
        json,
        uid: `${state.source.id}.${comment.id}`,
        source_id: state.source.id,
        created_at: previous?.created_at ?? at,
        last_modified: at,
        seq,
      });
    }
    this.#counts.new += counts.new;
    this.#counts.updated += counts.updated;
    this.#counts.unchanged += counts.unchanged;
    this.#counts.updated_properties_only += counts.updated_properties_only;
    this.#counts.updated_text_changed += counts.updated_text_changed;
    this.#counts.billable += counts.new + counts.updated_text_changed;
    return counts;
  }

  /** Deletes the ids that exist and ignores the rest; every id named gets a history entry. */
  deleteComments(project: string, name: string, ids: readonly string[]): { deleted: string[]; missing: string[] } {
    const state = this.#requireSource(project, name);
    const at = this.#now().toISOString();
    const deleted: string[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const existed = state.comments.delete(id);
      (existed ? deleted : missing).push(id);
      this.#history.push(
        Object.freeze({ seq: ++this.#seq, at, project, source: name, commentId: id, kind: 'delete', existed }),
      );
    }
    this.#counts.deleted += deleted.length;
    this.#counts.deleted_missing += missing.length;
    return { deleted, missing };
  }

  /** Comments of a source in the order they were created; empty when the source does not exist. */
  comments(project: string, name: string): StoredComment[] {
    return [...(this.#sources.get(sourceKey(project, name))?.comments.values() ?? [])].map(withComment);
  }

  comment(project: string, name: string, id: string): StoredComment | undefined {
    const kept = this.#sources.get(sourceKey(project, name))?.comments.get(id);
    return kept && withComment(kept);
  }

  /** Every accepted change in `seq` order, optionally narrowed to a source or a comment id. */
  history(filter: HistoryFilter = {}): HistoryEntry[] {
    return this.#history
      .filter(
        (entry) =>
          (filter.project === undefined || entry.project === filter.project) &&
          (filter.source === undefined || entry.source === filter.source) &&
          (filter.commentId === undefined || entry.commentId === filter.commentId),
      )
      .map(historyView);
  }

  commentCounts(): CommentCounts {
    return { ...this.#counts };
  }

  /** Drops every source, comment, history entry and count. `seq` keeps counting up. */
  clear(): void {
    this.#sources.clear();
    this.#history = [];
    this.#counts = zeroCounts();
  }

  #requireSource(project: string, name: string): SourceState {
    const state = this.#sources.get(sourceKey(project, name));
    if (!state) throw new Error(`Source '${project}/${name}' does not exist`);
    return state;
  }
}
