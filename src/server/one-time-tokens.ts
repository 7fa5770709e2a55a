/**
 * Single-use bearer tokens with a payload and a deadline (one-time authorisation links, org-switch
 * confirmations). Redis keeps only the token's SHA-256, so a Redis dump holds no usable link.
 */
import type { RedisClient } from '../store/redis.ts';
import type { z } from 'zod';
import { digest, randomSecret } from '../auth/oauth-state.ts';

export class OneTimeTokens<T> {
  constructor(
    private readonly redis: RedisClient,
    /** The Redis key of a token's hash. */
    private readonly keyOf: (tokenHash: string) => string,
    private readonly schema: z.ZodType<T>,
    readonly ttlMs: number,
  ) {}

  async create(payload: T): Promise<{ token: string; expiresAt: Date }> {
    const token = randomSecret();
    await this.redis.set(this.keyOf(digest(token)), JSON.stringify(payload), 'PX', this.ttlMs);
    return { token, expiresAt: new Date(Date.now() + this.ttlMs) };
  }

  /** The payload, removed so the token never works twice; undefined if unknown, used or expired. */
  async consume(token: string | undefined): Promise<T | undefined> {
    if (!token || !/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
    const raw = await this.redis.getdel(this.keyOf(digest(token)));
    if (raw === null) return undefined;
    try {
      const parsed = this.schema.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }
}
