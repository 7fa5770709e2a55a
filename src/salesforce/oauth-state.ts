/**
 * OAuth `state` values: random, single-use, short-lived, bound to one integration (and to its PKCE
 * verifier). Kept in Redis so that any api replica can finish a flow another one started.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { bridgeKeys } from '../queue/keys.ts';

/** How long an admin has between "authenticate" and the callback. */
export const DEFAULT_STATE_TTL_MS = 10 * 60 * 1000;

const PendingAuthorizationSchema = z.object({
  integration: z.string(),
  codeVerifier: z.string().optional(),
  createdAt: z.number(),
});
export type PendingAuthorization = z.infer<typeof PendingAuthorizationSchema>;

export class OAuthStateStore {
  readonly #keys: ReturnType<typeof bridgeKeys>;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly ttlMs = DEFAULT_STATE_TTL_MS,
  ) {
    this.#keys = bridgeKeys(prefix);
  }

  async create(integration: string, codeVerifier?: string): Promise<string> {
    const state = randomBytes(32).toString('base64url');
    const record: PendingAuthorization = { integration, createdAt: Date.now(), ...(codeVerifier ? { codeVerifier } : {}) };
    await this.redis.set(this.#keys.oauthState(state), JSON.stringify(record), 'PX', this.ttlMs);
    return state;
  }

  /** The pending authorization for `state`, removed so it can never be used twice; undefined if unknown or expired. */
  async consume(state: string): Promise<PendingAuthorization | undefined> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(state)) return undefined;
    const raw = await this.redis.getdel(this.#keys.oauthState(state));
    if (raw === null) return undefined;
    const parsed = PendingAuthorizationSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  }
}
