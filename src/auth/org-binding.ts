/**
 * Org pinning (docs/security.md): an integration is bound to the Salesforce org it was first
 * authorised with. What a completed code exchange does depends on that binding:
 *
 * | bound org      | tokens stored | org of the new grant        | outcome                                              |
 * | -------------- | ------------- | --------------------------- | ---------------------------------------------------- |
 * | none           | any           | any                         | `bound`: store, bind                                 |
 * | same           | any           | same                        | `same_org`: store, revoke the replaced refresh token |
 * | other          | yes           | not confirmed by the admin  | `refused`: revoke the new grant, store nothing       |
 * | other          | yes           | confirmed (`switchToOrg`)   | `switched`: reset, store, bind, revoke the old grant |
 * | other          | no (disconnected) | any                     | `switched`: the disconnect was the admin's decision  |
 */
import type { RedisClient } from '../store/redis.ts';
import type { Logger } from 'pino';
import type { IntegrationConfig } from '../config/index.ts';
import type { ChangeQueue } from '../queue/change-queue.ts';
import { resetIntegrationPosition } from '../queue/integration-reset.ts';
import { integrationKeys } from '../store/keys.ts';
import type { Identity, SalesforceOAuthClient, TokenResponse } from '../salesforce/oauth-client.ts';
import type { TokenService } from './token-service.ts';

export type AuthorizationOutcome =
  | { kind: 'bound'; org: string }
  | { kind: 'same_org'; org: string; revokedPrevious: boolean }
  | { kind: 'switched'; org: string; fromOrg: string }
  | { kind: 'refused'; org: string; boundOrg: string; revoked: boolean };

export interface OrgBindingDeps {
  redis: RedisClient;
  prefix: string;
  tokens: TokenService;
  client: SalesforceOAuthClient;
  queue: ChangeQueue | undefined;
  logger: Logger;
}

/** The org id the integration is bound to; installs from before pinning are bound to their stored org. */
export async function boundOrg(
  redis: RedisClient,
  prefix: string,
  integration: string,
  tokens: TokenService,
): Promise<string | undefined> {
  return (
    (await redis.get(integrationKeys(prefix, integration).boundOrg())) ?? (await tokens.store.status(integration)).org
  );
}

export async function completeAuthorization(
  deps: OrgBindingDeps,
  integration: IntegrationConfig,
  token: TokenResponse,
  identity: Identity,
  switchToOrg: string | undefined,
): Promise<AuthorizationOutcome> {
  const { redis, prefix, tokens, client, logger } = deps;
  const org = identity.organization_id;
  const bound = await boundOrg(redis, prefix, integration.key, tokens);
  const previous = await tokens.store.read(integration.key).catch(() => undefined);

  if (bound !== undefined && bound !== org && previous !== undefined && switchToOrg !== org) {
    const revoked = await revokeQuietly(client, token.refresh_token ?? token.access_token, logger, integration.key);
    logger.warn(
      { integration: integration.key, boundOrg: bound, org, revoked },
      'authorisation from another org refused',
    );
    return { kind: 'refused', org, boundOrg: bound, revoked };
  }

  const switching = bound !== undefined && bound !== org;
  if (switching) await resetIntegrationPosition(redis, prefix, integration, deps.queue);
  await tokens.saveAuthorization(integration.key, token, identity);
  await redis.set(integrationKeys(prefix, integration.key).boundOrg(), org);

  // The grant this one replaces would otherwise stay alive, orphaned, until someone revokes it in Salesforce.
  const replaced = previous && previous.refreshToken !== token.refresh_token ? previous.refreshToken : undefined;
  const revokedPrevious = replaced ? await revokeQuietly(client, replaced, logger, integration.key) : false;
  if (switching) {
    logger.warn(
      { integration: integration.key, fromOrg: bound, org },
      'integration moved to another org: positions reset',
    );
    return { kind: 'switched', org, fromOrg: bound };
  }
  return bound === undefined ? { kind: 'bound', org } : { kind: 'same_org', org, revokedPrevious };
}

async function revokeQuietly(
  client: SalesforceOAuthClient,
  token: string,
  logger: Logger,
  integration: string,
): Promise<boolean> {
  try {
    await client.revoke(token);
    return true;
  } catch (error) {
    logger.warn(
      { integration, err: error },
      'could not revoke a token at Salesforce; revoke it in Setup → Connected Apps OAuth Usage',
    );
    return false;
  }
}
