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

/**
 * Retry many dead letters at once (the status page's "retry all"): one enqueue for all the records
 * they name, then they leave the list. Letters that name no record stay (only a reconciliation can
 * find those). Returns how many were retried and how many stayed.
 */
export async function retryDeadLetters(
  deadLetters: DeadLetterStore,
  queue: ChangeQueue,
  integration: string,
  letters: readonly DeadLetter[],
): Promise<{ retried: number; kept: number }> {
  const retryable = letters.filter((letter) => isSalesforceId(letter.recordId));
  const now = Date.now();
  const changes = retryable.map((letter) => ({
    integration,
    object: letter.object,
    recordId: letter.recordId as string,
    kind: 'REFRESH' as const,
    origin: 'retry' as const,
    enqueuedAt: now,
  }));
  // Each change's job id derives from its letter's id: a retry-all sent twice is one retry.
  const letterOf = new Map(changes.map((change, index) => [change, retryable[index]?.id ?? '']));
  await queue.enqueue(changes, (change) => letterOf.get(change as (typeof changes)[number]) ?? '');
  await deadLetters.removeMany(
    integration,
    retryable.map((letter) => letter.id),
  );
  return { retried: retryable.length, kept: letters.length - retryable.length };
}
