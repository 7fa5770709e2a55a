/**
 * The one owner of Redis key names: no other file concatenates key strings. With a prefix in
 * braces (`{sfcm}`) every key hashes to one Redis Cluster slot, so multi-key scripts keep working.
 */

/** Keys that belong to the bridge as a whole. */
export function bridgeKeys(prefix: string) {
  return {
    /** One-time OAuth `state` records, `…:oauth-state:<state>` (TTL ≤ 10 min). */
    oauthState: (state: string) => `${prefix}:oauth-state:${state}`,
    /** Status-page sign-ins, `…:admin-session:<sha256 of the cookie>` → admin-token fingerprint (TTL: server.sessionTtl). */
    adminSession: (idHash: string) => `${prefix}:admin-session:${idHash}`,
    /** One-time authorisation links, `…:authorization-link:<sha256 of the link token>` → integration (TTL 10 min). */
    authorizationLink: (tokenHash: string) => `${prefix}:authorization-link:${tokenHash}`,
    /** A refused other-org authorisation the admin may confirm, `…:org-switch:<sha256 of its token>` (TTL 10 min). */
    orgSwitch: (tokenHash: string) => `${prefix}:org-switch:${tokenHash}`,
    /** Failed sign-ins of one client address (counter, TTL: the lockout window). */
    loginFailures: (client: string) => `${prefix}:login-failures:${client}`,
    /** Pub/sub channel: token changes (authorised, refreshed, needs re-authorisation, disconnected). */
    tokenEvents: () => `${prefix}:events:tokens`,
    /** Counters of every process, summed (hash: series → value); see src/metrics. */
    metrics: () => `${prefix}:metrics`,
    /** BullMQ's own prefix for the bridge's queues. */
    queuePrefix: () => `${prefix}:bull`,
    /** Queue of record changes of one integration (BullMQ forbids ':' in names; '/' cannot occur in either part). */
    changeQueueName: (integration: string) => `changes/${integration}`,
    /** Queue of reconciliation and backfill runs of one integration. */
    reconcileQueueName: (integration: string) => `reconcile/${integration}`,
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
    /** The Salesforce org id this integration is bound to (string; kept across a disconnect). */
    boundOrg: () => `${base}:bound-org`,
    /** Pending OAuth states of this integration (sorted set: state → expiry ms), to cap them. */
    pendingStates: () => `${base}:pending-states`,
    /** Lock held by the one process refreshing this integration's access token. */
    refreshLock: () => `${base}:refresh-lock`,
    /** Durable CDC positions (hash): channel → replay id of the last event safely enqueued. */
    replay: () => `${base}:replay`,
    /** The subscriber's enqueue in progress (JSON: job ids and positions), to finish a checkpoint after a crash. */
    pendingEnqueue: () => `${base}:pending-enqueue`,
    /** Subscriber leader lease: only its holder streams this integration. */
    subscriberLease: () => `${base}:subscriber-lease`,
    /** Per-object streaming state (hash): lastEventAt, error… shown on the status page. */
    objectState: (object: string) => `${base}:object:${object}`,
    /** Last pushed version of every record (hash): recordId → `version|state|contentHash`. */
    versions: (object: string) => `${base}:versions:${object}`,
    /** Last outcome of every record (hash): recordId → JSON (see record-trail.ts). */
    trail: (object: string) => `${base}:trail:${object}`,
    /** Push locks of an object's records (hash: recordId → "owner|expiresAt"): serialise pushes of a record across workers. */
    locks: (object: string) => `${base}:locks:${object}`,
    /** Dead letters (hash id → JSON) and their order (sorted set by time). */
    deadLetters: () => `${base}:dead-letters`,
    deadLetterIndex: () => `${base}:dead-letters:index`,
    /** Pending reconciliation requests (hash object → JSON {since, reason}). */
    reconcileRequests: () => `${base}:reconcile-requests`,
    /** Reconciliation watermark of an object (hash): systemModstamp (ISO), id, at. */
    watermark: (object: string) => `${base}:watermark:${object}`,
    /** Backfill progress of an object (hash): cursor, done, total, startedAt. */
    backfill: (object: string) => `${base}:backfill:${object}`,
    /** Salesforce API usage as last reported (hash): used, max, at. */
    apiUsage: () => `${base}:api-usage`,
    /** Pushes paused because Communications Mining refused the bridge (hash): reason, since, status. */
    targetPause: () => `${base}:target-pause`,
    /** Held by the one worker process probing a paused target this interval. */
    targetProbeLock: () => `${base}:target-probe-lock`,
  };
}

export type BridgeKeys = ReturnType<typeof bridgeKeys>;
export type IntegrationKeys = ReturnType<typeof integrationKeys>;
