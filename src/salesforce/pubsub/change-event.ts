/**
 * A Pub/Sub change event, decoded, in the shape a CometD delivery has
 * (docs/salesforce.md#change-event-message), so both transports share one interpretation
 * (`interpretChangeEvent`): the header with its bitmaps turned into field names, the fields that
 * changed or were nulled (Pub/Sub sends every field, unchanged ones as null,
 * docs/salesforce.md#pubsub-payloads), and the replay id as `0x…`.
 *
 * An event that cannot be decoded (a schema id `GetSchema` does not know, corrupt payload, bitmap
 * beyond the schema) keeps its replay id and says why, so the ingest dead-letters it with that reason
 * and the position still moves past it.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import type avro from 'avsc';
import { PubsubCallError } from './errors.ts';
import type { ConsumerEvent } from './pubsub-client.ts';
import { decodeRecord, fieldNamesOf, type SchemaCache } from './avro.ts';
import { replayIdText } from './replay-id.ts';

const BITMAP_FIELDS = ['changedFields', 'nulledFields', 'diffFields'] as const;

export async function changeEventData(consumed: ConsumerEvent, schemas: SchemaCache): Promise<unknown> {
  const replayId = replayIdText(consumed.replayId);
  const schemaId = consumed.event.schemaId;
  const undecodable = (why: string) => ({
    schema: schemaId,
    event: { replayId },
    undecodable: `Pub/Sub event ${consumed.event.id} (schema ${schemaId}) could not be decoded: ${why}`,
  });
  // A schema that cannot be fetched is the call's problem (auth, network), not the event's: it throws.
  // One the server does not know is the event's: a schema id is a fingerprint, asking again cannot help.
  let type: avro.Type;
  try {
    type = await schemas.type(schemaId);
  } catch (error) {
    if (error instanceof PubsubCallError && error.grpcCode === GrpcStatus.NOT_FOUND)
      return undecodable(`GetSchema answered NOT_FOUND: ${error.message}`);
    throw error;
  }
  try {
    const record = decodeRecord(type, consumed.event.payload);
    const header = record['ChangeEventHeader'];
    if (typeof header !== 'object' || header === null) throw new Error('no ChangeEventHeader');
    const decodedHeader: Record<string, unknown> = { ...(header as Record<string, unknown>) };
    for (const field of BITMAP_FIELDS) {
      const bitmaps = decodedHeader[field];
      if (Array.isArray(bitmaps))
        decodedHeader[field] = fieldNamesOf(
          type,
          bitmaps.filter((b): b is string => typeof b === 'string'),
        );
    }
    const nulled = new Set((decodedHeader['nulledFields'] as string[] | undefined) ?? []);
    const body: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(record)) {
      if (name === 'ChangeEventHeader') continue;
      if (value !== null || nulled.has(name)) body[name] = value;
    }
    return { schema: schemaId, payload: { ChangeEventHeader: decodedHeader, ...body }, event: { replayId } };
  } catch (error) {
    return undecodable(error instanceof Error ? error.message : String(error));
  }
}
