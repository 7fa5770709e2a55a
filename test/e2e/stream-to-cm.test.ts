/**
 * The whole pipeline in one place: changes made in the simulated org travel as CDC events through
 * the subscriber, the queue and the workers into the simulated Communications Mining.
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSubscriberRole } from '../../src/roles/subscriber.ts';
import { startWorkerRole } from '../../src/roles/worker.ts';
import type { SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import { buildApp } from '../../src/server/app.ts';
import { Shutdown } from '../../src/shutdown.ts';
import type { BridgeHarness } from '../helpers/bridge.ts';
import { eventually } from '../helpers/redis.ts';
import { startAuthorisedPipeline } from '../helpers/pipeline.ts';
import { FAST, subscribed } from '../subscriber/harness.ts';

const CM_TOKEN = 'cm-e2e-token';
const OBJECTS = `      EmailMessage:
        where: "Incoming = true"
        comment:
          timestamp: MessageDate
          thread: ParentId
          subject: Subject
          body: [TextBody, HtmlBody]
          from: FromAddress
          properties:
            Case Number: Parent.CaseNumber
            Case Priority: Parent.Priority
      Case:
        comment:
          subject: Subject
          body: Description
          properties:
            Priority: Priority`;

describe('end to end: org change → CDC → queue → worker → Communications Mining', () => {
  let harness: BridgeHarness;
  let cm: SimulatedCommunicationsMining;
  let shutdown: Shutdown;

  beforeEach(async () => {
    ({ harness, cm } = await startAuthorisedPipeline({
      objects: OBJECTS,
      cmToken: CM_TOKEN,
      org: { cometdTimeoutSeconds: 1 },
    }));
    shutdown = new Shutdown(pino({ level: 'silent' }));
    await startWorkerRole(harness.secondContext(), shutdown, { sinkRetry: { baseDelayMs: 10, maxDelayMs: 50 } });
    const subscriber = await startSubscriberRole(harness.context, shutdown, FAST);
    await subscribed(subscriber, ['/data/EmailMessageChangeEvent', '/data/CaseChangeEvent']);
  });

  afterEach(async () => {
    await shutdown.run('test over');
    await harness.close();
    await cm.close();
  });

  const body = (id: unknown) => cm.control.comment('acme', 'emails', String(id))?.comment.messages[0]?.body.text;

  it('creates, updates, deletes, undeletes and scope changes converge to exactly the expected source', async () => {
    const store = harness.org.store;
    const parent = store.create('Case', {
      Subject: 'Broken screen',
      Description: 'Screen cracked on arrival',
      Priority: 'High',
    });
    const inbound = store.create('EmailMessage', {
      Subject: 'Re: Broken screen',
      HtmlBody: '<p>Photo <b>attached</b>.</p>',
      FromAddress: 'jane@customer.example',
      MessageDate: '2026-11-27T10:00:00.000Z',
      ParentId: String(parent.Id),
      Incoming: true,
    });
    const outbound = store.create('EmailMessage', {
      Subject: 'Reply',
      TextBody: 'We are on it',
      ParentId: String(parent.Id),
      Incoming: false,
    });

    await eventually(
      () => body(inbound.Id) === 'Photo attached.' && body(parent.Id) === 'Screen cracked on arrival',
      10_000,
    );
    expect(cm.control.comment('acme', 'emails', String(inbound.Id))?.comment.user_properties).toEqual({
      'string:Case Number': parent.CaseNumber,
      'string:Case Priority': 'High',
    });
    expect(body(outbound.Id)).toBeUndefined(); // outside `where`

    store.update(String(parent.Id), { Description: 'Screen cracked; replacement sent' });
    store.update(String(outbound.Id), { Incoming: true }); // enters the scope
    await eventually(
      () => body(parent.Id) === 'Screen cracked; replacement sent' && body(outbound.Id) === 'We are on it',
      10_000,
    );

    store.delete(String(parent.Id));
    store.update(String(inbound.Id), { Incoming: false }); // leaves the scope
    await eventually(() => body(parent.Id) === undefined && body(inbound.Id) === undefined, 10_000);

    store.undelete(String(parent.Id));
    await eventually(() => body(parent.Id) === 'Screen cracked; replacement sent', 10_000);
    expect(
      cm.control
        .comments('acme', 'emails')
        .map((c) => c.comment.id)
        .sort(),
    ).toEqual([String(outbound.Id), String(parent.Id)].sort());
  });

  it("a parent's change re-sends the children that read it (Parent.Priority), right after the parent's event", async () => {
    const store = harness.org.store;
    const parent = store.create('Case', {
      Subject: 'Slow delivery',
      Description: 'Where is my parcel?',
      Priority: 'Low',
    });
    const child = store.create('EmailMessage', {
      Subject: 'Parcel',
      TextBody: 'Still waiting',
      ParentId: String(parent.Id),
      Incoming: true,
    });
    const priority = () =>
      cm.control.comment('acme', 'emails', String(child.Id))?.comment.user_properties?.['string:Case Priority'];
    await eventually(() => priority() === 'Low', 10_000);
    store.update(String(parent.Id), { Priority: 'High' }); // the child itself does not change
    await eventually(() => priority() === 'High', 10_000);
    expect(cm.control.history({ commentId: String(child.Id) }).filter((e) => e.kind === 'upsert')).toHaveLength(2);
  });

  it('/metrics shows the whole deployment: events, REST calls, CM requests, latency, queue and stream gauges', async () => {
    const caseRecord = harness.org.store.create('Case', { Subject: 'metrics', Description: 'count me' });
    await eventually(() => body(caseRecord.Id) === 'count me', 10_000);
    const app = await buildApp(harness.context);
    try {
      const text = await eventually(
        async () => {
          const response = await app.inject({ method: 'GET', url: '/metrics' });
          const scraped = response.body;
          // Counters reach Redis within one flush interval of the processes that counted them.
          return /sfcm_cm_comments_total\{integration="acme\/emails",outcome="pushed"\} [1-9]/.test(scraped) &&
            /sfcm_events_received_total\{integration="acme\/emails",object="Case",change_type="CREATE"\} [1-9]/.test(
              scraped,
            )
            ? scraped
            : undefined;
        },
        10_000,
        200,
      );
      expect(text).toMatch(/sfcm_salesforce_rest_calls_total\{integration="acme\/emails",kind="query"\} [1-9]/);
      expect(text).toMatch(/sfcm_cm_requests_total\{integration="acme\/emails",operation="sync",status="200"\} [1-9]/);
      expect(text).toMatch(/sfcm_push_latency_seconds_count\{integration="acme\/emails"\} [1-9]/);
      expect(text).toMatch(/sfcm_push_latency_seconds_bucket\{integration="acme\/emails",le="\+Inf"\} [1-9]/);
      expect(text).toMatch(/sfcm_subscriber_leader\{integration="acme\/emails"\} 1/);
      expect(text).toMatch(
        /sfcm_subscriber_streamed_by\{integration="acme\/emails",replica="[^"]+:\d+:[0-9a-f]{12}"\} 1/,
      );
      expect(text).toMatch(/sfcm_subscriber_replicas 1/);
      expect(text).toMatch(/sfcm_integration_auth_state\{integration="acme\/emails",state="authorized"\} 1/);
      expect(text).toMatch(/sfcm_replay_id\{integration="acme\/emails",channel="\/data\/CaseChangeEvent"\} [1-9]/);
      expect(text).toMatch(
        /sfcm_replay_retention_headroom_seconds\{integration="acme\/emails",object="Case"\} 2[0-9]{5}/,
      );
      expect(text).toMatch(/sfcm_queue_jobs\{integration="acme\/emails",state="waiting"\} 0/);
      expect(text).not.toContain('cm-e2e-token');
    } finally {
      await app.close();
    }
  });

  it('a burst of changes in one transaction arrives complete, each record pushed at its latest state', async () => {
    const ids = harness.org.store.transaction((tx) =>
      Array.from({ length: 150 }, (_, i) =>
        String(tx.create('Case', { Subject: `Case ${i}`, Description: `first ${i}` }).Id),
      ),
    );
    harness.org.store.transaction((tx) => ids.forEach((id, i) => tx.update(id, { Description: `second ${i}` })));
    await eventually(() => ids.every((id, i) => body(id) === `second ${i}`), 15_000);
    // Never an older text after a newer one, per comment.
    for (const id of ids) {
      const texts = cm.control
        .history({ commentId: id })
        .flatMap((entry) => (entry.kind === 'upsert' ? [entry.comment.messages[0]?.body.text] : []));
      expect(texts.indexOf(texts.find((t) => t?.startsWith('second')) ?? '')).toBe(texts.length - 1);
    }
  });
});
