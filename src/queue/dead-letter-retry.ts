/**
 * Retrying a dead letter, for the admin API and the status page alike: the record is fetched as it
 * is now and pushed again. The letter leaves the list only once its change is in the queue; if the
 * retry fails again, the worker dead-letters it again (docs/errors.md), so it is never lost.
 */
import type { ChangeQueue } from './change-queue.ts';
import type { DeadLetter, DeadLetterStore } from '../store/dead-letters.ts';
import { isSalesforceId } from '../model/record-id.ts';

export type RetryOutcome =
  | { kind: 'retried'; letter: DeadLetter & { recordId: string } }
  | { kind: 'not_found'; message: string }
  /** The letter names no record the bridge could fetch: only a reconciliation can find it. */
  | { kind: 'not_retryable'; message: string };

export async function retryDeadLetter(
  deadLetters: DeadLetterStore,
  queue: ChangeQueue | undefined,
  integration: string,
  id: string,
): Promise<RetryOutcome> {
  const letter = await deadLetters.get(integration, id);
  if (!letter) return { kind: 'not_found', message: `no dead letter ${id}` };
  const { recordId } = letter;
  if (recordId === undefined) {
    return {
      kind: 'not_retryable',
      message: 'this dead letter names no record (a malformed event or change); reconcile the object instead',
    };
  }
  if (!isSalesforceId(recordId)) {
    // Kept by an older release: such a retry could only fail again, out of sight.
    return {
      kind: 'not_retryable',
      message: `this dead letter names ${JSON.stringify(recordId)}, which is not a Salesforce record id; reconcile the object instead`,
    };
  }
  if (!queue) return { kind: 'not_found', message: `no change queue for ${integration}` };
  await queue.enqueue(
    [{ integration, object: letter.object, recordId, kind: 'REFRESH', origin: 'retry', enqueuedAt: Date.now() }],
    () => id,
  );
  await deadLetters.remove(integration, id);
  return { kind: 'retried', letter: { ...letter, recordId } };
}
