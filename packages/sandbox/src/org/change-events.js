/**
 * The CDC event bus of the simulated org: replay ids, retention and channel routing
 * (docs/salesforce.md#replay-ids-and-retention, #cdc-channels, #change-event-format).
 *
 * Committed change events (from the store) and control-made events (gap, overflow, merged) are
 * appended here, get a replay id, and are retained for `retentionMs`. The CometD endpoint reads
 * this log to replay and listens to it for live delivery.
 */
import { createHash, randomUUID } from 'node:crypto';
import { EMPTY_ID } from "./ids.js";
import { ALL_CHANGE_EVENTS_CHANNEL, changeEventChannelOf } from "./metadata.js";
/** CDC retention (docs/salesforce.md#replay-ids-and-retention). */
export const DEFAULT_RETENTION_MS = 72 * 60 * 60 * 1000;
const DEFAULT_FIRST_REPLAY_ID = 1000;
export class ChangeEventLog {
    events = [];
    listeners = new Set();
    objectsByName = new Map();
    knownChannels = new Set([ALL_CHANGE_EVENTS_CHANNEL]);
    retentionMs;
    now;
    lastId;
    /** Highest replay id that is no longer retained: replaying from below it would miss events. */
    purgedThrough;
    appended = 0;
    constructor(opts) {
        this.retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
        this.now = opts.now ?? Date.now;
        this.lastId = (opts.firstReplayId ?? DEFAULT_FIRST_REPLAY_ID) - 1;
        this.purgedThrough = this.lastId;
        for (const meta of opts.objects) {
            if (!meta.cdc)
                continue;
            this.objectsByName.set(meta.name, meta);
            this.knownChannels.add(changeEventChannelOf(meta));
        }
    }
    /** Append every committed event of `store` (non-CDC objects are already filtered by the store). */
    follow(store) {
        return store.onCommit((payload) => {
            this.append(payload);
        });
    }
    /** Assign a replay id, retain, and notify live listeners. Unknown or non-CDC entities are dropped. */
    append(payload) {
        const meta = this.objectsByName.get(payload.ChangeEventHeader.entityName);
        if (!meta)
            return undefined;
        this.expire();
        // Replay ids are opaque and not contiguous (docs/salesforce.md#replay-ids-and-retention): advance by 1–3.
        this.appended += 1;
        this.lastId += 1 + ((this.appended * 7) % 3);
        const event = {
            replayId: this.lastId,
            loggedAt: this.now(),
            entityName: meta.name,
            channels: [changeEventChannelOf(meta), ALL_CHANGE_EVENTS_CHANNEL],
            message: {
                schema: schemaIdOf(meta),
                payload: structuredClone(payload),
                event: { replayId: this.lastId },
            },
        };
        this.events.push(event);
        for (const listener of this.listeners)
            listener(event);
        return event;
    }
    /**
     * A gap event (docs/salesforce.md#gap-events): header only, no field data, `changeOrigin` empty. Several
     * recordIds make a merged gap event.
     */
    appendGap(entityName, changeType, recordIds, opts = {}) {
        return this.append({ ChangeEventHeader: this.header(entityName, changeType, recordIds, '', opts.commitUser) });
    }
    /** An overflow event (docs/salesforce.md#overflow-events): one per entity, recordIds is the empty Id, no data. */
    appendOverflow(entityName, opts = {}) {
        return this.append({ ChangeEventHeader: this.header(entityName, 'GAP_OVERFLOW', [EMPTY_ID], '', opts.commitUser) });
    }
    /**
     * A merged change event built by hand (docs/salesforce.md#changeeventheader): several recordIds, one
     * body. For UPDATE, `changedFields` defaults to the body's field names.
     */
    appendMerged(entityName, changeType, recordIds, fields = {}, opts = {}) {
        const header = this.header(entityName, changeType, recordIds, opts.changeOrigin ?? 'com/salesforce/api/rest/62.0;client=sandbox', opts.commitUser);
        if (changeType === 'UPDATE')
            header.changedFields = Object.keys(fields);
        return this.append({ ChangeEventHeader: header, ...(changeType === 'DELETE' ? {} : fields) });
    }
    /** Retained events on `channel` with a replay id greater than `afterReplayId`, oldest first (at most `limit`). */
    eventsAfter(afterReplayId, channel, limit = Infinity) {
        this.expire();
        // Replay ids grow: binary-search the first one after `afterReplayId`, so paging through a large log stays cheap.
        let low = 0;
        let high = this.events.length;
        while (low < high) {
            const mid = (low + high) >>> 1;
            if ((this.events[mid]?.replayId ?? Infinity) > afterReplayId)
                high = mid;
            else
                low = mid + 1;
        }
        const out = [];
        for (let i = low; i < this.events.length && out.length < limit; i++) {
            const event = this.events[i];
            if (event && (!channel || event.channels.includes(channel)))
                out.push(event);
        }
        return out;
    }
    /** Metadata of a CDC object (for its Avro schema). */
    objectMeta(entityName) {
        return this.objectsByName.get(entityName);
    }
    /** Every CDC object. */
    cdcObjects() {
        return [...this.objectsByName.values()];
    }
    /** Every retained event, oldest first. */
    retained() {
        this.expire();
        return [...this.events];
    }
    /** Replay id of the newest event ever appended (also when it has been purged since). */
    lastReplayId() {
        return this.lastId;
    }
    /**
     * Whether a subscriber that has seen everything up to `replayId` can resume from it: nothing
     * after it has been purged, and it is not from the future.
     */
    canReplayFrom(replayId) {
        this.expire();
        return replayId >= this.purgedThrough && replayId <= this.lastId;
    }
    /** Channel names are case-sensitive (docs/salesforce.md#cdc-channels). */
    isKnownChannel(channel) {
        return this.knownChannels.has(channel);
    }
    channels() {
        return [...this.knownChannels];
    }
    /** Drop every retained event (as if the retention window passed). */
    purge() {
        this.purgeThrough(this.lastId);
    }
    /** Drop retained events with a replay id lower than `replayId`. */
    purgeBefore(replayId) {
        this.purgeThrough(replayId - 1);
    }
    onAppend(listener) {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
    }
    purgeThrough(replayId) {
        while (this.events.length > 0 && (this.events[0]?.replayId ?? Infinity) <= replayId)
            this.events.shift();
        this.purgedThrough = Math.max(this.purgedThrough, Math.min(replayId, this.lastId));
    }
    expire() {
        const cutoff = this.now() - this.retentionMs;
        let last;
        for (const e of this.events) {
            if (e.loggedAt >= cutoff)
                break;
            last = e.replayId;
        }
        if (last !== undefined)
            this.purgeThrough(last);
    }
    header(entityName, changeType, recordIds, changeOrigin, commitUser = '') {
        const now = this.now();
        return {
            entityName,
            recordIds: [...recordIds],
            changeType,
            changeOrigin,
            transactionKey: randomUUID(),
            sequenceNumber: 1,
            commitTimestamp: Math.floor(now / 1000) * 1000,
            commitNumber: now,
            commitUser,
            changedFields: [],
        };
    }
}
/** A stable 22-char stand-in for the Avro schema fingerprint of an object's change event. */
export function schemaIdOf(meta) {
    const fingerprint = meta.fields.map((f) => `${f.name}:${f.type}`).join(',');
    return createHash('sha256').update(`${meta.name}|${fingerprint}`).digest('base64url').slice(0, 22);
}
