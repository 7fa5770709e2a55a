/**
 * `/metrics` counts every Salesforce REST call, whoever makes it (worker, reconciliation, preview),
 * and records reconciliation runs and the records they read.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startWorkerRole } from '../../src/roles/worker.ts';
import { buildApp, type BridgeApp } from '../../src/server/app.ts';
import { ADMIN_TOKEN } from '../helpers/bridge.ts';
import { eventually } from '../helpers/redis.ts';
import { startReconcileHarness, type ReconcileHarness } from './harness.ts';

const OBJECTS = `      Case:
        mode: poll
        comment: { subject: Subject, body: Description }`;

/** The value of one series in a Prometheus text scrape (0 when absent). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('metrics of REST calls and reconciliation', () => {
  let h: ReconcileHarness;
  let app: BridgeApp;

  beforeEach(async () => {
    h = await startReconcileHarness({ objects: OBJECTS });
    app = await buildApp(h.bridge.context);
  });

  afterEach(async () => {
    await app.close();
    await h.close();
  });

  const scrape = async () => {
    await h.bridge.context.metrics.flush();
    return (await app.inject({ method: 'GET', url: '/metrics' })).body;
  };
  const restCalls = (text: string) =>
    ['query', 'queryMore', 'describe'].reduce(
      (sum, kind) => sum + sample(text, `sfcm_salesforce_rest_calls_total{integration="acme/emails",kind="${kind}"}`),
      0,
    );
  const orgCalls = () => Object.values(h.bridge.org.counters().rest.calls).reduce((sum, n) => sum + n, 0);

  it('after a reconcile and a preview, the counters moved, and every REST call the org answered is counted', async () => {
    const ids = Array.from({ length: 3 }, (_, i) =>
      String(h.bridge.org.store.create('Case', { Subject: `m${i}`, Description: `metric ${i}` }).Id),
    );
    // Worker and reconciler on the context the app reads: one recorder to flush.
    await startWorkerRole(h.bridge.context, h.shutdown, {
      sinkRetry: { baseDelayMs: 10, maxDelayMs: 50 },
      reconciler: false,
    });
    const reconciler = await h.startReconciler();
    await eventually(() => ids.every((id, i) => h.body(id) === `metric ${i}`), 15_000);
    await reconciler.close();

    const afterReconcile = await scrape();
    expect(
      sample(afterReconcile, 'sfcm_reconcile_runs_total{integration="acme/emails",object="Case"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(afterReconcile, 'sfcm_reconcile_records_total{integration="acme/emails",object="Case"}'),
    ).toBeGreaterThanOrEqual(ids.length);
    expect(restCalls(afterReconcile)).toBe(orgCalls());

    const preview = await app.inject({
      method: 'GET',
      url: `/api/integrations/acme/emails/preview?object=Case&id=${ids[0]}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(preview.statusCode).toBe(200);
    const afterPreview = await scrape();
    expect(restCalls(afterPreview)).toBeGreaterThan(restCalls(afterReconcile));
    expect(restCalls(afterPreview)).toBe(orgCalls());
  });
});
