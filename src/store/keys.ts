/**
 * The one owner of Redis key names: no other file concatenates key strings. One layout for every
 * topology (docs/redis.md): each integration's keys and BullMQ queues carry the hash tag
 * `{<integration>}`, so on a Redis Cluster they share one slot (multi-key scripts and MULTI work)
 * while different integrations spread over the shards; deployment-wide keys carry `{bridge}`.
 */

/** The hash tag of deployment-wide keys (the prefix itself never holds braces: see the config schema). */
const BRIDGE_TAG = '{bridge}';

/** The hash tag of one integration's keys and queues: `project/name` never holds braces. */
export function integrationTag(integration: string): string {
  return `{${integration}}`;
}

/** Keys that belong to the bridge as a whole. */
export function bridgeKeys(prefix: string) {
  const base = `${prefix}:${BRIDGE_TAG}`;
  return {
    /** One-time OAuth `state` records, `…:oauth-state:<state>` (TTL ≤ 10 min). */
    oauthState: (state: string) => `${base}:oauth-state:${state}`,
    /** Status-page sign-ins, `…:admin-session:<sha256 of the cookie>` → admin-token fingerprint (TTL: server.sessionTtl). */
    adminSession: (idHash: string) => `${base}:admin-session:${idHash}`,
    /** One-time authorisation links, `…:authorization-link:<sha256 of the link token>` → integration (TTL 10 min). */
    authorizationLink: (tokenHash: string) => `${base}:authorization-link:${tokenHash}`,
    /** A refused other-org authorisation the admin may confirm, `…:org-switch:<sha256 of its token>` (TTL 10 min). */
    orgSwitch: (tokenHash: string) => `${base}:org-switch:${tokenHash}`,
    /** Failed sign-ins of one client address (counter, TTL: the lockout window). */
    loginFailures: (client: string) => `${base}:login-failures:${client}`,
    /** Pub/sub channel: token changes (authorised, refreshed, needs re-authorisation, disconnected). */
    tokenEvents: () => `${base}:events:tokens`,
    /** Counters of every process, summed (hash: series → value); see src/metrics. */
    metrics: () => `${base}:metrics`,
    /** Live subscriber replicas (sorted set: replica id → last heartbeat, ms); see docs/subscriber.md. */
    subscriberReplicas: () => `${base}:subscriber-replicas`,
    /** When each live subscriber replica joined (sorted set: replica id → ms): the order of their shares. */
    subscriberReplicasJoined: () => `${base}:subscriber-replicas:joined`,
    /** Each running process's own metrics report (hash: `host:pid` → report); see src/metrics/process-reports.ts. */
    processReports: () => `${base}:processes`,
    /**
     * BullMQ's own prefix for the bridge's queues. Untagged: the hash tag is in each queue's name, so
     * BullMQ's keys `<prefix>:bull:<name>:…` land in the slot of the integration they belong to.
     */
    queuePrefix: () => `${prefix}:bull`,
    /** Queue of record changes of one integration (BullMQ forbids ':' in names; '/' cannot occur in either part). */
    changeQueueName: (integration: string) => `changes/${integrationTag(integration)}`,
    /** Queue of reconciliation and backfill runs of one integration. */
    reconcileQueueName: (integration: string) => `reconcile/${integrationTag(integration)}`,
  };
}

/** Keys of one integration (`project/name`). */
export function integrationKeys(prefix: string, integration: string) {
  const base = `${prefix}:${integrationTag(integration)}`;
  return {
    /** Written and read back by `/readyz`: proves the integration's slot takes writes (short TTL). */
    readinessProbe: () => `${base}:readiness-probe`,
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
    /** Durable Pub/Sub positions (hash): topic → `0x…` replay id; apart from CometD's (docs/pubsub.md#replay-positions). */
    pubsubReplay: () => `${base}:replay-pubsub`,
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
    /** Changes processed in one minute (hash `object|outcome` and `object|latency|<bucket>` → count; TTL 2 h): see src/metrics/flow-stats.ts. */
    flowMinute: (minute: number) => `${base}:flow:minute:${minute}`,
    /** Changes processed in one hour (hash `object|outcome` → count; TTL 26 h). */
    flowHour: (hour: number) => `${base}:flow:hour:${hour}`,
    /** When each object's last push or delete was accepted by Communications Mining (sorted set: object, score epoch ms). */
    lastPush: () => `${base}:last-push`,
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

/** Deployment-wide keys of the layout before hash tags (`<prefix>:<name>…`); the rest were short-lived or per integration. */
const LEGACY_BRIDGE_KEYS = ['oauth-state:', 'admin-session:', 'authorization-link:', 'org-switch:', 'login-failures:'];
const LEGACY_QUEUE = /^(changes|reconcile)\/([^/{}:]+\/[^/{}:]+):(.*)$/s;
const LEGACY_INTEGRATION = /^([^/{}:]+\/[^/{}:]+):(.*)$/s;

/**
 * The current name of a key written under the layout before hash tags (docs/redis.md, "Upgrading
 * from the untagged layout"), or undefined when `key` is not such a key. `legacyPrefix` is the
 * prefix the old keys were written under (it could hold braces then).
 */
export function currentNameOfLegacyKey(legacyPrefix: string, prefix: string, key: string): string | undefined {
  if (!key.startsWith(`${legacyPrefix}:`)) return undefined;
  const rest = key.slice(legacyPrefix.length + 1);
  const bridge = bridgeKeys(prefix);
  if (rest === 'metrics') return bridge.metrics();
  if (LEGACY_BRIDGE_KEYS.some((name) => rest.startsWith(name))) return `${prefix}:${BRIDGE_TAG}:${rest}`;
  if (rest.startsWith('integration:')) {
    const match = LEGACY_INTEGRATION.exec(rest.slice('integration:'.length));
    return match ? `${prefix}:${integrationTag(match[1] ?? '')}:${match[2] ?? ''}` : undefined;
  }
  if (rest.startsWith('bull:')) {
    const match = LEGACY_QUEUE.exec(rest.slice('bull:'.length));
    if (!match) return undefined;
    const [, kind, integration = '', suffix = ''] = match;
    const name = kind === 'changes' ? bridge.changeQueueName(integration) : bridge.reconcileQueueName(integration);
    return `${bridge.queuePrefix()}:${name}:${suffix}`;
  }
  return undefined;
}
