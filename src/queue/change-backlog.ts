/**
 * The backlog of an integration in changes, not BullMQ jobs (a job carries up to CHANGES_PER_JOB
 * changes), and the age of its oldest unprocessed change: what the status page calls backlog and lag.
 */
import type { ChangeQueue } from './change-queue.ts';
import { ChangeBatchSchema } from '../model/change.ts';

/** Every state in which a job's changes are not yet processed. */
const UNPROCESSED = ['waiting', 'prioritized', 'delayed', 'active'] as const;
/** A batch's job id names its change count (`…|n<count>|…`, see changeBatchId in src/model/change.ts). */
const COUNT_IN_ID = /\|n(\d+)\|/;

/**
 * Changes not yet processed: counted from the job ids alone (one range read per state), reading a
 * job's data only when its id does not carry the count.
 */
export async function unprocessedChangeCount(queue: ChangeQueue): Promise<number> {
  const ids = await queue.queue.getRanges([...UNPROCESSED], 0, -1);
  let total = 0;
  for (const id of ids) {
    const match = COUNT_IN_ID.exec(id);
    if (match) total += Number(match[1]);
    else total += changesOf((await queue.queue.getJob(id))?.data).length;
  }
  return total;
}

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
