/**
 * The token service every role uses to talk to Salesforce: a valid access token per integration,
 * refreshed **once across all processes** when Salesforce rejects it.
 *
 * Refresh protocol: a caller that got a 401 with token T calls `refresh(integration, T)`.
 * 1. If the stored access token is no longer T, someone already refreshed: use theirs.
 * 2. Else take the integration's refresh lock (SET NX PX). The winner re-reads (double check),
 *    calls the token endpoint, stores the result (with a rotated refresh token when Salesforce sent
 *    one), publishes `refreshed`, releases the lock.
 * 3. Losers wait until the stored token changes, the integration is marked `needs_reauth`, or the
 *    lock disappears (winner failed: try again).
 * `invalid_grant` marks the integration `needs_reauth` and publishes it: callers stop and wait for
 * an admin instead of retrying (no retry storm, no crash loop).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { RedisClient } from '../store/redis.ts';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { SecretScrubber } from '../logging.ts';
import { bridgeKeys, integrationKeys } from '../store/keys.ts';
import { releaseLock } from '../store/scripts.ts';
import { NotAuthorizedError, SalesforceOAuthError, SalesforceUnavailableError } from '../salesforce/errors.ts';
import type { Identity, SalesforceOAuthClient, TokenResponse } from '../salesforce/oauth-client.ts';
import type { SalesforceSession, SessionSource } from '../salesforce/session.ts';
import type { StoredTokens, TokenStore } from './token-store.ts';

export type TokenEventKind = 'authorized' | 'refreshed' | 'needs_reauth' | 'disconnected';
export const TokenEventSchema = z.object({
  integration: z.string(),
  kind: z.enum(['authorized', 'refreshed', 'needs_reauth', 'disconnected']),
});
export type TokenEvent = z.infer<typeof TokenEventSchema>;

export interface TokenServiceOptions {
  redis: RedisClient;
  prefix: string;
  store: TokenStore;
  /** OAuth client per integration key (`project/name`). */
  oauthClients: ReadonlyMap<string, SalesforceOAuthClient>;
  logger: Logger;
  /** Tokens are registered here as soon as they are seen, so no log line can carry them. */
  scrubber?: SecretScrubber;
  /** Told about every refresh this process performs (metrics). */
  onRefresh?: (integration: string, outcome: 'refreshed' | 'invalid_grant' | 'failed') => void;
  /** How long a refresh may hold the lock. @defaultValue 30000 */
  lockTtlMs?: number;
  /** How often waiting processes look at the stored token. @defaultValue 100 */
  pollIntervalMs?: number;
}

export class TokenService implements SessionSource {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #store: TokenStore;
  readonly #clients: ReadonlyMap<string, SalesforceOAuthClient>;
  readonly #logger: Logger;
  readonly #scrubber: SecretScrubber | undefined;
  readonly #lockTtlMs: number;
  readonly #pollIntervalMs: number;
  readonly #onRefresh: TokenServiceOptions['onRefresh'];
  /** In-process de-duplication: concurrent callers of one process share one refresh. */
  readonly #inFlight = new Map<string, Promise<SalesforceSession>>();

  constructor(options: TokenServiceOptions) {
    this.#redis = options.redis;
    this.#prefix = options.prefix;
    this.#store = options.store;
    this.#clients = options.oauthClients;
    this.#logger = options.logger;
    this.#scrubber = options.scrubber;
    this.#lockTtlMs = options.lockTtlMs ?? 30_000;
    this.#pollIntervalMs = options.pollIntervalMs ?? 100;
    this.#onRefresh = options.onRefresh;
  }

  get store(): TokenStore {
    return this.#store;
  }

  /** The current session; throws `NotAuthorizedError` when there is none or it needs re-authorisation. */
  async session(integration: string): Promise<SalesforceSession> {
    const status = await this.#store.status(integration);
    if (status.state !== 'authorized') throw new NotAuthorizedError(integration, status.state);
    const tokens = await this.#store.read(integration);
    if (!tokens) throw new NotAuthorizedError(integration, 'unauthorized');
    return this.#toSession(integration, tokens);
  }

  /** A new access token after Salesforce rejected `rejectedAccessToken` (401 / INVALID_SESSION_ID). */
  refresh(integration: string, rejectedAccessToken: string): Promise<SalesforceSession> {
    const running = this.#inFlight.get(integration);
    if (running) return running;
    const attempt = this.#refreshAcrossProcesses(integration, rejectedAccessToken).finally(() =>
      this.#inFlight.delete(integration),
    );
    this.#inFlight.set(integration, attempt);
    return attempt;
  }

  /** Store the result of a browser authorisation (the callback) and tell every process. */
  async saveAuthorization(integration: string, token: TokenResponse, identity: Identity): Promise<void> {
    const refreshToken = token.refresh_token;
    if (!refreshToken) {
      throw new SalesforceOAuthError(
        'missing_refresh_token',
        'Salesforce sent no refresh token: give the External Client App the refresh_token, offline_access scope',
        400,
      );
    }
    this.#scrubber?.add(token.access_token, refreshToken);
    await this.#store.saveAuthorization(
      integration,
      {
        accessToken: token.access_token,
        refreshToken,
        instanceUrl: token.instance_url,
        identityUrl: token.id,
        issuedAt: Number(token.issued_at),
        orgId: identity.organization_id,
        userId: identity.user_id,
        username: identity.username,
      },
      authorizationTime(token),
    );
    await this.#publish({ integration, kind: 'authorized' });
  }

  /** Disconnect: revoke the refresh token at Salesforce (best effort), then forget the tokens. */
  async disconnect(integration: string): Promise<{ revoked: boolean }> {
    const tokens = await this.#store.read(integration).catch(() => undefined);
    let revoked = false;
    if (tokens) {
      try {
        await this.#client(integration).revoke(tokens.refreshToken);
        revoked = true;
      } catch (error) {
        this.#logger.warn(
          { integration, err: error },
          'could not revoke the token at Salesforce; deleting it locally anyway',
        );
      }
    }
    await this.#store.remove(integration);
    await this.#publish({ integration, kind: 'disconnected' });
    return { revoked };
  }

  /**
   * Listen to token events of every process (a dedicated connection: subscriber mode blocks it).
   * Returns a function that unsubscribes and closes that connection.
   */
  async subscribe(listener: (event: TokenEvent) => void): Promise<() => Promise<void>> {
    const subscriber = this.#redis.duplicate();
    const channel = bridgeKeys(this.#prefix).tokenEvents();
    subscriber.on('message', (_channel: string, message: string) => {
      const parsed = TokenEventSchema.safeParse(safeJson(message));
      if (parsed.success) listener(parsed.data);
    });
    await subscriber.subscribe(channel);
    return async () => {
      await subscriber.unsubscribe(channel).catch(() => undefined);
      subscriber.disconnect();
    };
  }

  async #refreshAcrossProcesses(integration: string, rejected: string): Promise<SalesforceSession> {
    const keys = integrationKeys(this.#prefix, integration);
    const deadline = Date.now() + this.#lockTtlMs * 2;
    while (Date.now() < deadline) {
      const status = await this.#store.status(integration);
      if (status.state !== 'authorized') throw new NotAuthorizedError(integration, status.state);
      const current = await this.#store.read(integration);
      if (!current) throw new NotAuthorizedError(integration, 'unauthorized');
      if (current.accessToken !== rejected) return this.#toSession(integration, current);

      const owner = randomBytes(12).toString('hex');
      const acquired = await this.#redis.set(keys.refreshLock(), owner, 'PX', this.#lockTtlMs, 'NX');
      if (acquired === 'OK') {
        try {
          return await this.#refreshHoldingLock(integration, rejected);
        } finally {
          await releaseLock(this.#redis, keys.refreshLock(), owner);
        }
      }
      // Another process is refreshing: wait for its result (or for its lock to go away).
      await delay(this.#pollIntervalMs);
    }
    throw new SalesforceUnavailableError(
      `token refresh for ${integration} did not complete within ${this.#lockTtlMs * 2} ms`,
    );
  }

  async #refreshHoldingLock(integration: string, rejected: string): Promise<SalesforceSession> {
    // Double check under the lock: the previous holder may have finished between our read and SET NX.
    const current = await this.#store.read(integration);
    if (!current) throw new NotAuthorizedError(integration, 'unauthorized');
    if (current.accessToken !== rejected) return this.#toSession(integration, current);

    let token: TokenResponse;
    try {
      token = await this.#client(integration).refresh(current.refreshToken);
    } catch (error) {
      const invalidGrant = error instanceof SalesforceOAuthError && error.isInvalidGrant;
      this.#onRefresh?.(integration, invalidGrant ? 'invalid_grant' : 'failed');
      if (error instanceof SalesforceOAuthError && error.isInvalidGrant) {
        await this.#store.markNeedsReauth(integration, `refresh failed: ${error.description || error.error}`, {
          code: error.error,
          description: error.description,
        });
        await this.#publish({ integration, kind: 'needs_reauth' });
        this.#logger.error(
          { integration, error: error.error },
          'refresh token rejected: integration paused until an admin authorises it again',
        );
        throw new NotAuthorizedError(integration, 'needs_reauth');
      }
      throw error;
    }
    this.#scrubber?.add(token.access_token, token.refresh_token);
    const refreshed: StoredTokens = {
      ...current,
      accessToken: token.access_token,
      // Rotation on: the old refresh token is already dead, so the new one must be stored now.
      refreshToken: token.refresh_token ?? current.refreshToken,
      instanceUrl: token.instance_url,
      issuedAt: Number(token.issued_at),
    };
    await this.#store.saveRefresh(integration, refreshed);
    this.#onRefresh?.(integration, 'refreshed');
    await this.#publish({ integration, kind: 'refreshed' });
    this.#logger.info({ integration, rotated: token.refresh_token !== undefined }, 'access token refreshed');
    return this.#toSession(integration, refreshed);
  }

  #client(integration: string): SalesforceOAuthClient {
    const client = this.#clients.get(integration);
    if (!client) throw new NotAuthorizedError(integration, 'unauthorized');
    return client;
  }

  #toSession(integration: string, tokens: StoredTokens): SalesforceSession {
    this.#scrubber?.add(tokens.accessToken, tokens.refreshToken);
    return {
      integration,
      accessToken: tokens.accessToken,
      instanceUrl: tokens.instanceUrl,
      orgId: tokens.orgId,
      userId: tokens.userId,
    };
  }

  async #publish(event: TokenEvent): Promise<void> {
    await this.#redis.publish(bridgeKeys(this.#prefix).tokenEvents(), JSON.stringify(event));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * When the authorisation happened, on Salesforce's clock (`issued_at` of the token response): the
 * first reconciliation window starts from it and is compared with `SystemModstamp`, so it must not
 * come from the host's clock, which may be minutes off.
 */
function authorizationTime(token: TokenResponse): Date {
  const issuedAt = Number(token.issued_at);
  return Number.isFinite(issuedAt) && issuedAt > 0 ? new Date(issuedAt) : new Date();
}
