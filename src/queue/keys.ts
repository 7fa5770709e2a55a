/**
 * The one owner of Redis key names: no other file concatenates key strings. With a prefix in
 * braces (`{sfcm}`) every key hashes to one Redis Cluster slot, so multi-key scripts keep working.
 */

/** Keys that belong to the bridge as a whole. */
export function bridgeKeys(prefix: string) {
  return {
    /** One-time OAuth `state` records, `…:oauth-state:<state>` (TTL ≤ 10 min). */
    oauthState: (state: string) => `${prefix}:oauth-state:${state}`,
    /** Pub/sub channel: token changes (authorised, refreshed, needs re-authorisation, disconnected). */
    tokenEvents: () => `${prefix}:events:tokens`,
    /** BullMQ's own prefix for the bridge's queues. */
    queuePrefix: () => `${prefix}:bull`,
  };
}

/** Keys of one integration (`project/name`). */
export function integrationKeys(prefix: string, integration: string) {
  const base = `${prefix}:integration:${integration}`;
  return {
    /** Encrypted token record (string). */
    tokens: () => `${base}:tokens`,
    /** Non-secret auth state (hash): state, org, user, authorizedAt, lastRefreshAt, reason. */
    auth: () => `${base}:auth`,
    /** Lock held by the one process refreshing this integration's access token. */
    refreshLock: () => `${base}:refresh-lock`,
  };
}

export type BridgeKeys = ReturnType<typeof bridgeKeys>;
export type IntegrationKeys = ReturnType<typeof integrationKeys>;
