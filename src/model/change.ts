/**
 * A change: "record X of object O changed; make Communications Mining match it". Changes travel in
 * batch jobs (many changes per BullMQ job: a burst costs a few Redis operations, not two per event)
 * with a deterministic job id made from the changes' own ids, so that the same events enqueued
 * twice (a crash between enqueue and checkpoint, a replay from an older position) never become a
 * second job. Workers take several jobs at once, coalesce by record and fetch in bulk.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SALESFORCE_ID } from './record-id.ts';
import { RecordFieldsSchema } from './record-fields.ts';

/**
 * Every kind is handled the same way: fetch the record as it is now and make the source match it
 * (docs/record-register.md). The kind is kept for the record lookup, metrics and relationship refresh:
 * - `CREATE`/`UPDATE`/`UNDELETE`/`REFRESH`: the record changed, or may have.
 * - `DELETE`: the record was deleted (the fetch confirms it: it may have been undeleted since).
 * - `GAP`: a gap event named the record without data.
 */
/**
 * A CDC position: an integer over CometD, `0x` + hex of the opaque bytes over Pub/Sub
 * (docs/pubsub.md#replay-positions). The two forms never mix, so a transport switch cannot mistake one
 * for the other.
 */
export const ReplayIdSchema = z.union([z.number().int(), z.string().regex(/^0x(?:[0-9a-f]{2})+$/)]);
export type ReplayId = z.infer<typeof ReplayIdSchema>;

export const ChangeKindSchema = z.enum(['CREATE', 'UPDATE', 'DELETE', 'UNDELETE', 'GAP', 'REFRESH']);
export type ChangeKind = z.infer<typeof ChangeKindSchema>;

export const ChangeJobSchema = z.object({
  integration: z.string(),
  object: z.string(),
  recordId: z.string().regex(SALESFORCE_ID, 'not a Salesforce record id'),
  kind: ChangeKindSchema,
  /** Salesforce commit time (ms) of the change, when known: for the record lookup and latency, never to order versions. */
  commitTimestamp: z.number().optional(),
  /** Push even if the register says the source holds this content (re-check after a lost push lock). */
  force: z.boolean().optional(),
  /** Where it came from, for metrics and the record lookup. */
  origin: z.enum(['cdc', 'gap', 'reconcile', 'backfill', 'relationship', 'retry', 'admin']),
  /** CDC position, when it came from an event. */
  channel: z.string().optional(),
  replayId: ReplayIdSchema.optional(),
  /** When it entered the queue (ms): enqueue→push latency. */
  enqueuedAt: z.number(),
  /**
   * The record as a Bulk API 2.0 backfill read it, in the shape a REST query returns: the worker
   * converts it without a fetch when the register shows nothing newer (docs/record-register.md#records-carried-by-a-backfill).
   */
  record: RecordFieldsSchema.optional(),
});
export type ChangeJob = z.infer<typeof ChangeJobSchema>;

/** BullMQ job name of change batches. */
export const CHANGE_JOB_NAME = 'changes';

/** What one BullMQ job carries. */
export const ChangeBatchSchema = z.object({ changes: z.array(ChangeJobSchema).min(1) });
export type ChangeBatch = z.infer<typeof ChangeBatchSchema>;

/** The job id of a batch: its changes' ids, hashed (same changes → same id → BullMQ ignores the second add). */
export function changeBatchId(changeIds: readonly string[]): string {
  const first = changeIds[0] ?? 'empty';
  const digest = createHash('sha256').update(changeIds.join('\n')).digest('base64url').slice(0, 22);
  // Readable prefix for operators, the count (read back by the changes-waiting gauge: keep `|n<count>|<digest>`
  // last), digest for uniqueness; ':' is not allowed in BullMQ ids.
  return `${first.slice(0, 80)}|n${changeIds.length}|${digest}`;
}

/**
 * Deterministic id of one change. CDC: channel + replay id + record (a merged event names several records);
 * others: origin + record + a discriminator the caller picks (e.g. the record's SystemModstamp).
 * BullMQ forbids ':' in custom ids.
 */
export function changeJobId(
  job: Pick<ChangeJob, 'object' | 'recordId' | 'origin' | 'channel' | 'replayId'>,
  discriminator?: string | number,
): string {
  if (job.origin === 'cdc' && job.channel !== undefined && job.replayId !== undefined) {
    return `cdc|${job.channel}|${job.replayId}|${job.recordId}`;
  }
  return `${job.origin}|${job.object}|${job.recordId}|${discriminator ?? Date.now()}`;
}
