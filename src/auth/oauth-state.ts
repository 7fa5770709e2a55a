/**
 * OAuth `state` values: random, single-use, short-lived, bound to one integration, to its PKCE
 * verifier and to the browser that started the flow (a hash of that browser's binding cookie).
 * Kept in Redis so that any api replica can finish a flow another one started; at most
 * MAX_PENDING_STATES per integration are pending at once (docs/security.md, "Limits").
 */
import { createHash, randomBytes } from 'node:crypto';
import type { RedisClient } from '../store/redis.ts';
import { z } from 'zod';
import { bridgeKeys, integrationKeys } from '../store/keys.ts';

/** How long an admin has between "authenticate" and the callback. */
export const DEFAULT_STATE_TTL_MS = 10 * 60 * 1000;
/** Pending authorisations per integration: a handful of admins' tabs, never a flood. */
export const MAX_PENDING_STATES = 20;

const PendingAuthorizationSchema = z.object({
  integration: z.string(),
  codeVerifier: z.string().optional(),
  /** SHA-256 (base64url) of the browser binding cookie of the browser that started the flow. */
  browser: z.string(),
  /** Set when the admin confirmed moving the integration to this org (docs/security.md, "Org pinning"). */
  switchToOrg: z.string().optional(),
  createdAt: z.number(),
});
export type PendingAuthorization = z.infer<typeof PendingAuthorizationSchema>;

export interface NewAuthorization {
  codeVerifier?: string | undefined;
  /** The browser binding cookie's value (hashed before it is stored). */
  browserBinding: string;
  switchToOrg?: string | undefined;
}

/** Too many authorisations of one integration are pending: refuse until some expire or finish. */
export class TooManyPendingStatesError extends Error {
  constructor(readonly integration: string) {
    super(`${integration} already has ${MAX_PENDING_STATES} authorisations in progress`);
  }
}

/** SHA-256 in base64url: what the bridge stores instead of a bearer secret (cookie, link, state). */
export function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** A new random bearer secret (256 bits). */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

export class OAuthStateStore {
  readonly #prefix: string;
  readonly #keys: ReturnType<typeof bridgeKeys>;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly ttlMs = DEFAULT_STATE_TTL_MS,
  ) {
    this.#prefix = prefix;
    this.#keys = bridgeKeys(prefix);
  }

  /** A new state, or TooManyPendingStatesError when the integration's cap is reached. */
  async create(integration: string, authorization: NewAuthorization): Promise<string> {
    const state = randomSecret();
    const now = Date.now();
    const record: PendingAuthorization = {
      integration,
      browser: digest(authorization.browserBinding),
      createdAt: now,
      ...(authorization.codeVerifier ? { codeVerifier: authorization.codeVerifier } : {}),
      ...(authorization.switchToOrg ? { switchToOrg: authorization.switchToOrg } : {}),
    };
    const pending = integrationKeys(this.#prefix, integration).pendingStates();
    // Add first, then count: concurrent creators on any replica each see the others, so the cap holds.
    const results = await this.redis
      .multi()
      .zremrangebyscore(pending, '-inf', now)
      .zadd(pending, now + this.ttlMs, state)
      .pexpire(pending, this.ttlMs)
      .zcard(pending)
      .exec();
    const count = Number(results?.[3]?.[1] ?? 0);
    if (count > MAX_PENDING_STATES) {
      await this.redis.zrem(pending, state);
      throw new TooManyPendingStatesError(integration);
    }
    await this.redis.set(this.#keys.oauthState(state), JSON.stringify(record), 'PX', this.ttlMs);
    return state;
  }

  /** The pending authorization for `state`, removed so it can never be used twice; undefined if unknown or expired. */
  async consume(state: string): Promise<PendingAuthorization | undefined> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(state)) return undefined;
    const raw = await this.redis.getdel(this.#keys.oauthState(state));
    if (raw === null) return undefined;
    const parsed = PendingAuthorizationSchema.safeParse(JSON.parse(raw));
    if (!parsed.success) return undefined;
    await this.redis.zrem(integrationKeys(this.#prefix, parsed.data.integration).pendingStates(), state);
    return parsed.data;
  }
}
