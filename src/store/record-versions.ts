/**
 * The record register: what Communications Mining holds for each record, as far as the bridge
 * knows — present (with the hash of the pushed content) or deleted, the comment id, and the
 * record's last `SystemModstamp` seen present. Entries change only under the record's push lock,
 * which is held from the fetch to the write, so the newest fetch is always the one applied.
 * Design and reasons: docs/record-register.md; decisions: `src/worker/verdict.ts`.
 */
import { randomBytes } from 'node:crypto';
import type { RedisClient } from './redis.ts';
import { integrationKeys } from './keys.ts';
import { extendHeld, lockAndRead, writeAndRelease } from './scripts.ts';

export interface RecordVersion {
  /**
   * `SystemModstamp` (ms, Salesforce's clock, 1 s resolution) of the last state seen present; 0 when
   * never seen present. Only ever compared with another `SystemModstamp`.
   */
  modstamp: number;
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
  return `${v.modstamp}|${v.state === 'present' ? 'p' : 'd'}|${v.hash}|${v.at}|${v.commentId}`;
}

function decode(raw: string | null): RecordVersion | undefined {
  if (raw === null) return undefined;
  const [version, state, hash, at, ...commentId] = raw.split('|');
  if (version === undefined || state === undefined) return undefined;
  return {
    modstamp: Number(version),
    state: state === 'd' ? 'deleted' : 'present',
    hash: hash ?? '',
    at: Number(at ?? 0),
    commentId: commentId.join('|'),
  };
}

export class RecordVersions {
  constructor(
    private readonly redis: RedisClient,
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

  /**
   * Run `fn` holding the push locks of the records that are free, with their register entries (one
   * round trip); `fn` fetches, decides and pushes, and returns the entries to record, written as the
   * locks are released (one more). Records another worker holds come back as `busy`, for the caller
   * to retry shortly. Locks are renewed while `fn` runs and expire `ttlMs` after this process dies.
   * `lost`: records whose lock expired and passed to another worker before the write (this process
   * was frozen longer than `ttlMs`): their entries were not written, and what this push sent may
   * have landed after the other worker's; the caller re-checks them.
   */
  async withLocks<T>(
    object: string,
    recordIds: readonly string[],
    ttlMs: number,
    fn: (
      locked: string[],
      stored: Map<string, RecordVersion>,
    ) => Promise<{ result: T; write: ReadonlyMap<string, RecordVersion> }>,
  ): Promise<{ result: T; busy: string[]; lost: string[] }> {
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
    const renew = setInterval(
      () => void extendHeld(this.redis, locksKey, owner, ttlMs, locked).catch(() => undefined),
      Math.max(100, ttlMs / 3),
    );
    let outcome: { result: T; write: ReadonlyMap<string, RecordVersion> };
    try {
      outcome = await fn(locked, stored);
    } catch (error) {
      clearInterval(renew);
      // Nothing to record: release, and let the caller's error through (not a release failure).
      await writeAndRelease(this.redis, locksKey, versionsKey, owner, [], locked).catch(() => undefined);
      throw error;
    }
    clearInterval(renew);
    const writes = [...outcome.write].map(([id, value]) => [id, encode(value)] as const);
    const lost = await writeAndRelease(
      this.redis,
      locksKey,
      versionsKey,
      owner,
      writes,
      locked.filter((id) => !outcome.write.has(id)),
    );
    return { result: outcome.result, busy, lost };
  }
}
