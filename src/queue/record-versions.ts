/**
 * What Communications Mining holds for each record, as far as the bridge knows: the version
 * (Salesforce `SystemModstamp`, or a delete's commit time) of the last push, whether it was an
 * upsert or a delete, and the hash of the pushed content. This is the compare-and-set register
 * that keeps a stale version from ever overwriting a newer one, and that skips pushes whose
 * content has not changed (Communications Mining bills text changes).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { integrationKeys } from './keys.ts';
import { extendRecordLocks, lockRecords, releaseRecordLocks } from './scripts.ts';

export interface RecordVersion {
  /** ms since epoch */
  version: number;
  state: 'present' | 'deleted';
  /** Content hash of the pushed comment (empty for deletes). */
  hash: string;
  /** When it was pushed (ms). */
  at: number;
  /** The comment id it was pushed under (to delete it later without the record). */
  commentId: string;
}

function encode(v: RecordVersion): string {
  // The comment id goes last: it may itself contain '|'.
  return `${v.version}|${v.state === 'present' ? 'p' : 'd'}|${v.hash}|${v.at}|${v.commentId}`;
}

function decode(raw: string | null): RecordVersion | undefined {
  if (raw === null) return undefined;
  const [version, state, hash, at, ...commentId] = raw.split('|');
  if (version === undefined || state === undefined) return undefined;
  return { version: Number(version), state: state === 'd' ? 'deleted' : 'present', hash: hash ?? '', at: Number(at ?? 0), commentId: commentId.join('|') };
}

/** The decision for one record, given what was last pushed. */
export type VersionVerdict = 'push' | 'stale' | 'unchanged';

export function verdictForUpsert(stored: RecordVersion | undefined, version: number, hash: string): VersionVerdict {
  if (!stored) return 'push';
  if (stored.version > version) return 'stale';
  if (stored.state === 'present' && stored.hash === hash) return 'unchanged';
  // Equal versions with other content happen (SystemModstamp has 1 s resolution): push; the
  // caller schedules a verification fetch so the true latest state wins in the end.
  return 'push';
}

export function verdictForDelete(stored: RecordVersion | undefined, version: number): VersionVerdict {
  if (!stored) return 'push';
  if (stored.version > version) return 'stale';
  if (stored.state === 'deleted') return 'unchanged';
  return 'push';
}

export class RecordVersions {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly integration: string,
  ) {}

  async read(object: string, recordIds: readonly string[]): Promise<Map<string, RecordVersion>> {
    const out = new Map<string, RecordVersion>();
    if (recordIds.length === 0) return out;
    const raw = await this.redis.hmget(integrationKeys(this.prefix, this.integration).versions(object), ...recordIds);
    recordIds.forEach((id, index) => {
      const value = decode(raw[index] ?? null);
      if (value) out.set(id, value);
    });
    return out;
  }

  async write(object: string, versions: ReadonlyMap<string, RecordVersion>): Promise<void> {
    if (versions.size === 0) return;
    const fields: Record<string, string> = {};
    for (const [id, value] of versions) fields[id] = encode(value);
    await this.redis.hset(integrationKeys(this.prefix, this.integration).versions(object), fields);
  }

  /**
   * Run `fn` holding the push locks of the records that are free; the others are returned as
   * `busy` for the caller to retry shortly. Locks are renewed while `fn` runs and expire `ttlMs`
   * after this process dies.
   */
  async withLocks<T>(object: string, recordIds: readonly string[], ttlMs: number, fn: (locked: string[]) => Promise<T>): Promise<{ result: T; busy: string[] }> {
    const keys = integrationKeys(this.prefix, this.integration);
    const owner = randomBytes(12).toString('hex');
    const lockKeys = recordIds.map((id) => keys.recordLock(object, id));
    const taken = await lockRecords(this.redis, lockKeys, owner, ttlMs);
    const locked = recordIds.filter((_, i) => taken[i]);
    const busy = recordIds.filter((_, i) => !taken[i]);
    const held = lockKeys.filter((_, i) => taken[i]);
    const renew = setInterval(() => void extendRecordLocks(this.redis, held, owner, ttlMs).catch(() => undefined), Math.max(100, ttlMs / 3));
    try {
      return { result: await fn(locked), busy };
    } finally {
      clearInterval(renew);
      await releaseRecordLocks(this.redis, held, owner);
    }
  }
}
