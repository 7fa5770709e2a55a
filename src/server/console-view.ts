/**
 * What the status page shows about the flow, beyond the admin API's integration view
 * (integration-status.ts): throughput and outcome counts per object, the last accepted push,
 * commit → comment latency, the backlog in changes and the age of the oldest unprocessed change,
 * replay retention headroom and API usage (docs/status-page.md).
 */
import type { IntegrationConfig } from '../config/index.ts';
import { FlowStats, type ObjectFlow } from '../metrics/flow-stats.ts';
import { oldestUnprocessedChangeAt } from '../queue/oldest-change.ts';
import { integrationKeys } from '../store/keys.ts';
import { integrationView, type IntegrationView, type ObjectView, type StatusSources } from './integration-status.ts';

/** CDC retention (docs/salesforce.md#replay-ids-and-retention): how long a stored replay id stays usable. */
export const RETENTION_SECONDS = 72 * 3600;

/** Seconds before a position whose last change was committed at `lastCommitMs` leaves the retention window. */
export function retentionHeadroomSeconds(lastCommitMs: number, now: number): number {
  return RETENTION_SECONDS - Math.max(0, (now - lastCommitMs) / 1000);
}

export interface ConsoleObjectView extends ObjectView {
  flow: ObjectFlow;
  /** Seconds left before the stored replay position leaves the 72 h retention (cdc objects). */
  retentionHeadroomSeconds?: number;
}

export interface ConsoleView extends Omit<IntegrationView, 'objects'> {
  key: string;
  objects: ConsoleObjectView[];
  /** Changes (not jobs) waiting for a worker: the same count as the sfcm_changes_waiting gauge. */
  changesWaiting: number;
  /** When the oldest unprocessed change was committed (or queued), epoch ms. */
  oldestUnprocessedAt?: number;
  /** Salesforce API usage as last reported by a response. */
  apiUsage?: { used: number; max: number; at?: number };
}

export async function consoleView(
  integration: IntegrationConfig,
  sources: StatusSources,
  now = Date.now(),
): Promise<ConsoleView> {
  const { redis, config } = sources;
  const prefix = config.redis.prefix;
  const keys = integrationKeys(prefix, integration.key);
  const queue = sources.queues.get(integration.key);
  const names = integration.objects.map((o) => o.name);
  const [view, flows, changesWaiting, oldest, usage, states] = await Promise.all([
    integrationView(integration, sources),
    new FlowStats(redis, prefix).read(integration.key, names, now),
    queue ? queue.changesWaiting() : Promise.resolve(0),
    queue ? oldestUnprocessedChangeAt(queue) : Promise.resolve(undefined),
    redis.hgetall(keys.apiUsage()),
    Promise.all(names.map((name) => redis.hgetall(keys.objectState(name)))),
  ]);
  const used = Number(usage.used);
  const max = Number(usage.max);
  const usageAt = Number(usage.at);
  return {
    ...view,
    key: integration.key,
    changesWaiting,
    ...(oldest !== undefined ? { oldestUnprocessedAt: oldest } : {}),
    ...(Number.isFinite(used) && max > 0
      ? { apiUsage: { used, max, ...(Number.isFinite(usageAt) && usageAt > 0 ? { at: usageAt } : {}) } }
      : {}),
    objects: view.objects.map((object, index) => {
      const lastCommit = Date.parse(states[index]?.lastCommitAt ?? '');
      return {
        ...object,
        flow: flows.get(object.name) ?? emptyFlow(),
        ...(object.mode === 'cdc' && Number.isFinite(lastCommit)
          ? { retentionHeadroomSeconds: retentionHeadroomSeconds(lastCommit, now) }
          : {}),
      };
    }),
  };
}

export function consoleViews(sources: StatusSources, now = Date.now()): Promise<ConsoleView[]> {
  return Promise.all(sources.config.integrations.map((integration) => consoleView(integration, sources, now)));
}

function emptyFlow(): ObjectFlow {
  const zero = { pushed: 0, deleted: 0, unchanged: 0, stale: 0, rejected: 0, dead_lettered: 0 };
  return { perMinute: new Array<number>(60).fill(0), lastHour: { ...zero }, last24h: { ...zero } };
}
