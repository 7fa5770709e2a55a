/**
 * Where failures end (docs/errors.md): malformed changes and work that can never succeed are
 * dead-lettered at once; a target that refuses the bridge pauses its pushes, visibly, and resumes by
 * itself; a dead letter whose retry fails again is back in the list.
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChangeJob } from '../../src/model/change.ts';
import { ChangeQueue } from '../../src/queue/change-queue.ts';
import { startWorkerRole } from '../../src/roles/worker.ts';
import type { SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import { buildApp, type BridgeApp } from '../../src/server/app.ts';
import { Shutdown } from '../../src/shutdown.ts';
import { ADMIN_TOKEN, type BridgeHarness } from '../helpers/bridge.ts';
import { authorise, INTEGRATION } from '../helpers/oauth.ts';
import { startAuthorisedPipeline } from '../helpers/pipeline.ts';
import { eventually } from '../helpers/redis.ts';

const CM_TOKEN = 'cm-failures-token';
const OBJECTS = `      Case:
        comment: { subject: Subject, body: Description }
      Task:
        comment: { id: Subject, body: Description }`;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('failures end where they belong', () => {
  let harness: BridgeHarness;
  let cm: SimulatedCommunicationsMining;
  let queue: ChangeQueue;
  let shutdown: Shutdown;
  let app: BridgeApp;

  beforeEach(async () => {
    ({ harness, cm } = await startAuthorisedPipeline({ objects: OBJECTS, cmToken: CM_TOKEN }));
    queue = new ChangeQueue(harness.redis.redis, harness.redis.prefix, INTEGRATION);
    shutdown = new Shutdown(pino({ level: 'silent' }));
    app = await buildApp(harness.context);
  });

  afterEach(async () => {
    await shutdown.run('test over');
    await app.close();
    await queue.close();
    await harness.close();
    await cm.close();
  });

  const startWorkers = (options: Parameters<typeof startWorkerRole>[2] = {}) =>
    startWorkerRole(harness.context, shutdown, {
      sinkRetry: { baseDelayMs: 10, maxDelayMs: 50 },
      reconciler: false,
      targetProbeEveryMs: 200,
      ...options,
    });
  const change = (object: string, recordId: string): ChangeJob => ({
    integration: INTEGRATION,
    object,
    recordId,
    kind: 'UPDATE',
    origin: 'admin',
    enqueuedAt: Date.now(),
  });
  const text = (id: string) => cm.control.comment('acme', 'emails', id)?.comment.messages[0]?.body.text;
  const letters = () => harness.context.deadLetters.list(INTEGRATION);
  const api = async (url: string) => (await app.inject({ method: 'GET', url, headers: auth })).json();
  const allJobs = () => queue.queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized']);

  it('a malformed change is dead-lettered at once with its reason; the valid changes of its job go through', async () => {
    const record = harness.org.store.create('Case', { Subject: 'ok', Description: 'valid' }, { silent: true });
    // A job no producer of the bridge would write: one change names no Salesforce record.
    await queue.queue.add('changes', {
      changes: [change('Case', String(record.Id)), { ...change('Case', 'x'), recordId: 'not an id!' }],
    });
    await queue.queue.add('changes', { nonsense: true } as never, { jobId: 'not-a-batch' });
    await startWorkers();

    await eventually(() => text(String(record.Id)) === 'valid');
    const dead = await eventually(async () => ((await letters()).length === 2 ? letters() : undefined));
    expect(dead.map((letter) => [letter.object, letter.stage, letter.recordId]).sort()).toEqual([
      ['(unknown)', 'worker', undefined],
      ['Case', 'worker', undefined],
    ]);
    expect(dead.find((letter) => letter.object === 'Case')?.reason).toMatch(
      /malformed change: recordId: not a Salesforce record id/,
    );
    // Failed for good on the first attempt: BullMQ does not retry it for hours.
    const failed = await eventually(async () => {
      const job = await queue.queue.getJob('not-a-batch');
      return (await job?.getState()) === 'failed' ? job : undefined;
    });
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toContain('no list of changes');
  });

  it('CM 401: pushes pause with a visible reason, no job spends an attempt, and resume by themselves when CM accepts again', async () => {
    const ids = Array.from({ length: 5 }, (_, i) =>
      String(harness.org.store.create('Case', { Subject: `s${i}`, Description: `paused ${i}` }, { silent: true }).Id),
    );
    cm.control.failUntilCleared({ status: 401, message: 'Invalid API token' });
    await startWorkers();
    await queue.enqueue(
      ids.map((id) => change('Case', id)),
      (c) => c.recordId,
    );

    const view = await eventually(async () => {
      const body = await api('/api/integrations/acme/emails');
      return body.target.state === 'paused' ? body : undefined;
    });
    expect(view.target).toEqual({
      state: 'paused',
      reason: expect.stringContaining("target refused the bridge's credentials"),
      since: expect.any(String),
    });
    expect(view.target.reason).toContain('Invalid API token');
    expect(JSON.stringify(view)).not.toContain(CM_TOKEN);
    const page = await app.inject({ method: 'GET', url: '/', headers: auth });
    expect(page.body).toContain('Pushes to Communications Mining are paused');
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/sfcm_target_paused\{integration="acme\/emails"\} 1/);

    // Paused: the probe keeps asking (getSource), pushes are not attempted, attempts stay untouched.
    await eventually(() => (cm.control.counters().requests.getSource?.['401'] ?? 0) >= 2);
    const syncs = cm.control.counters().requests.sync?.['401'] ?? 0;
    await eventually(() => (cm.control.counters().requests.getSource?.['401'] ?? 0) >= 4);
    expect(cm.control.counters().requests.sync?.['401'] ?? 0).toBe(syncs);
    for (const job of await allJobs()) expect(job.attemptsMade).toBe(0);
    expect(await letters()).toEqual([]);

    cm.control.clearFaults();
    await eventually(() => ids.every((id, i) => text(id) === `paused ${i}`), 10_000);
    expect((await api('/api/integrations/acme/emails')).target).toEqual({ state: 'ok' });
    expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(
      /sfcm_target_paused\{integration="acme\/emails"\} 0/,
    );
  });

  it('Salesforce needs re-authorisation: changes wait without spending attempts, and go as soon as an admin authorises again', async () => {
    const ids = Array.from({ length: 4 }, (_, i) =>
      String(harness.org.store.create('Case', { Subject: `r${i}`, Description: `reauth ${i}` }, { silent: true }).Id),
    );
    harness.org.oauth.revokeRefreshTokens({ includeAccessTokens: true });
    await startWorkers();
    await queue.enqueue(
      ids.map((id) => change('Case', id)),
      (c) => c.recordId,
    );
    await eventually(async () => (await harness.context.tokens.store.status(INTEGRATION)).state === 'needs_reauth');
    await eventually(async () => (await queue.queue.getWaitingCount()) > 0);
    for (const job of await allJobs()) expect(job.attemptsMade).toBe(0);
    expect(cm.control.comments('acme', 'emails')).toEqual([]);

    // The workers sleep for 30 s at a time while paused: the re-authorisation must wake every loop.
    const started = Date.now();
    await authorise(harness.context);
    await eventually(() => ids.every((id, i) => text(id) === `reauth ${i}`), 5_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await letters()).toEqual([]);
  });

  it('a failure on the last attempt is dead-lettered, and its retry through the admin API pushes the record', async () => {
    const record = harness.org.store.create('Case', { Subject: 'last', Description: 'last attempt' }, { silent: true });
    cm.control.failUntilCleared({ status: 503, route: 'sync' });
    await startWorkers({ sinkRetry: { maxAttempts: 1 } });
    await queue.queue.add('changes', { changes: [change('Case', String(record.Id))] }, { attempts: 1 });

    const [letter] = await eventually(async () => ((await letters()).length === 1 ? letters() : undefined));
    expect(letter).toMatchObject({ object: 'Case', recordId: record.Id, stage: 'worker' });
    expect(letter?.reason).toMatch(/gave up after 1 attempts: .*answered 503/);

    cm.control.clearFaults();
    const retry = await app.inject({
      method: 'POST',
      url: `/api/integrations/acme/emails/dead-letters/${letter?.id}/retry`,
      headers: auth,
    });
    expect(retry.statusCode).toBe(200);
    await eventually(() => text(String(record.Id)) === 'last attempt');
    expect(await letters()).toEqual([]);
  });

  it('a dead letter whose retry fails again is back in the list', async () => {
    // Task maps its comment id to Subject: spaces make an invalid comment id, every time.
    const task = harness.org.store.create('Task', { Subject: 'call them back', Description: 'x' }, { silent: true });
    await startWorkers();
    await queue.enqueue([change('Task', String(task.Id))], () => 'first');
    const [letter] = await eventually(async () => ((await letters()).length === 1 ? letters() : undefined));

    const retry = await app.inject({
      method: 'POST',
      url: `/api/integrations/acme/emails/dead-letters/${letter?.id}/retry`,
      headers: auth,
    });
    expect(retry.statusCode).toBe(200);
    const [again] = await eventually(async () => {
      const list = await letters();
      return list.length === 1 && list[0]?.id !== letter?.id ? list : undefined;
    });
    expect(again).toMatchObject({ object: 'Task', recordId: task.Id, stage: 'transform' });
  });
});
