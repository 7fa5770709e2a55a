/**
 * In-memory state of the simulated Communications Mining tenant: sources, their comments, the
 * push history of every comment, and what the syncs did (new / updated / unchanged / billable).
 *
 * Stored comments and history entries are frozen: tests get them by reference and cannot change
 * what the store holds.
 */
import { randomBytes } from 'node:crypto';
/** Path-name patterns of projects and sources (docs/communications-mining.md#sync-request, #limits). */
export const PROJECT_NAME_PATTERN = /^[A-Za-z0-9\-_.]{1,1024}$/;
export const SOURCE_NAME_PATTERN = /^[A-Za-z0-9\-_]{1,256}$/;
export class SourceExistsError extends Error {
    constructor(project, name) {
        super(`Source '${project}/${name}' already exists`);
        this.name = 'SourceExistsError';
    }
}
function zeroCounts() {
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
function canonicalJson(value) {
    return JSON.stringify(value, (_key, v) => {
        if (typeof v !== 'object' || v === null || Array.isArray(v))
            return v;
        const sorted = {};
        for (const key of Object.keys(v).sort())
            sorted[key] = v[key];
        return sorted;
    });
}
/**
 * Billing (docs/communications-mining.md#upsert-semantics-annotations-and-billing). "Text changed" is
 * read as "messages differ" (sent_at, from… included), which is also when assigned entities are
 * discarded. The real billing rule ("its text was modified") may be narrower; the sandbox errs towards
 * counting a bill.
 */
function classify(previous, next) {
    if (previous === undefined)
        return 'new';
    if (canonicalJson(previous) === canonicalJson(next))
        return 'unchanged';
    if (canonicalJson(previous.messages) === canonicalJson(next.messages))
        return 'updated_properties_only';
    return 'updated_text_changed';
}
function deepFreeze(value) {
    if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
        Object.freeze(value);
        for (const child of Object.values(value))
            deepFreeze(child);
    }
    return value;
}
function sourceKey(project, name) {
    return `${project}/${name}`;
}
export class CmStore {
    #sources = new Map();
    #history = [];
    #counts = zeroCounts();
    #seq = 0;
    #now;
    constructor(now = () => new Date()) {
        this.#now = now;
    }
    listSources(project) {
        return [...this.#sources.values()]
            .map((state) => state.source)
            .filter((source) => project === undefined || source.owner === project);
    }
    getSource(project, name) {
        return this.#sources.get(sourceKey(project, name))?.source;
    }
    getSourceById(id) {
        return this.listSources().find((source) => source.id === id);
    }
    /** Throws `SourceExistsError` when it exists. Names must match the reference patterns (callers check). */
    createSource(project, name, fields = {}) {
        const key = sourceKey(project, name);
        if (this.#sources.has(key))
            throw new SourceExistsError(project, name);
        const at = this.#now().toISOString();
        const source = deepFreeze({
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
    updateSource(project, name, fields) {
        const state = this.#sources.get(sourceKey(project, name));
        if (!state)
            return undefined;
        const at = this.#now().toISOString();
        const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
        state.source = deepFreeze({ ...state.source, ...defined, updated_at: at, last_modified: at });
        return state.source;
    }
    /**
     * Stores an already validated batch (full overwrite per id) and returns the response counters.
     * Throws when the source does not exist: the route checks first.
     */
    sync(project, name, comments) {
        const state = this.#requireSource(project, name);
        const counts = {
            new: 0,
            updated: 0,
            unchanged: 0,
            updated_properties_only: 0,
            updated_text_changed: 0,
        };
        const at = this.#now().toISOString();
        for (const raw of comments) {
            const comment = deepFreeze(raw);
            const previous = state.comments.get(comment.id);
            const outcome = classify(previous?.comment, comment);
            counts[outcome]++;
            if (outcome === 'updated_properties_only' || outcome === 'updated_text_changed')
                counts.updated++;
            const seq = ++this.#seq;
            this.#history.push(deepFreeze({ seq, at, project, source: name, commentId: comment.id, kind: 'upsert', outcome, comment }));
            if (outcome === 'unchanged')
                continue;
            state.comments.set(comment.id, {
                comment,
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
    deleteComments(project, name, ids) {
        const state = this.#requireSource(project, name);
        const at = this.#now().toISOString();
        const deleted = [];
        const missing = [];
        for (const id of ids) {
            const existed = state.comments.delete(id);
            (existed ? deleted : missing).push(id);
            this.#history.push(deepFreeze({ seq: ++this.#seq, at, project, source: name, commentId: id, kind: 'delete', existed }));
        }
        this.#counts.deleted += deleted.length;
        this.#counts.deleted_missing += missing.length;
        return { deleted, missing };
    }
    /** Comments of a source in the order they were created; empty when the source does not exist. */
    comments(project, name) {
        return [...(this.#sources.get(sourceKey(project, name))?.comments.values() ?? [])];
    }
    comment(project, name, id) {
        return this.#sources.get(sourceKey(project, name))?.comments.get(id);
    }
    /** Every accepted change in `seq` order, optionally narrowed to a source or a comment id. */
    history(filter = {}) {
        return this.#history.filter((entry) => (filter.project === undefined || entry.project === filter.project) &&
            (filter.source === undefined || entry.source === filter.source) &&
            (filter.commentId === undefined || entry.commentId === filter.commentId));
    }
    commentCounts() {
        return { ...this.#counts };
    }
    /** Drops every source, comment, history entry and count. `seq` keeps counting up. */
    clear() {
        this.#sources.clear();
        this.#history = [];
        this.#counts = zeroCounts();
    }
    #requireSource(project, name) {
        const state = this.#sources.get(sourceKey(project, name));
        if (!state)
            throw new Error(`Source '${project}/${name}' does not exist`);
        return state;
    }
}
