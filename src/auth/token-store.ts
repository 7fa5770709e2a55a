/**
 * Where an integration's OAuth tokens live: one encrypted record per integration (the secrets) and
 * one plain hash (the status anyone may see: state, org, user, times). Writes replace both in one
 * MULTI so a reader never sees new tokens with an old status, or the reverse.
 */
import type { RedisClient } from '../store/redis.ts';
import { z } from 'zod';
import { integrationKeys } from '../store/keys.ts';
import { compareAndSet } from '../store/scripts.ts';
import type { TokenCipher } from './token-cipher.ts';

export const StoredTokensSchema = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  instanceUrl: z.string(),
  identityUrl: z.string(),
  /** Epoch ms the access token was issued (`issued_at`). */
  issuedAt: z.number(),
  orgId: z.string(),
  userId: z.string(),
  username: z.string(),
});
export type StoredTokens = z.infer<typeof StoredTokensSchema>;

export type AuthState = 'authorized' | 'needs_reauth' | 'unauthorized';

export interface AuthStatus {
  state: AuthState;
  org?: string;
  user?: string;
  /** ISO time of the last successful authorisation in the browser, on Salesforce's clock (`issued_at`). */
  authorizedAt?: string;
  /** ISO time of the last access-token refresh. */
  lastRefreshAt?: string;
  /** Why the integration needs re-authorisation. */
  reason?: string;
  /** The OAuth error Salesforce answered the refresh with, as sent (explained by the server's views). */
  oauthError?: { code: string; description: string };
}

export class TokenStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly cipher: TokenCipher,
  ) {}

  async read(integration: string): Promise<StoredTokens | undefined> {
    const keys = integrationKeys(this.prefix, integration);
    const envelope = await this.redis.get(keys.tokens());
    if (envelope === null) return undefined;
    const { plaintext, stale } = this.cipher.decrypt(envelope, integration);
    const tokens = StoredTokensSchema.parse(JSON.parse(plaintext));
    // Key rotation: rewrite with the current key, unless someone replaced the record meanwhile.
    if (stale) await compareAndSet(this.redis, keys.tokens(), envelope, this.cipher.encrypt(plaintext, integration));
    return tokens;
  }

  async status(integration: string): Promise<AuthStatus> {
    const hash = await this.redis.hgetall(integrationKeys(this.prefix, integration).auth());
    const state = hash.state === 'authorized' || hash.state === 'needs_reauth' ? hash.state : 'unauthorized';
    const status: AuthStatus = { state };
    if (hash.org) status.org = hash.org;
    if (hash.user) status.user = hash.user;
    if (hash.authorizedAt) status.authorizedAt = hash.authorizedAt;
    if (hash.lastRefreshAt) status.lastRefreshAt = hash.lastRefreshAt;
    if (hash.reason) status.reason = hash.reason;
    if (hash.errorCode) status.oauthError = { code: hash.errorCode, description: hash.errorDescription ?? '' };
    return status;
  }

  /** A fresh authorisation from the browser: replaces tokens and status atomically. */
  async saveAuthorization(integration: string, tokens: StoredTokens, at = new Date()): Promise<void> {
    const keys = integrationKeys(this.prefix, integration);
    await this.redis
      .multi()
      .set(keys.tokens(), this.cipher.encrypt(JSON.stringify(tokens), integration))
      .del(keys.auth())
      .hset(keys.auth(), {
        state: 'authorized',
        org: tokens.orgId,
        user: tokens.username,
        authorizedAt: at.toISOString(),
      })
      .exec();
  }

  /** A refreshed access token (and a rotated refresh token, when Salesforce sent one). */
  async saveRefresh(integration: string, tokens: StoredTokens, at = new Date()): Promise<void> {
    const keys = integrationKeys(this.prefix, integration);
    await this.redis
      .multi()
      .set(keys.tokens(), this.cipher.encrypt(JSON.stringify(tokens), integration))
      .hset(keys.auth(), { state: 'authorized', lastRefreshAt: at.toISOString() })
      .hdel(keys.auth(), 'reason', 'errorCode', 'errorDescription')
      .exec();
  }

  /** The refresh token is dead: keep the record for diagnosis, but say so. */
  async markNeedsReauth(
    integration: string,
    reason: string,
    oauthError?: { code: string; description: string },
  ): Promise<void> {
    const fields = oauthError ? { errorCode: oauthError.code, errorDescription: oauthError.description } : {};
    await this.redis.hset(integrationKeys(this.prefix, integration).auth(), {
      state: 'needs_reauth',
      reason,
      ...fields,
    });
  }

  async remove(integration: string): Promise<void> {
    const keys = integrationKeys(this.prefix, integration);
    await this.redis.del(keys.tokens(), keys.auth());
  }
}
