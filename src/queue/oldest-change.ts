/**
 * The age of an integration's oldest unprocessed change: what the status page calls lag (not the
 * time since the last event, which grows whenever nothing happens).
 */
import type { ChangeQueue } from './change-queue.ts';
import { ChangeBatchSchema } from '../model/change.ts';

/** Every state in which a job's changes are not yet processed. */
const UNPROCESSED = ['waiting', 'prioritized', 'delayed', 'active'] as const;

/**
 * When the oldest unprocessed change happened (epoch ms): its Salesforce commit time where the event
 * carried one, else when it was queued. Looks at the oldest job of each unprocessed state, so a
 * change older than its job (a retried one) is still seen; undefined when nothing waits.
 */
export async function oldestUnprocessedChangeAt(queue: ChangeQueue): Promise<number | undefined> {
  const oldest = await Promise.all(UNPROCESSED.map((state) => queue.queue.getJobs([state], 0, 0, true)));
  let at: number | undefined;
  for (const job of oldest.flat()) {
    for (const change of changesOf(job.data)) {
      const when = change.commitTimestamp ?? change.enqueuedAt;
      if (at === undefined || when < at) at = when;
    }
  }
  return at;
}

function changesOf(data: unknown) {
  const parsed = ChangeBatchSchema.safeParse(data);
  return parsed.success ? parsed.data.changes : [];
}
