/**
 * What one CDC message means for the bridge (docs/salesforce.md#change-event-format): change jobs, a
 * reconciliation of the whole object, or a dead letter. Pure: no I/O, so every case is tested
 * table-driven.
 *
 * - CREATE / UPDATE / UNDELETE → one job per record id (merged events name several,
 *   docs/salesforce.md#changeeventheader).
 * - DELETE → DELETE jobs; the worker's fetch confirms the record is gone (it may be undeleted since).
 * - GAP_* → GAP jobs: the record changed but the event has no data; fetch it by id
 *   (docs/salesforce.md#gap-events).
 * - GAP_OVERFLOW, or a wildcard record id (`001*`, custom field type conversion) → reconcile the
 *   whole object (docs/salesforce.md#overflow-events).
 * - Anything that does not fit the schema → a dead letter with the reason; never a crash.
 */
import { z } from 'zod';
import { ReplayIdSchema, type ChangeJob, type ChangeKind, type ReplayId } from '../../model/change.ts';
import { SALESFORCE_ID } from '../../model/record-id.ts';

/** `001*`: every record of the object (custom field type conversions, docs/salesforce.md#changeeventheader). */
const WILDCARD_ID = /^[A-Za-z0-9]{3}\*$/;

const CHANGE_TYPES = [
  'CREATE',
  'UPDATE',
  'DELETE',
  'UNDELETE',
  'GAP_CREATE',
  'GAP_UPDATE',
  'GAP_DELETE',
  'GAP_UNDELETE',
  'GAP_OVERFLOW',
] as const;
type ChangeType = (typeof CHANGE_TYPES)[number];

export const ChangeEventHeaderSchema = z
  .object({
    entityName: z.string().min(1),
    recordIds: z.array(z.string()).min(1),
    changeType: z.enum(CHANGE_TYPES),
    /** Epoch ms of the commit. */
    commitTimestamp: z.number().int().nonnegative(),
    transactionKey: z.string().optional(),
    sequenceNumber: z.number().int().optional(),
    changeOrigin: z.string().optional(),
    changedFields: z.array(z.string()).optional(),
  })
  .loose();

/**
 * The `data` of a CDC delivery as the faye listener receives it (docs/salesforce.md#change-event-message),
 * or a decoded Pub/Sub event in the same shape, its replay id as `0x…` (docs/pubsub.md#replay-positions).
 */
export const ChangeEventMessageSchema = z.object({
  schema: z.string().optional(),
  // Only the header is read here; the record's fields stay in `data` (not copied per event).
  payload: z.object({ ChangeEventHeader: ChangeEventHeaderSchema }),
  event: z.object({ replayId: ReplayIdSchema }),
});
export type ChangeEventMessage = z.infer<typeof ChangeEventMessageSchema>;

const ReplayIdOnlySchema = z.object({ event: z.object({ replayId: ReplayIdSchema }) });

/** A Pub/Sub event that could not be decoded carries why instead of a payload (docs/pubsub.md#payloads). */
const UndecodableSchema = z.object({ undecodable: z.string().min(1) });

export interface EventContext {
  integration: string;
  /** The configured object whose channel delivered the event. */
  object: string;
  channel: string;
  /** Epoch ms, stamped on jobs as `enqueuedAt`. */
  now: number;
}

export type EventOutcome =
  | { type: 'changes'; replayId: ReplayId; commitTimestamp: number; jobs: ChangeJob[] }
  | { type: 'reconcile'; replayId: ReplayId; commitTimestamp: number; reason: string }
  | {
      type: 'malformed';
      replayId: ReplayId | undefined;
      reason: string;
      recordId?: string | undefined;
      payload: unknown;
    };

const KIND_OF: Record<Exclude<ChangeType, 'GAP_OVERFLOW'>, ChangeKind> = {
  CREATE: 'CREATE',
  UPDATE: 'UPDATE',
  DELETE: 'DELETE',
  UNDELETE: 'UNDELETE',
  GAP_CREATE: 'GAP',
  GAP_UPDATE: 'GAP',
  GAP_DELETE: 'GAP',
  GAP_UNDELETE: 'GAP',
};

/** Interpret one delivery on `context.channel`. */
export function interpretChangeEvent(data: unknown, context: EventContext): EventOutcome {
  const parsed = ChangeEventMessageSchema.safeParse(data);
  if (!parsed.success) {
    // Keep the replay id when it is readable: the position may still move past a bad event.
    const replayId = ReplayIdOnlySchema.safeParse(data).data?.event.replayId;
    const undecodable = UndecodableSchema.safeParse(data).data?.undecodable;
    return {
      type: 'malformed',
      replayId,
      reason: undecodable ?? `malformed change event: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`,
      payload: data,
    };
  }
  const message = parsed.data;
  const header = message.payload.ChangeEventHeader;
  const replayId = message.event.replayId;
  const { commitTimestamp } = header;

  if (header.entityName !== context.object) {
    return {
      type: 'malformed',
      replayId,
      reason: `event for ${header.entityName} arrived on ${context.channel} (${context.object})`,
      payload: data,
    };
  }
  if (header.changeType === 'GAP_OVERFLOW') {
    return {
      type: 'reconcile',
      replayId,
      commitTimestamp,
      reason: 'overflow event: more than 100,000 changes in one transaction (docs/salesforce.md#overflow-events)',
    };
  }
  if (header.recordIds.some((id) => WILDCARD_ID.test(id))) {
    return {
      type: 'reconcile',
      replayId,
      commitTimestamp,
      reason: `wildcard record id ${header.recordIds.join(',')} (docs/salesforce.md#wildcard-record-ids)`,
    };
  }
  const badId = header.recordIds.find((id) => !SALESFORCE_ID.test(id));
  if (badId !== undefined) {
    return {
      type: 'malformed',
      replayId,
      reason: `malformed change event: invalid record id ${JSON.stringify(badId)}`,
      payload: data,
    };
  }

  const kind = KIND_OF[header.changeType];
  const isGap = kind === 'GAP';
  // A merged event can repeat nothing, but never trust it to: one job per distinct id.
  const jobs = [...new Set(header.recordIds)].map((recordId): ChangeJob => ({
    integration: context.integration,
    object: context.object,
    recordId,
    kind,
    commitTimestamp,
    origin: isGap ? 'gap' : 'cdc',
    channel: context.channel,
    replayId,
    enqueuedAt: context.now,
  }));
  return { type: 'changes', replayId, commitTimestamp, jobs };
}

/**
 * Job id discriminator for non-CDC jobs made from events (GAP): the replay id, so a redelivered
 * gap event is the same job (`gap|<object>|<recordId>|<replayId>`).
 */
export function eventJobDiscriminator(job: ChangeJob): string | number {
  return job.replayId ?? job.enqueuedAt;
}
