/**
 * A Salesforce record's fields as they travel (a REST query's record, a record a bulk backfill
 * carries): checked to be an object, not copied key by key. The mapping reads it defensively
 * (pipeline/read-fields.ts), and copying every field of every record cost a worker more than its
 * content hash (docs/runtime.md#end-to-end-three-consecutive-runs).
 */
import { z } from 'zod';

export type RecordFields = Record<string, unknown>;

export const RecordFieldsSchema = z.custom<RecordFields>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  'a record is not an object',
);
