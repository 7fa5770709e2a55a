/**
 * A request for reconciliation, from the subscriber (an expired replay id, a gap or overflow event,
 * a wildcard record id) to the reconciler, kept in Redis until a run serves it.
 */
import { z } from 'zod';

export const ReconcileRequestSchema = z.object({
  /** ISO time to reconcile from; null: from the stored watermark (the whole object when there is none). */
  since: z.string().nullable(),
  reason: z.string(),
  /** ISO time of the request. */
  at: z.string().optional(),
});
export type ReconcileRequest = z.infer<typeof ReconcileRequestSchema>;
