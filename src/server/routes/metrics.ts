/**
 * `GET /metrics` in Prometheus text format. One scrape shows the whole deployment: counters are
 * summed in Redis by every process (src/metrics/recorder.ts), gauges are read from Redis and the
 * queues now; every process's own Node.js metrics come from its report in Redis
 * (src/metrics/process-reports.ts), labelled with its role and instance.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Gauge, Registry } from 'prom-client';
import { CHANGES_WAITING_GAUGE, COUNTERS, LATENCY_HISTOGRAM } from '../../metrics/catalogue.ts';
import {
  processReportsKey,
  readProcessReports,
  renderLabels,
  renderProcessReports,
} from '../../metrics/process-reports.ts';
import { parseSeriesField } from '../../metrics/recorder.ts';
import { bridgeKeys, integrationKeys } from '../../store/keys.ts';
import { ReplayStore } from '../../store/replay-store.ts';
import { TargetPauseStore } from '../../store/target-pause.ts';
import { bearerToken, safeEqual } from '../admin-auth.ts';
import { retentionHeadroomSeconds } from '../console-view.ts';
import type { AppDeps } from '../deps.ts';

export const metricsRoutes: FastifyPluginAsync<AppDeps> = async (app, deps) => {
  const { config, redis, queues, deadLetters, tokens } = deps;
  const registry = new Registry();
  const replay = new ReplayStore(redis, config.redis.prefix);

  const gauge = (name: string, help: string, labelNames: string[]) =>
    new Gauge({ name, help, labelNames, registers: [registry] });
  const queueJobs = gauge('sfcm_queue_jobs', 'Change batches in the queue, by state (each holds up to 250 changes)', [
    'integration',
    'state',
  ]);
  const changesWaiting = gauge(CHANGES_WAITING_GAUGE.name, CHANGES_WAITING_GAUGE.help, [
    ...CHANGES_WAITING_GAUGE.labels,
  ]);
  const oldestJob = gauge('sfcm_queue_oldest_waiting_seconds', 'Age of the oldest waiting change batch', [
    'integration',
  ]);
  const deadLetterCount = gauge('sfcm_dead_letters', 'Dead letters waiting for an admin', ['integration']);
  const authorized = gauge('sfcm_integration_auth_state', "1 for the integration's current auth state", [
    'integration',
    'state',
  ]);
  const replayId = gauge('sfcm_replay_id', 'Stored CDC position (replay id) per channel', ['integration', 'channel']);
  const replayAge = gauge(
    'sfcm_replay_age_seconds',
    "Time since the last committed change seen on the object's channel",
    ['integration', 'object'],
  );
  const headroom = gauge(
    'sfcm_replay_retention_headroom_seconds',
    'Time left before the stored position falls out of the 72 h CDC retention',
    ['integration', 'object'],
  );
  const leader = gauge('sfcm_subscriber_leader', "1 when a subscriber holds the integration's lease", ['integration']);
  const streamedBy = gauge(
    'sfcm_subscriber_streamed_by',
    'The subscriber replica streaming the integration (docs/subscriber.md)',
    ['integration', 'replica'],
  );
  const replicas = gauge('sfcm_subscriber_replicas', 'Live subscriber replicas sharing the integrations', []);
  const apiUsage = gauge(
    'sfcm_salesforce_api_usage_ratio',
    'Share of the daily Salesforce API allocation used (last Sforce-Limit-Info)',
    ['integration'],
  );
  const targetPaused = gauge(
    'sfcm_target_paused',
    '1 while pushes are paused because Communications Mining refused the bridge (401/403/404)',
    ['integration'],
  );
  const targetPauses = new TargetPauseStore(redis, config.redis.prefix);
  const lastReconcile = gauge('sfcm_reconcile_last_run_timestamp_seconds', 'When reconciliation last ran', [
    'integration',
    'object',
  ]);

  const { metricsToken } = config.server;
  app.get('/metrics', async (request, reply) => {
    // Optional: integration names, org activity and queue depths are not for everyone who can reach the port.
    const token = bearerToken(request);
    if (metricsToken && (token === undefined || !safeEqual(token, metricsToken))) {
      return reply
        .code(401)
        .header('WWW-Authenticate', 'Bearer realm="sf-cm-bridge metrics"')
        .send({ error: 'unauthorized', message: 'send server.metricsToken as Authorization: Bearer <token>' });
    }
    registry.resetMetrics();
    const now = Date.now();
    for (const integration of config.integrations) {
      const key = integration.key;
      const keys = integrationKeys(config.redis.prefix, key);
      const queue = queues.get(key);
      if (queue) {
        const counts = await queue.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
        for (const [state, count] of Object.entries(counts)) queueJobs.set({ integration: key, state }, count);
        changesWaiting.set({ integration: key }, await queue.changesWaiting());
        const [oldest] = await queue.queue.getJobs(['waiting'], 0, 0, true);
        oldestJob.set({ integration: key }, oldest ? Math.max(0, (now - oldest.timestamp) / 1000) : 0);
      }
      deadLetterCount.set({ integration: key }, await deadLetters.count(key));
      targetPaused.set({ integration: key }, (await targetPauses.read(key)) ? 1 : 0);
      const status = await tokens.store.status(key);
      for (const state of ['authorized', 'needs_reauth', 'unauthorized'])
        authorized.set({ integration: key, state }, status.state === state ? 1 : 0);
      for (const [channel, id] of await replay.positions(key)) replayId.set({ integration: key, channel }, id);
      const replica = await redis.get(keys.subscriberLease());
      leader.set({ integration: key }, replica === null ? 0 : 1);
      if (replica !== null) streamedBy.set({ integration: key, replica }, 1);
      const usage = await redis.hgetall(keys.apiUsage());
      if (usage.used && usage.max && Number(usage.max) > 0)
        apiUsage.set({ integration: key }, Number(usage.used) / Number(usage.max));
      for (const object of integration.objects) {
        const state = await redis.hgetall(keys.objectState(object.name));
        const lastCommit = state.lastCommitAt ? Date.parse(state.lastCommitAt) : NaN;
        if (object.mode === 'cdc' && Number.isFinite(lastCommit)) {
          const age = Math.max(0, (now - lastCommit) / 1000);
          replayAge.set({ integration: key, object: object.name }, age);
          headroom.set({ integration: key, object: object.name }, retentionHeadroomSeconds(lastCommit, now));
        }
        const reconciled = state.lastReconcileAt ? Date.parse(state.lastReconcileAt) : NaN;
        if (Number.isFinite(reconciled))
          lastReconcile.set({ integration: key, object: object.name }, reconciled / 1000);
      }
    }
    replicas.set(await redis.zcard(bridgeKeys(config.redis.prefix).subscriberReplicas()));
    const summed = await redis.hgetall(bridgeKeys(config.redis.prefix).metrics());
    const processes = renderProcessReports(await readProcessReports(redis, processReportsKey(config.redis.prefix)));
    return reply.type(registry.contentType).send(`${await registry.metrics()}\n${renderSummed(summed)}${processes}`);
  });
};

/** The Redis-summed counters and the latency histogram, in Prometheus text format. */
export function renderSummed(fields: Record<string, string>): string {
  const series = new Map<string, string[]>();
  for (const [field, value] of Object.entries(fields)) {
    const { name, labels } = parseSeriesField(field);
    const rendered = renderLabels(labels);
    const lines = series.get(name) ?? [];
    lines.push(`${name}${rendered ? `{${rendered}}` : ''} ${Number(value)}`);
    series.set(name, lines);
  }
  const out: string[] = [];
  for (const counter of Object.values(COUNTERS)) {
    out.push(
      `# HELP ${counter.name} ${counter.help}`,
      `# TYPE ${counter.name} counter`,
      ...(series.get(counter.name) ?? []).sort(),
    );
  }
  out.push(`# HELP ${LATENCY_HISTOGRAM.name} ${LATENCY_HISTOGRAM.help}`, `# TYPE ${LATENCY_HISTOGRAM.name} histogram`);
  for (const suffix of ['_bucket', '_sum', '_count'])
    out.push(...(series.get(`${LATENCY_HISTOGRAM.name}${suffix}`) ?? []).sort(byBucket));
  return `${out.join('\n')}\n`;
}

/** Histogram buckets in ascending `le` order (Prometheus requires it), +Inf last. */
function byBucket(a: string, b: string): number {
  const le = (line: string) => {
    const match = /le="([^"]+)"/.exec(line);
    return match?.[1] === '+Inf' ? Infinity : Number(match?.[1] ?? 0);
  };
  const integration = (line: string) => /integration="([^"]*)"/.exec(line)?.[1] ?? '';
  return integration(a).localeCompare(integration(b)) || le(a) - le(b);
}
