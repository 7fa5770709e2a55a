/**
 * Dead letters: changes that cannot succeed as they are (a malformed event, a record that cannot
 * be converted, a comment Communications Mining rejects). Kept with their reason, listed by the
 * admin API and status page, retryable. Never dropped silently.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { RedisClient } from './redis.ts';
import { z } from 'zod';
import { isSalesforceId } from '../model/record-id.ts';
import { integrationKeys } from './keys.ts';

export const DeadLetterSchema = z.object({
  id: z.string(),
  integration: z.string(),
  object: z.string(),
  /** Only ever a valid Salesforce id: retrying a dead letter fetches this record. */
  recordId: z.string().optional(),
  /** What went wrong, in words an admin can act on. */
  reason: z.string(),
  /**
   * Where it failed: `event` (subscriber), `fetch`, `transform`, `push`, or `worker` (a malformed
   * change, or a batch the worker gave up on: docs/errors.md).
   */
  stage: z.enum(['event', 'transform', 'push', 'fetch', 'worker']),
  /** ISO time. */
  at: z.string(),
  /** The event or comment involved, for diagnosis (never secrets). */
  payload: z.unknown().optional(),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

/** Dead letters kept per integration; the oldest go first beyond it. */
const MAX_DEAD_LETTERS = 10_000;
/** Letters read per round trip when a search filters them. */
const SEARCH_CHUNK = 1_000;

export class DeadLetterStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  /**
   * Keep a dead letter. With `dedupeKey` (e.g. a channel and replay id) the same failure stored twice
   * — an event delivered again after a resubscribe — stays one dead letter.
   */
  async add(entry: Omit<DeadLetter, 'id' | 'at'>, dedupeKey?: string): Promise<DeadLetter> {
    // An id that is not a Salesforce id is no record to retry: it stays in the reason and payload only.
    const { recordId, ...rest } = entry;
    const letter: DeadLetter = {
      ...rest,
      ...(isSalesforceId(recordId) ? { recordId } : {}),
      id: dedupeKey ? uuidOf(`${entry.integration}\n${dedupeKey}`) : randomUUID(),
      at: new Date().toISOString(),
    };
    const keys = integrationKeys(this.prefix, entry.integration);
    await this.redis
      .multi()
      .hset(keys.deadLetters(), letter.id, JSON.stringify(letter))
      .zadd(keys.deadLetterIndex(), Date.now(), letter.id)
      .exec();
    await this.#trim(entry.integration);
    return letter;
  }

  /** Newest first. */
  async list(integration: string, limit = 100): Promise<DeadLetter[]> {
    return this.#range(integrationKeys(this.prefix, integration), 0, limit - 1);
  }

  /**
   * One page of the dead letters that match `filter`, newest first, and how many match in all. The
   * object must match exactly; `text` is looked for, case-insensitively, in the reason and record id.
   * With a filter every letter is read (at most MAX_DEAD_LETTERS, in chunks).
   */
  async search(
    integration: string,
    filter: { object?: string | undefined; text?: string | undefined },
    offset: number,
    limit: number,
  ): Promise<{ items: DeadLetter[]; total: number }> {
    const keys = integrationKeys(this.prefix, integration);
    const text = filter.text?.trim().toLowerCase();
    if (!filter.object && !text) {
      const [items, total] = await Promise.all([
        this.#range(keys, offset, offset + limit - 1),
        this.count(integration),
      ]);
      return { items, total };
    }
    const matches = (letter: DeadLetter) =>
      (!filter.object || letter.object === filter.object) &&
      (!text || letter.reason.toLowerCase().includes(text) || (letter.recordId ?? '').toLowerCase().includes(text));
    const items: DeadLetter[] = [];
    let total = 0;
    for (let start = 0; ; start += SEARCH_CHUNK) {
      const chunk = await this.#range(keys, start, start + SEARCH_CHUNK - 1);
      for (const letter of chunk.filter(matches)) {
        if (total >= offset && items.length < limit) items.push(letter);
        total++;
      }
      if (chunk.length < SEARCH_CHUNK) return { items, total };
    }
  }

  async #range(keys: ReturnType<typeof integrationKeys>, start: number, stop: number): Promise<DeadLetter[]> {
    const ids = await this.redis.zrevrange(keys.deadLetterIndex(), start, stop);
    if (ids.length === 0) return [];
    const raw = await this.redis.hmget(keys.deadLetters(), ...ids);
    return raw.flatMap((item) => {
      const parsed = item === null ? undefined : DeadLetterSchema.safeParse(JSON.parse(item));
      return parsed?.success ? [parsed.data] : [];
    });
  }

  /** Remove many at once (retry-all), in one transaction. */
  async removeMany(integration: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const keys = integrationKeys(this.prefix, integration);
    await this.redis
      .multi()
      .hdel(keys.deadLetters(), ...ids)
      .zrem(keys.deadLetterIndex(), ...ids)
      .exec();
  }

  async count(integration: string): Promise<number> {
    return this.redis.zcard(integrationKeys(this.prefix, integration).deadLetterIndex());
  }

  async get(integration: string, id: string): Promise<DeadLetter | undefined> {
    const raw = await this.redis.hget(integrationKeys(this.prefix, integration).deadLetters(), id);
    const parsed = raw === null ? undefined : DeadLetterSchema.safeParse(JSON.parse(raw));
    return parsed?.success ? parsed.data : undefined;
  }

  async remove(integration: string, id: string): Promise<boolean> {
    const keys = integrationKeys(this.prefix, integration);
    const [[, removed] = []] =
      (await this.redis.multi().hdel(keys.deadLetters(), id).zrem(keys.deadLetterIndex(), id).exec()) ?? [];
    return removed === 1;
  }

  async #trim(integration: string): Promise<void> {
    const keys = integrationKeys(this.prefix, integration);
    const excess = (await this.redis.zcard(keys.deadLetterIndex())) - MAX_DEAD_LETTERS;
    if (excess <= 0) return;
    const oldest = await this.redis.zrange(keys.deadLetterIndex(), 0, excess - 1);
    if (oldest.length > 0)
      await this.redis
        .multi()
        .hdel(keys.deadLetters(), ...oldest)
        .zrem(keys.deadLetterIndex(), ...oldest)
        .exec();
  }
}

/** A stable UUID-shaped id for a key (so the admin API's id rules hold for deduplicated letters). */
function uuidOf(key: string): string {
  const hex = createHash('sha256').update(key).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
