/**
 * The composition root: what every role builds from the config, once per process — the token
 * machinery, and for each integration its REST client, describe cache and change queue. Roles hand
 * components the narrow parts they need; nothing here starts work.
 */
import type { RedisClient } from '../store/redis.ts';
import type { Logger } from 'pino';
import type { BridgeConfig, IntegrationConfig } from '../config/index.ts';
import { redirectUri, secretValues } from '../config/index.ts';
import type { SecretScrubber } from '../logging.ts';
import { SalesforceOAuthClient } from '../salesforce/oauth-client.ts';
import { OAuthStateStore } from '../auth/oauth-state.ts';
import { TokenCipher } from '../auth/token-cipher.ts';
import { TokenService } from '../auth/token-service.ts';
import { TokenStore } from '../auth/token-store.ts';
import { ChangeQueue } from '../queue/change-queue.ts';
import { DeadLetterStore } from '../store/dead-letters.ts';
import { RecordTrail } from '../store/record-trail.ts';
import { RecordVersions } from '../store/record-versions.ts';
import { bridgeKeys } from '../store/keys.ts';
import { MetricsRecorder } from '../metrics/recorder.ts';
import { ApiBudget } from '../reconcile/api-budget.ts';
import { DescribeCache } from '../salesforce/describe-cache.ts';
import { SalesforceRestClient } from '../salesforce/rest-client.ts';

/** One integration's parts, built once per process and shared by every component that needs them. */
export interface IntegrationParts {
  integration: IntegrationConfig;
  /** Salesforce REST: every call is counted, and every response's API usage recorded for the budget governor. */
  rest: SalesforceRestClient;
  /** Describe metadata of the integration's objects, cached for the process. */
  describes: DescribeCache;
  /** Producer side of the integration's change queue. */
  queue: ChangeQueue;
  /** The record register: what the source holds for each record. */
  versions: RecordVersions;
  /** Each record's last outcome, for the record lookup. */
  trail: RecordTrail;
}

export interface BridgeContext {
  config: BridgeConfig;
  logger: Logger;
  redis: RedisClient;
  tokens: TokenService;
  oauthStates: OAuthStateStore;
  oauthClients: ReadonlyMap<string, SalesforceOAuthClient>;
  /** Each integration's parts (by integration key). */
  integrations: ReadonlyMap<string, IntegrationParts>;
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
  redis: RedisClient;
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
  const store = new TokenStore(
    redis,
    config.redis.prefix,
    new TokenCipher(config.secrets.encryptionKey, config.secrets.previousEncryptionKeys),
  );
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
  const integrations = new Map(
    config.integrations.map((integration): [string, IntegrationParts] => {
      const rest = new SalesforceRestClient({
        integration: integration.key,
        apiVersion: integration.salesforce.apiVersion,
        tokens,
        onCall: (kind) => metrics.inc('restCalls', { integration: integration.key, kind }),
        // Every fetch keeps the API-usage reading fresh for the governor (reconcile/api-budget.ts).
        onApiUsage: new ApiBudget(redis, config.redis.prefix, integration.key).record,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });
      return [
        integration.key,
        {
          integration,
          rest,
          describes: new DescribeCache(rest),
          queue: new ChangeQueue(redis, config.redis.prefix, integration.key),
          versions: new RecordVersions(redis, config.redis.prefix, integration.key),
          trail: new RecordTrail(redis, config.redis.prefix, integration.key),
        },
      ];
    }),
  );
  const queues = new Map([...integrations].map(([key, parts]) => [key, parts.queue]));
  const deadLetters = new DeadLetterStore(redis, config.redis.prefix);
  return {
    config,
    logger,
    redis,
    tokens,
    oauthStates,
    oauthClients,
    integrations,
    queues,
    deadLetters,
    metrics,
    close: async () => {
      await metrics.close();
      await Promise.all([...queues.values()].map((queue) => queue.close()));
    },
  };
}
