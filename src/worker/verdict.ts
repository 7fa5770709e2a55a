/**
 * What to do with one record, given what the source holds for it (the register) and what a fetch
 * just saw. Pure: no clock, no I/O. The design and the reasons are in docs/record-register.md.
 *
 * The fetch that produced `seen` ran while this worker held the record's push lock, so it is the
 * newest observation of the record anyone has made: it wins by construction, and no timestamp
 * from another clock is needed to order it. The one comparison left is Salesforce against
 * Salesforce (`SystemModstamp` of a present record against the one pushed last): a defence for a
 * push lock that expired while its holder was frozen.
 */
import type { RecordVersion } from '../store/record-versions.ts';

/** One fetch's view of a record. `absent`: deleted, purged, or outside the object's `where`. */
export type Observation = { state: 'present'; modstamp: number; hash: string } | { state: 'absent' };

/**
 * - `push`: upsert the comment.
 * - `delete`: delete the comment.
 * - `unchanged`: the source already holds this state (no request: CM bills text changes).
 * - `stale`: the register holds a newer Salesforce version of a present record; skip.
 */
export type Verdict = 'push' | 'delete' | 'unchanged' | 'stale';

export interface DecideOptions {
  /**
   * Push even when the register says the source holds this content: set on the re-check after a
   * lost push lock, because the lost push may have landed in CM after a newer one.
   */
  force?: boolean;
}

export function decide(stored: RecordVersion | undefined, seen: Observation, options: DecideOptions = {}): Verdict {
  if (seen.state === 'absent') return stored?.state === 'deleted' && !options.force ? 'unchanged' : 'delete';
  if (stored?.state === 'present') {
    // Both stamps are Salesforce's SystemModstamp of a present record: one clock, one resolution.
    // An equal stamp is not older: two states within one second share it.
    if (stored.modstamp > seen.modstamp) return 'stale';
    if (stored.hash === seen.hash && !options.force) return 'unchanged';
  }
  return 'push';
}

/**
 * The verdict on a record carried by a backfill (a Bulk API 2.0 snapshot, not a fetch under the
 * lock), or `fetch` when the snapshot cannot decide (docs/record-register.md#records-carried-by-a-backfill).
 * A snapshot may be older than what the register holds, so it is trusted only where Salesforce's own
 * clock orders it:
 * - nothing pushed yet: push (a change after the snapshot is in the queue behind it and converges);
 * - the register holds a newer present stamp: stale; the same content: unchanged;
 * - the register holds an older present stamp with other content: push;
 * - the same stamp with other content (two states within one second), or a deleted record: fetch.
 */
export function snapshotVerdict(stored: RecordVersion | undefined, seen: Observation): Verdict | 'fetch' {
  if (seen.state !== 'present') return 'fetch';
  if (stored === undefined) return 'push';
  if (stored.state !== 'present') return 'fetch';
  if (stored.modstamp > seen.modstamp) return 'stale';
  if (stored.hash === seen.hash) return 'unchanged';
  return stored.modstamp < seen.modstamp ? 'push' : 'fetch';
}

/**
 * The register entry after `verdict` was carried out (`undefined`: leave it as it is). A delete
 * keeps the last present stamp: a later undelete carries a stamp at least as new, so it is never
 * judged stale against it.
 */
export function nextRegisterEntry(
  stored: RecordVersion | undefined,
  seen: Observation,
  verdict: Verdict,
  written: { commentId: string; at: number },
): RecordVersion | undefined {
  switch (verdict) {
    case 'push':
      return seen.state === 'present'
        ? { modstamp: seen.modstamp, state: 'present', hash: seen.hash, at: written.at, commentId: written.commentId }
        : undefined;
    case 'delete':
      return {
        modstamp: stored?.modstamp ?? 0,
        state: 'deleted',
        hash: '',
        at: written.at,
        commentId: written.commentId,
      };
    case 'unchanged':
      // Remember the newer stamp of unchanged content, so an older fetch in flight stays stale.
      return stored && seen.state === 'present' && seen.modstamp > stored.modstamp
        ? { ...stored, modstamp: seen.modstamp }
        : undefined;
    case 'stale':
      return undefined;
  }
}
