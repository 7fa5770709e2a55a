/**
 * Brute-force limit of `POST /login` (docs/security.md, "Limits"): after MAX_FAILURES failed
 * sign-ins from one client address within WINDOW_MS, that address may not try again until the
 * window ends. Counted in Redis, so every api replica enforces the same budget.
 */
import type { RedisClient } from '../store/redis.ts';
import { bridgeKeys } from '../store/keys.ts';

export const MAX_LOGIN_FAILURES = 10;
export const LOGIN_FAILURE_WINDOW_MS = 15 * 60 * 1000;

export class LoginThrottle {
  readonly #keys: ReturnType<typeof bridgeKeys>;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.#keys = bridgeKeys(prefix);
  }

  /** Milliseconds this client must still wait, 0 when it may try. */
  async lockedFor(client: string): Promise<number> {
    const key = this.#keys.loginFailures(client);
    const [count, ttl] = await Promise.all([this.redis.get(key), this.redis.pttl(key)]);
    return Number(count ?? 0) >= MAX_LOGIN_FAILURES ? Math.max(ttl, 1000) : 0;
  }

  async failed(client: string): Promise<void> {
    const key = this.#keys.loginFailures(client);
    // The window starts at the first failure and is not extended by later ones.
    await this.redis.multi().incr(key).pexpire(key, LOGIN_FAILURE_WINDOW_MS, 'NX').exec();
  }

  async succeeded(client: string): Promise<void> {
    await this.redis.del(this.#keys.loginFailures(client));
  }
}
