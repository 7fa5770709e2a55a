/** The record register's pure decisions (docs/record-register.md), one row per case. */
import { describe, expect, it } from 'vitest';
import type { RecordVersion } from '../../src/store/record-versions.ts';
import {
  decide,
  nextRegisterEntry,
  snapshotVerdict,
  type Observation,
  type Verdict,
} from '../../src/worker/verdict.ts';

const S10 = Date.UTC(2026, 10, 28, 12, 0, 10);
const S11 = S10 + 1_000;
const present = (modstamp: number, hash = 'h1', commentId = 'c1'): RecordVersion => ({
  modstamp,
  state: 'present',
  hash,
  at: 1,
  commentId,
});
const deleted = (modstamp: number, commentId = 'c1'): RecordVersion => ({
  modstamp,
  state: 'deleted',
  hash: '',
  at: 1,
  commentId,
});
const seen = (modstamp: number, hash = 'h1'): Observation => ({ state: 'present', modstamp, hash });
const absent: Observation = { state: 'absent' };

describe('decide', () => {
  const rows: Array<[string, RecordVersion | undefined, Observation, boolean, Verdict]> = [
    ['never pushed, present', undefined, seen(S10), false, 'push'],
    [
      'never pushed, absent: delete anyway (a crash may have lost the register write)',
      undefined,
      absent,
      false,
      'delete',
    ],
    ['same stamp, same content', present(S10), seen(S10), false, 'unchanged'],
    ['same stamp, other content (two states within one second)', present(S10), seen(S10, 'h2'), false, 'push'],
    ['newer stamp, same content', present(S10), seen(S11), false, 'unchanged'],
    ['newer stamp, other content', present(S10), seen(S11, 'h2'), false, 'push'],
    ['older stamp of a present record: stale', present(S11), seen(S10, 'h2'), false, 'stale'],
    ['older stamp, same content: still stale', present(S11), seen(S10), false, 'stale'],
    ['present, now absent', present(S10), absent, false, 'delete'],
    ['deleted, still absent', deleted(S10), absent, false, 'unchanged'],
    ['deleted, present again in the same second (undelete)', deleted(S10), seen(S10), false, 'push'],
    [
      "deleted with a newer legacy stamp (a delete's commit ms), undeleted: never stale",
      deleted(S10 + 700),
      seen(S10),
      false,
      'push',
    ],
    ['deleted, present again with the very same content', deleted(S10), seen(S10, ''), false, 'push'],
    ['forced, unchanged content: pushed again', present(S10), seen(S10), true, 'push'],
    ['forced, still absent: deleted again', deleted(S10), absent, true, 'delete'],
    ['forced does not override staleness', present(S11), seen(S10), true, 'stale'],
  ];
  it.each(rows)('%s', (_name, stored, observation, force, expected) => {
    expect(decide(stored, observation, { force })).toBe(expected);
  });
});

describe('nextRegisterEntry', () => {
  const written = { commentId: 'c9', at: 42 };
  it('a push records the observed stamp, content hash and comment id', () => {
    expect(nextRegisterEntry(deleted(S10), seen(S11, 'h2'), 'push', written)).toEqual({
      modstamp: S11,
      state: 'present',
      hash: 'h2',
      at: 42,
      commentId: 'c9',
    });
  });
  it('a delete keeps the last present stamp, so an undelete in the same second is not older', () => {
    const entry = nextRegisterEntry(present(S10), absent, 'delete', written);
    expect(entry).toEqual({ modstamp: S10, state: 'deleted', hash: '', at: 42, commentId: 'c9' });
    expect(decide(entry, seen(S10, 'h1'))).toBe('push');
  });
  it('a delete of a never-pushed record starts at stamp 0', () => {
    expect(nextRegisterEntry(undefined, absent, 'delete', written)).toMatchObject({ modstamp: 0, state: 'deleted' });
  });
  it('unchanged content at a newer stamp moves the stamp forward; at the same stamp, nothing is written', () => {
    expect(nextRegisterEntry(present(S10), seen(S11), 'unchanged', written)).toEqual({ ...present(S11) });
    expect(nextRegisterEntry(present(S10), seen(S10), 'unchanged', written)).toBeUndefined();
    expect(nextRegisterEntry(deleted(S10), absent, 'unchanged', written)).toBeUndefined();
  });
  it('a stale observation writes nothing', () => {
    expect(nextRegisterEntry(present(S11), seen(S10), 'stale', written)).toBeUndefined();
  });
});

describe('snapshotVerdict (a record a backfill carried)', () => {
  const rows: Array<[string, RecordVersion | undefined, Observation, Verdict | 'fetch']> = [
    ['nothing pushed yet: push', undefined, seen(S10), 'push'],
    ['the register holds an older stamp, other content: push', present(S10, 'h1'), seen(S11, 'h2'), 'push'],
    ['the register holds an older stamp, same content: unchanged', present(S10, 'h1'), seen(S11, 'h1'), 'unchanged'],
    ['the register holds a newer stamp: stale', present(S11, 'h2'), seen(S10, 'h1'), 'stale'],
    ['same stamp, same content: unchanged', present(S10, 'h1'), seen(S10, 'h1'), 'unchanged'],
    ['same stamp, other content (two states in one second): fetch', present(S10, 'h2'), seen(S10, 'h1'), 'fetch'],
    ['deleted since, or out of scope: fetch', deleted(S10), seen(S11), 'fetch'],
  ];
  it.each(rows)('%s', (_name, stored, observation, expected) => {
    expect(snapshotVerdict(stored, observation)).toBe(expected);
  });
});
