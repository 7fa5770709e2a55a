/**
 * What the Fastify app is built from: every dependency passed in, no module-level clients. The api
 * role hands over its process's parts (src/roles/context.ts); the server declares here exactly
 * which it uses, so it depends on their shapes, not on the roles.
 */
import type { RedisClient } from '../store/redis.ts';
import type { Logger } from 'pino';
import type { OAuthStateStore } from '../auth/oauth-state.ts';
import type { TokenService } from '../auth/token-service.ts';
import type { BridgeConfig } from '../config/index.ts';
import type { MetricsRecorder } from '../metrics/recorder.ts';
import type { ChangeQueue } from '../queue/change-queue.ts';
import type { DescribeCache } from '../salesforce/describe-cache.ts';
import type { SalesforceOAuthClient } from '../salesforce/oauth-client.ts';
import type { SalesforceRestClient } from '../salesforce/rest-client.ts';
import type { DeadLetterStore } from '../store/dead-letters.ts';
import type { RecordTrail } from '../store/record-trail.ts';
import type { RecordVersions } from '../store/record-versions.ts';

export interface AppDeps {
  config: BridgeConfig;
  logger: Logger;
  redis: RedisClient;
  tokens: TokenService;
  oauthStates: OAuthStateStore;
  oauthClients: ReadonlyMap<string, SalesforceOAuthClient>;
  /** Per integration, what the record lookup and the preview read: REST, describes, register and trail. */
  integrations: ReadonlyMap<
    string,
    { rest: SalesforceRestClient; describes: DescribeCache; versions: RecordVersions; trail: RecordTrail }
  >;
  queues: ReadonlyMap<string, ChangeQueue>;
  deadLetters: DeadLetterStore;
  metrics: MetricsRecorder;
  /** Extra readiness checks of the process (e.g. "role started"); Redis and config are always checked. */
  readiness?: () => Record<string, boolean>;
}
