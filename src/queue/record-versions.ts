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
import { extendHeld, lockAndRead, writeAndRelease } from './scripts.ts';

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
   * Run `fn` holding the push locks of the records that are free, with their stored versions (one
   * round trip); `fn` returns the versions to record, written as the locks are released (one more).
   * Records another worker holds are returned as `busy` for the caller to retry shortly. Locks are
   * renewed while `fn` runs and expire `ttlMs` after this process dies.
   */
  async withLocks<T>(
    object: string,
    recordIds: readonly string[],
    ttlMs: number,
    fn: (locked: string[], stored: Map<string, RecordVersion>) => Promise<{ result: T; write: ReadonlyMap<string, RecordVersion> }>,
  ): Promise<{ result: T; busy: string[] }> {
    const keys = integrationKeys(this.prefix, this.integration);
    const locksKey = keys.locks(object);
    const versionsKey = keys.versions(object);
    const owner = randomBytes(12).toString('hex');
    const taken = await lockAndRead(this.redis, locksKey, versionsKey, owner, ttlMs, recordIds);
    const locked: string[] = [];
    const busy: string[] = [];
    const stored = new Map<string, RecordVersion>();
    recordIds.forEach((id, i) => {
      const [got, raw] = taken[i] ?? [false, null];
      if (!got) return void busy.push(id);
      locked.push(id);
      const value = decode(raw);
      if (value) stored.set(id, value);
    });
    const renew = setInterval(() => void extendHeld(this.redis, locksKey, owner, ttlMs, locked).catch(() => undefined), Math.max(100, ttlMs / 3));
    let write: ReadonlyMap<string, RecordVersion> = new Map();
    try {
      const outcome = await fn(locked, stored);
      write = outcome.write;
      return { result: outcome.result, busy };
    } finally {
      clearInterval(renew);
      const writes = [...write].map(([id, value]) => [id, encode(value)] as const);
      await writeAndRelease(this.redis, locksKey, versionsKey, owner, writes, locked.filter((id) => !write.has(id)));
    }
  }
}
