import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChangeQueue } from '../../src/queue/change-queue.ts';
import type { ChangeJob } from '../../src/model/change.ts';
import { DeadLetterStore } from '../../src/store/dead-letters.ts';
import { startWorkerRole, type WorkerRole } from '../../src/roles/worker.ts';
import type { SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import { buildApp } from '../../src/server/app.ts';
import { Shutdown } from '../../src/shutdown.ts';
import { ADMIN_TOKEN, type BridgeHarness } from '../helpers/bridge.ts';
import { INTEGRATION } from '../helpers/oauth.ts';
import { eventually } from '../helpers/redis.ts';
import { startAuthorisedPipeline } from '../helpers/pipeline.ts';

const CM_TOKEN = 'cm-test-token';
const OBJECTS = `      EmailMessage:
        where: "Incoming = true"
        comment:
          timestamp: MessageDate
          thread: ParentId
          subject: Subject
          body: [TextBody, HtmlBody]
          from: FromAddress
          to: ToAddress
          properties:
            Status: Status
            Case Number: Parent.CaseNumber
            Case Priority: Parent.Priority
      Case:
        comment:
          subject: Subject
          body: Description
          properties:
            Priority: Priority
      Task:
        comment:
          id: Subject
          body: Description`;

describe('worker: fetch, transform, push', () => {
  let harness: BridgeHarness;
  let cm: SimulatedCommunicationsMining;
  let queue: ChangeQueue;
  let roles: WorkerRole[];
  let shutdown: Shutdown;

  beforeEach(async () => {
    ({ harness, cm } = await startAuthorisedPipeline({ objects: OBJECTS, cmToken: CM_TOKEN }));
    queue = new ChangeQueue(harness.redis.redis, harness.redis.prefix, INTEGRATION);
    shutdown = new Shutdown(pino({ level: 'silent' }));
    roles = [];
  });

  afterEach(async () => {
    await shutdown.run('test over');
    await queue.close();
    await harness.close();
    await cm.close();
  });

  async function startWorkers(count = 1, options: Parameters<typeof startWorkerRole>[2] = {}) {
    for (let i = 0; i < count; i++) {
      const context = i === 0 ? harness.context : harness.secondContext();
      // Reconciliation would find these silently-made records too; here only the queued changes count.
      roles.push(
        await startWorkerRole(context, shutdown, {
          sinkRetry: { baseDelayMs: 10, maxDelayMs: 50 },
          reconciler: false,
          ...options,
        }),
      );
    }
  }

  function job(
    object: string,
    recordId: string,
    kind: ChangeJob['kind'] = 'UPDATE',
    extra: Partial<ChangeJob> = {},
  ): ChangeJob {
    return { integration: INTEGRATION, object, recordId, kind, origin: 'admin', enqueuedAt: Date.now(), ...extra };
  }

  const body = (id: unknown) => cm.control.comment('acme', 'emails', String(id))?.comment.messages[0]?.body.text;
  let sequence = 0;
  const enqueue = (jobs: ChangeJob[]) => queue.enqueue(jobs, () => `t${sequence++}`);
  const pending = async () => (await queue.backlog()) === 0;

  function emailFields(caseId: string, body: string) {
    return {
      Subject: 'Invoice 4471 charged twice',
      TextBody: body,
      FromAddress: 'jane@customer.example',
      ToAddress: 'support@acme.example; billing@acme.example',
      MessageDate: '2024-03-05T14:22:10.000Z',
      ParentId: caseId,
      Incoming: true,
      Status: '1',
    };
  }

  it('pushes a fetched, enriched record as a valid comment', async () => {
    const caseRecord = harness.org.store.create(
      'Case',
      { Subject: 'Double charge', Description: 'Charged twice', Priority: 'High' },
      { silent: true },
    );
    const email = harness.org.store.create(
      'EmailMessage',
      emailFields(String(caseRecord.Id), 'Hello,\r\n\r\nWe were charged twice.'),
      { silent: true },
    );
    await startWorkers();
    await enqueue([job('EmailMessage', String(email.Id), 'CREATE'), job('Case', String(caseRecord.Id), 'CREATE')]);

    const stored = await eventually(() => cm.control.comment('acme', 'emails', String(email.Id)));
    expect(stored.comment).toEqual({
      id: email.Id,
      timestamp: '2024-03-05T14:22:10.000Z',
      thread_id: caseRecord.Id,
      messages: [
        {
          body: { text: 'Hello,\n\nWe were charged twice.' },
          subject: { text: 'Invoice 4471 charged twice' },
          from: 'jane@customer.example',
          to: ['support@acme.example', 'billing@acme.example'],
          sent_at: '2024-03-05T14:22:10.000Z',
        },
      ],
      user_properties: {
        'string:Status': 'Read',
        'string:Case Number': caseRecord.CaseNumber,
        'string:Case Priority': 'High',
      },
    });
    await eventually(() => cm.control.comment('acme', 'emails', String(caseRecord.Id)));
  });

  it('the admin API tells where a record is and previews the comment it would become', async () => {
    const caseRecord = harness.org.store.create(
      'Case',
      { Subject: 'Lookup', Description: 'find me', Priority: 'Low' },
      { silent: true },
    );
    await startWorkers();
    await enqueue([
      job('Case', String(caseRecord.Id), 'CREATE', { origin: 'cdc', channel: '/data/CaseChangeEvent', replayId: 42 }),
    ]);
    await eventually(() => cm.control.comment('acme', 'emails', String(caseRecord.Id)));
    const app = await buildApp(harness.context);
    try {
      const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
      const lookup = await eventually(async () => {
        const response = await app.inject({
          method: 'GET',
          url: `/api/integrations/acme/emails/records/${caseRecord.Id}`,
          headers: auth,
        });
        // The trail is noted right after the push: wait for both.
        const body = response.json<{ found: boolean; objects: Array<{ processed: unknown }> }>();
        return body.found && body.objects[0]?.processed ? body : undefined;
      });
      expect(lookup.objects).toEqual([
        {
          object: 'Case',
          lastChange: {
            kind: 'CREATE',
            origin: 'cdc',
            enqueuedAt: expect.any(String),
            replayId: 42,
            channel: '/data/CaseChangeEvent',
          },
          processed: { at: expect.any(String), outcome: 'pushed' },
          inSource: {
            state: 'present',
            commentId: caseRecord.Id,
            version: expect.any(String),
            pushedAt: expect.any(String),
          },
          deadLetters: [],
        },
      ]);
      const unknown = await app.inject({
        method: 'GET',
        url: '/api/integrations/acme/emails/records/500000000000000AAA',
        headers: auth,
      });
      expect(unknown.json()).toEqual({ recordId: '500000000000000AAA', found: false, objects: [] });

      harness.org.store.update(String(caseRecord.Id), { Description: 'changed, not yet pushed' }, { silent: true });
      const preview = await app.inject({
        method: 'GET',
        url: `/api/integrations/acme/emails/preview?object=Case&id=${caseRecord.Id}`,
        headers: auth,
      });
      expect(preview.statusCode).toBe(200);
      expect(preview.json()).toMatchObject({
        object: 'Case',
        inScope: true,
        comment: {
          id: caseRecord.Id,
          messages: [{ body: { text: 'changed, not yet pushed' }, subject: { text: 'Lookup' } }],
          user_properties: { 'string:Priority': 'Low' },
        },
      });
      expect(body(caseRecord.Id)).toBe('find me'); // previewed, not pushed
      const bad = await app.inject({
        method: 'GET',
        url: '/api/integrations/acme/emails/preview?object=Nope&id=500000000000000AAA',
        headers: auth,
      });
      expect(bad.statusCode).toBe(400);
      const missing = await app.inject({
        method: 'GET',
        url: '/api/integrations/acme/emails/preview?object=Case&id=500000000000000AAA',
        headers: auth,
      });
      expect(missing.statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('coalesces many changes of one record into one fetch and one push, with one query per batch', async () => {
    const caseRecord = harness.org.store.create('Case', { Subject: 'S', Description: 'v0' }, { silent: true });
    const emails = Array.from({ length: 30 }, (_, i) =>
      harness.org.store.create('EmailMessage', emailFields(String(caseRecord.Id), `body ${i}`), { silent: true }),
    );
    for (let i = 1; i <= 5; i++)
      harness.org.store.update(String(caseRecord.Id), { Description: `v${i}` }, { silent: true });
    await enqueue([
      ...Array.from({ length: 5 }, () => job('Case', String(caseRecord.Id))),
      ...emails.map((e) => job('EmailMessage', String(e.Id), 'CREATE')),
    ]);
    const queriesBefore = harness.org.counters().rest.calls.query ?? 0;
    await startWorkers();
    await eventually(() => cm.control.comments('acme', 'emails').length === 31);
    await eventually(pending);
    expect(cm.control.history({ commentId: String(caseRecord.Id) })).toHaveLength(1);
    expect(cm.control.comment('acme', 'emails', String(caseRecord.Id))?.comment.messages[0]?.body.text).toBe('v5');
    // Two objects in one batch: one query and one sync request each (describes are cached). The
    // updated Case then costs one query for the EmailMessages that read it (Parent.CaseNumber) and
    // one fetch of those 30 children, whose content has not changed: no further push.
    expect((harness.org.counters().rest.calls.query ?? 0) - queriesBefore).toBe(4);
    expect(cm.control.counters().requests.sync?.['200']).toBe(2);
  });

  it('a small burst arriving as several jobs waits (linger) and costs one fetch and one push', async () => {
    await startWorkers(1, { lingerMs: 400 });
    const cases = Array.from({ length: 40 }, (_, i) =>
      harness.org.store.create('Case', { Subject: `burst ${i}`, Description: `burst ${i}` }, { silent: true }),
    );
    const queriesBefore = harness.org.counters().rest.calls.query ?? 0;
    const syncsBefore = cm.control.counters().requests.sync?.['200'] ?? 0;
    // Four jobs of ten, as the subscriber writes a burst that spans several flushes.
    for (let chunk = 0; chunk < 4; chunk++) {
      await enqueue(cases.slice(chunk * 10, chunk * 10 + 10).map((c) => job('Case', String(c.Id), 'CREATE')));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await eventually(() => cm.control.comments('acme', 'emails').length === 40);
    await eventually(pending);
    expect((harness.org.counters().rest.calls.query ?? 0) - queriesBefore).toBe(1);
    expect((cm.control.counters().requests.sync?.['200'] ?? 0) - syncsBefore).toBe(1);
  });

  it('does not push unchanged content again (CM bills text changes)', async () => {
    const caseRecord = harness.org.store.create('Case', { Subject: 'S', Description: 'same' }, { silent: true });
    await startWorkers();
    await enqueue([job('Case', String(caseRecord.Id))]);
    await eventually(() => cm.control.comment('acme', 'emails', String(caseRecord.Id)));
    harness.org.store.update(String(caseRecord.Id), { Status: 'Working' }, { silent: true }); // unmapped field
    await enqueue([job('Case', String(caseRecord.Id))]);
    await eventually(pending);
    expect(cm.control.history({ commentId: String(caseRecord.Id) })).toHaveLength(1);
  });

  it('deletes: DELETE events, deleted records and records leaving the where clause', async () => {
    const caseRecord = harness.org.store.create('Case', { Subject: 'S', Description: 'd' }, { silent: true });
    const [a, b, c] = [1, 2, 3].map((i) =>
      harness.org.store.create('EmailMessage', emailFields(String(caseRecord.Id), `m${i}`), { silent: true }),
    );
    await startWorkers();
    await enqueue([a, b, c].map((e) => job('EmailMessage', String(e?.Id), 'CREATE')));
    await eventually(() => cm.control.comments('acme', 'emails').length === 3);

    harness.org.store.delete(String(a?.Id), { silent: true });
    harness.org.store.delete(String(b?.Id), { silent: true });
    harness.org.store.update(String(c?.Id), { Incoming: false }, { silent: true });
    await enqueue([
      job('EmailMessage', String(a?.Id), 'DELETE', { commitTimestamp: Date.now() }),
      job('EmailMessage', String(b?.Id), 'UPDATE'), // a stale update of a deleted record: fetch finds nothing
      job('EmailMessage', String(c?.Id), 'UPDATE'),
    ]);
    await eventually(() => cm.control.comments('acme', 'emails').length === 0);
  });

  it('a record that cannot become a comment is dead-lettered; the rest of the batch goes through', async () => {
    // Task maps its comment id to Subject: a subject with spaces is not a valid comment id (docs/communications-mining.md#comment-fields).
    const bad = harness.org.store.create(
      'Task',
      { Subject: 'call the customer back', Description: 'x' },
      { silent: true },
    );
    const good = harness.org.store.create('Task', { Subject: 'follow-up-42', Description: 'y' }, { silent: true });
    await startWorkers();
    await enqueue([job('Task', String(bad.Id), 'CREATE'), job('Task', String(good.Id), 'CREATE')]);
    await eventually(() => cm.control.comment('acme', 'emails', 'follow-up-42'));
    const letters = await new DeadLetterStore(harness.redis.redis, harness.redis.prefix).list(INTEGRATION);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ object: 'Task', recordId: bad.Id, stage: 'transform' });
    expect(letters[0]?.reason).toMatch(/id/i);
  });

  it('a record Salesforce no longer has is deleted from the source, never dead-lettered', async () => {
    await startWorkers();
    await enqueue([job('EmailMessage', '02s000000000000AAA', 'UPDATE')]);
    await eventually(() => cm.control.counters().requests.deleteComments?.['200'] === 1);
    expect(await new DeadLetterStore(harness.redis.redis, harness.redis.prefix).count(INTEGRATION)).toBe(0);
  });

  it("a comment CM rejects goes to the dead-letter list with CM's reason; the rest goes through", async () => {
    const caseRecord = harness.org.store.create('Case', { Subject: 'S', Description: 'x' }, { silent: true });
    const emails = [1, 2].map((i) =>
      harness.org.store.create('EmailMessage', emailFields(String(caseRecord.Id), `m${i}`), { silent: true }),
    );
    // The batch fails, then its first half fails again: that comment is isolated and rejected.
    cm.control.failNext({
      status: 422,
      count: 2,
      route: 'sync',
      message: 'comments[0].messages[0].body.text: rejected for the test',
    });
    await startWorkers();
    await enqueue(emails.map((e) => job('EmailMessage', String(e.Id), 'CREATE')));
    const store = new DeadLetterStore(harness.redis.redis, harness.redis.prefix);
    const letters = await eventually(async () => {
      const list = await store.list(INTEGRATION);
      return list.length > 0 ? list : undefined;
    });
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ object: 'EmailMessage', stage: 'push' });
    expect(letters[0]?.reason).toContain('rejected for the test');
    await eventually(() => cm.control.comments('acme', 'emails').length === 1);
    expect(emails.map((e) => String(e.Id))).toContain(letters[0]?.recordId);
  });

  it('CM 503 and 429 are retried until the comment lands', async () => {
    const caseRecord = harness.org.store.create('Case', { Subject: 'S', Description: 'retry me' }, { silent: true });
    cm.control.failNext({ status: 503, count: 2 });
    cm.control.failNext({ status: 429, count: 1, retryAfterSeconds: 0 });
    await startWorkers();
    await enqueue([job('Case', String(caseRecord.Id))]);
    const stored = await eventually(() => cm.control.comment('acme', 'emails', String(caseRecord.Id)), 10_000);
    expect(stored.comment.messages[0]?.body.text).toBe('retry me');
  });

  it('racing workers never let an older version overwrite a newer one', async () => {
    const records = Array.from({ length: 8 }, (_, i) =>
      harness.org.store.create('Case', { Subject: `r${i}`, Description: 'v0' }, { silent: true }),
    );
    // Slow pushes on two independent worker processes: their batches overlap in time.
    cm.control.latency(15);
    await startWorkers(2, { batchSize: 5 });
    for (let version = 1; version <= 6; version++) {
      for (const record of records)
        harness.org.store.update(String(record.Id), { Description: `v${version}` }, { silent: true });
      await enqueue(records.map((r) => job('Case', String(r.Id))));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await eventually(pending, 15_000);
    for (const record of records) {
      const pushed = cm.control
        .history({ commentId: String(record.Id) })
        .flatMap((entry) => (entry.kind === 'upsert' ? [Number(entry.comment.messages[0]?.body.text.slice(1))] : []));
      expect(pushed.length).toBeGreaterThan(0);
      expect(pushed).toEqual([...pushed].sort((a, b) => a - b));
      expect(cm.control.comment('acme', 'emails', String(record.Id))?.comment.messages[0]?.body.text).toBe('v6');
    }
  });
});
