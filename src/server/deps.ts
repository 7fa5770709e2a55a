/** What the Fastify app is built from: every dependency passed in, no module-level clients. */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { BridgeConfig } from '../config/index.ts';
import type { ChangeQueue } from '../queue/change-queue.ts';
import type { DeadLetterStore } from '../queue/dead-letters.ts';
import type { SalesforceOAuthClient } from '../salesforce/oauth-client.ts';
import type { OAuthStateStore } from '../salesforce/oauth-state.ts';
import type { TokenService } from '../salesforce/token-service.ts';

export interface AppDeps {
  config: BridgeConfig;
  logger: Logger;
  redis: Redis;
  tokens: TokenService;
  oauthStates: OAuthStateStore;
  /** One OAuth client per integration key (`project/name`). */
  oauthClients: ReadonlyMap<string, SalesforceOAuthClient>;
  /** Change queues by integration key: backlog, retries of dead letters. */
  queues: ReadonlyMap<string, ChangeQueue>;
  deadLetters: DeadLetterStore;
  /** Extra readiness checks of the process (e.g. "role started"); Redis and config are always checked. */
  readiness?: () => Record<string, boolean>;
}

/** `<publicUrl>/external/salesforce/oauth2/callback`: must match the Connected App byte for byte. */
export function redirectUri(publicUrl: string): string {
  return `${publicUrl}/external/salesforce/oauth2/callback`;
}
