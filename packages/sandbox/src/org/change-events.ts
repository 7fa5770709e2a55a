/**
 * The CDC event bus of the simulated org: replay ids, retention and channel routing
 * (docs/salesforce.md#replay-ids-and-retention, #cdc-channels, #change-event-format).
 *
 * Committed change events (from the store) and control-made events (gap, overflow, merged) are
 * appended here, get a replay id, and are retained for `retentionMs`. The CometD endpoint reads
 * this log to replay and listens to it for live delivery.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ChangeEventPayload, ChangeType, FieldValue, ObjectMeta } from './contracts.ts';
import { EMPTY_ID } from './ids.ts';
import { ALL_CHANGE_EVENTS_CHANNEL, changeEventChannelOf } from './metadata.ts';
import type { OrgStoreWithEvents } from './store.ts';

/** CDC retention (docs/salesforce.md#replay-ids-and-retention). */
export const DEFAULT_RETENTION_MS = 72 * 60 * 60 * 1000;
const DEFAULT_FIRST_REPLAY_ID = 1000;

/** The `data` of a CDC message as a faye listener receives it (docs/salesforce.md#change-event-message). */
export interface ChangeEventMessage {
  schema: string;
  payload: ChangeEventPayload;
  event: { replayId: number };
}

/** One retained event. */
export interface LoggedChangeEvent {
  replayId: number;
  /** Epoch ms at which it was appended; retention counts from here. */
  loggedAt: number;
  entityName: string;
  /** Every channel that carries it: its object's channel and `/data/ChangeEvents`. */
  channels: string[];
  message: ChangeEventMessage;
}

export type GapChangeType = 'GAP_CREATE' | 'GAP_UPDATE' | 'GAP_DELETE' | 'GAP_UNDELETE';

export interface ChangeEventLogOptions {
  /** Objects whose events may be logged; only those with `cdc: true` get channels. */
  objects: ObjectMeta[];
  /** How long events stay replayable. @defaultValue 72 h ({@link DEFAULT_RETENTION_MS}) */
  retentionMs?: number;
  /** Clock in epoch ms. @defaultValue Date.now */
  now?: () => number;
  /** Replay id of the first event. @defaultValue 1000 */
  firstReplayId?: number;
}

export type AppendListener = (event: LoggedChangeEvent) => void;

/**
 * A copy of a payload (JSON data: objects, arrays, field values), so that no caller can change a
 * logged event. A plain walk: `structuredClone` was the costliest step of a commit.
 */
function copyOf<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyOf) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = copyOf((value as Record<string, unknown>)[key]);
  return out as T;
}

export class ChangeEventLog {
  private readonly events: LoggedChangeEvent[] = [];
  private readonly listeners = new Set<AppendListener>();
  private readonly objectsByName = new Map<string, ObjectMeta>();
  private readonly knownChannels = new Set<string>([ALL_CHANGE_EVENTS_CHANNEL]);
  private readonly retentionMs: number;
  private readonly now: () => number;
  private lastId: number;
  /** Highest replay id that is no longer retained: replaying from below it would miss events. */
  private purgedThrough: number;
  private appended = 0;

  constructor(opts: ChangeEventLogOptions) {
    this.retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
    this.now = opts.now ?? Date.now;
    this.lastId = (opts.firstReplayId ?? DEFAULT_FIRST_REPLAY_ID) - 1;
    this.purgedThrough = this.lastId;
    for (const meta of opts.objects) {
      if (!meta.cdc) continue;
      this.objectsByName.set(meta.name, meta);
      this.knownChannels.add(changeEventChannelOf(meta));
    }
  }

  /** Append every committed event of `store` (non-CDC objects are already filtered by the store). */
  follow(store: OrgStoreWithEvents): () => void {
    return store.onCommit((payload) => {
      this.append(payload);
    });
  }

  /** Assign a replay id, retain, and notify live listeners. Unknown or non-CDC entities are dropped. */
  append(payload: ChangeEventPayload): LoggedChangeEvent | undefined {
    const meta = this.objectsByName.get(payload.ChangeEventHeader.entityName);
    if (!meta) return undefined;
    this.expire();
    // Replay ids are opaque and not contiguous (docs/salesforce.md#replay-ids-and-retention): advance by 1–3.
    this.appended += 1;
    this.lastId += 1 + ((this.appended * 7) % 3);
    const event: LoggedChangeEvent = {
      replayId: this.lastId,
      loggedAt: this.now(),
      entityName: meta.name,
      channels: [changeEventChannelOf(meta), ALL_CHANGE_EVENTS_CHANNEL],
      message: {
        schema: schemaIdOf(meta),
        payload: copyOf(payload),
        event: { replayId: this.lastId },
      },
    };
    this.events.push(event);
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /**
   * A gap event (docs/salesforce.md#gap-events): header only, no field data, `changeOrigin` empty. Several
   * recordIds make a merged gap event.
   */
  appendGap(
    entityName: string,
    changeType: GapChangeType,
    recordIds: string[],
    opts: { commitUser?: string } = {},
  ): LoggedChangeEvent | undefined {
    return this.append({ ChangeEventHeader: this.header(entityName, changeType, recordIds, '', opts.commitUser) });
  }

  /** An overflow event (docs/salesforce.md#overflow-events): one per entity, recordIds is the empty Id, no data. */
  appendOverflow(entityName: string, opts: { commitUser?: string } = {}): LoggedChangeEvent | undefined {
    return this.append({ ChangeEventHeader: this.header(entityName, 'GAP_OVERFLOW', [EMPTY_ID], '', opts.commitUser) });
  }

  /**
   * A merged change event built by hand (docs/salesforce.md#changeeventheader): several recordIds, one
   * body. For UPDATE, `changedFields` defaults to the body's field names.
   */
  appendMerged(
    entityName: string,
    changeType: 'CREATE' | 'UPDATE' | 'DELETE' | 'UNDELETE',
    recordIds: string[],
    fields: Record<string, FieldValue> = {},
    opts: { commitUser?: string; changeOrigin?: string } = {},
  ): LoggedChangeEvent | undefined {
    const header = this.header(
      entityName,
      changeType,
      recordIds,
      opts.changeOrigin ?? 'com/salesforce/api/rest/62.0;client=sandbox',
      opts.commitUser,
    );
    if (changeType === 'UPDATE') header.changedFields = Object.keys(fields);
    return this.append({ ChangeEventHeader: header, ...(changeType === 'DELETE' ? {} : fields) });
  }

  /** Retained events on `channel` with a replay id greater than `afterReplayId`, oldest first (at most `limit`). */
  eventsAfter(afterReplayId: number, channel?: string, limit = Infinity): LoggedChangeEvent[] {
    this.expire();
    // Replay ids grow: binary-search the first one after `afterReplayId`, so paging through a large log stays cheap.
    let low = 0;
    let high = this.events.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.events[mid]?.replayId ?? Infinity) > afterReplayId) high = mid;
      else low = mid + 1;
    }
    const out: LoggedChangeEvent[] = [];
    for (let i = low; i < this.events.length && out.length < limit; i++) {
      const event = this.events[i];
      if (event && (!channel || event.channels.includes(channel))) out.push(event);
    }
    return out;
  }

  /** Metadata of a CDC object (for its Avro schema). */
  objectMeta(entityName: string): ObjectMeta | undefined {
    return this.objectsByName.get(entityName);
  }

  /** Every CDC object. */
  cdcObjects(): ObjectMeta[] {
    return [...this.objectsByName.values()];
  }

  /** Every retained event, oldest first. */
  retained(): LoggedChangeEvent[] {
    this.expire();
    return [...this.events];
  }

  /** Replay id of the newest event ever appended (also when it has been purged since). */
  lastReplayId(): number {
    return this.lastId;
  }

  /**
   * Whether a subscriber that has seen everything up to `replayId` can resume from it: nothing
   * after it has been purged, and it is not from the future.
   */
  canReplayFrom(replayId: number): boolean {
    this.expire();
    return replayId >= this.purgedThrough && replayId <= this.lastId;
  }

  /** Channel names are case-sensitive (docs/salesforce.md#cdc-channels). */
  isKnownChannel(channel: string): boolean {
    return this.knownChannels.has(channel);
  }

  channels(): string[] {
    return [...this.knownChannels];
  }

  /** Drop every retained event (as if the retention window passed). */
  purge(): void {
    this.purgeThrough(this.lastId);
  }

  /** Drop retained events with a replay id lower than `replayId`. */
  purgeBefore(replayId: number): void {
    this.purgeThrough(replayId - 1);
  }

  onAppend(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private purgeThrough(replayId: number): void {
    while (this.events.length > 0 && (this.events[0]?.replayId ?? Infinity) <= replayId) this.events.shift();
    this.purgedThrough = Math.max(this.purgedThrough, Math.min(replayId, this.lastId));
  }

  private expire(): void {
    const cutoff = this.now() - this.retentionMs;
    let last: number | undefined;
    for (const e of this.events) {
      if (e.loggedAt >= cutoff) break;
      last = e.replayId;
    }
    if (last !== undefined) this.purgeThrough(last);
  }

  private header(
    entityName: string,
    changeType: ChangeType,
    recordIds: string[],
    changeOrigin: string,
    commitUser = '',
  ) {
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
      changedFields: [] as string[],
    };
  }
}

/** A stable 22-char stand-in for the Avro schema fingerprint of an object's change event. */
export function schemaIdOf(meta: ObjectMeta): string {
  const fingerprint = meta.fields.map((f) => `${f.name}:${f.type}`).join(',');
  return createHash('sha256').update(`${meta.name}|${fingerprint}`).digest('base64url').slice(0, 22);
}
