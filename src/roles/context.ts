/**
 * What every role builds from the config: the Redis connection, the token machinery and the logger's
 * secret scrubber. Roles compose this and add their own parts; nothing here starts work.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { BridgeConfig } from '../config/index.ts';
import { secretValues } from '../config/index.ts';
import type { SecretScrubber } from '../logging.ts';
import { SalesforceOAuthClient } from '../salesforce/oauth-client.ts';
import { OAuthStateStore } from '../salesforce/oauth-state.ts';
import { TokenCipher } from '../salesforce/token-cipher.ts';
import { TokenService } from '../salesforce/token-service.ts';
import { TokenStore } from '../salesforce/token-store.ts';
import { redirectUri } from '../server/deps.ts';
import { ChangeQueue } from '../queue/change-queue.ts';
import { DeadLetterStore } from '../queue/dead-letters.ts';
import { bridgeKeys } from '../queue/keys.ts';
import { MetricsRecorder } from '../metrics/recorder.ts';

export interface BridgeContext {
  config: BridgeConfig;
  logger: Logger;
  redis: Redis;
  tokens: TokenService;
  oauthStates: OAuthStateStore;
  oauthClients: ReadonlyMap<string, SalesforceOAuthClient>;
  /** Producer side of each integration's change queue (by integration key). */
  queues: ReadonlyMap<string, ChangeQueue>;
  deadLetters: DeadLetterStore;
  /** Counters of this process, summed in Redis with every other process's. */
  metrics: MetricsRecorder;
  /** Close what the context opened (queues, metrics); the Redis connection belongs to the caller. */
  close(): Promise<void>;
}

export interface ContextOptions {
  config: BridgeConfig;
  logger: Logger;
  redis: Redis;
  scrubber?: SecretScrubber;
  /** OAuth `state` lifetime (tests shorten it). */
  oauthStateTtlMs?: number;
  fetch?: typeof fetch;
}

export function createContext(options: ContextOptions): BridgeContext {
  const { config, logger, redis } = options;
  options.scrubber?.add(...secretValues(config));
  const oauthClients = new Map(
    config.integrations.map((integration) => [
      integration.key,
      new SalesforceOAuthClient(
        {
          loginUrl: integration.salesforce.loginUrl,
          clientId: integration.salesforce.clientId,
          clientSecret: integration.salesforce.clientSecret,
          redirectUri: redirectUri(config.server.publicUrl),
        },
        options.fetch,
      ),
    ]),
  );
  const store = new TokenStore(redis, config.redis.prefix, new TokenCipher(config.secrets.encryptionKey, config.secrets.previousEncryptionKeys));
  const metrics = new MetricsRecorder(redis, bridgeKeys(config.redis.prefix).metrics());
  const tokens = new TokenService({
    redis,
    prefix: config.redis.prefix,
    store,
    oauthClients,
    onRefresh: (integration, outcome) => metrics.inc('tokenRefreshes', { integration, outcome }),
    logger: logger.child({ component: 'tokens' }),
    ...(options.scrubber ? { scrubber: options.scrubber } : {}),
  });
  const oauthStates = new OAuthStateStore(redis, config.redis.prefix, options.oauthStateTtlMs);
  const queues = new Map(config.integrations.map((integration) => [integration.key, new ChangeQueue(redis, config.redis.prefix, integration.key)]));
  const deadLetters = new DeadLetterStore(redis, config.redis.prefix);
  return {
    config,
    logger,
    redis,
    tokens,
    oauthStates,
    oauthClients,
    queues,
    deadLetters,
    metrics,
    close: async () => {
      await metrics.close();
      await Promise.all([...queues.values()].map((queue) => queue.close()));
    },
  };
}
