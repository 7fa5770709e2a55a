/**
 * Status-page sign-ins kept on the server (docs/security.md, "Sessions"): the cookie holds a random
 * id, Redis holds its SHA-256 with a fingerprint of the admin token that signed it in. A session
 * ends when its TTL runs out (server.sessionTtl), on sign-out (the record is deleted), and for every
 * session at once when the admin token changes (the fingerprint no longer matches).
 */
import { createHmac } from 'node:crypto';
import type { RedisClient } from '../store/redis.ts';
import { digest, randomSecret } from '../auth/oauth-state.ts';
import { bridgeKeys } from '../store/keys.ts';
import { safeEqual } from './admin-auth.ts';

export class AdminSessions {
  readonly #keys: ReturnType<typeof bridgeKeys>;
  readonly #fingerprint: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    adminToken: string,
    readonly ttlMs: number,
  ) {
    this.#keys = bridgeKeys(prefix);
    this.#fingerprint = createHmac('sha256', adminToken).update('sf-cm-bridge admin session v2').digest('base64url');
  }

  /** A new session; its id goes into the cookie only. */
  async create(): Promise<string> {
    const id = randomSecret();
    await this.redis.set(this.#keys.adminSession(digest(id)), this.#fingerprint, 'PX', this.ttlMs);
    return id;
  }

  async isValid(id: string | undefined): Promise<boolean> {
    if (!id || !/^[A-Za-z0-9_-]{20,100}$/.test(id)) return false;
    const stored = await this.redis.get(this.#keys.adminSession(digest(id)));
    return stored !== null && safeEqual(stored, this.#fingerprint);
  }

  async destroy(id: string | undefined): Promise<void> {
    if (id && /^[A-Za-z0-9_-]{20,100}$/.test(id)) await this.redis.del(this.#keys.adminSession(digest(id)));
  }
}
