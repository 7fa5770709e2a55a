/**
 * The simulated CM stores, classifies and records synced comments as
 * docs/communications-mining.md#sync-response, #upsert-semantics-annotations-and-billing describe, and
 * serves get-by-id (docs/communications-mining.md#get-one-comment) and delete-by-ids
 * (docs/communications-mining.md#delete-comments).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SimulatedCommunicationsMining, UpsertHistoryEntry } from '../src/cm/index.ts';
import { PROJECT, SOURCE, callApi, startTestCm, sync, validComment } from './cm-helpers.ts';

let cm: SimulatedCommunicationsMining;
beforeAll(async () => {
  cm = await startTestCm();
});
afterAll(() => cm.close());
beforeEach(() => cm.control.reset());

const commentsPath = `/sources/${PROJECT}/${SOURCE}/comments`;

describe('simulated CM /sync', () => {
  it('stores valid comments exactly as sent and answers the counters', async () => {
    const email = validComment('sf.EmailMessage.02s5g00000AbCdEAAV', {
      thread_id: 'sf.Case.5005g00000XyZ12AAB',
      messages: [
        {
          from: 'jane.doe@customer.example',
          to: ['support@acme.example'],
          sent_at: '2024-03-05T14:22:10.000000+00:00',
          subject: { text: 'Invoice 4471 charged twice' },
          body: { text: 'Hello,\n\nWe were charged twice.' },
        },
      ],
      attachments: [{ name: 'invoice-4471.pdf', size: 48213, content_type: 'application/pdf' }],
      user_properties: { 'string:Case Number': '00012345', 'number:Attachment Count': 1 },
    });

    const response = await sync(cm, [email, validComment('sf.Case.5005g00000XyZ12AAB')]);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      status: 'ok',
      new: 2,
      updated: 0,
      unchanged: 0,
      updated_properties_only: 0,
      updated_text_changed: 0,
    });
    expect(cm.control.comment(PROJECT, SOURCE, email.id as string)?.comment).toEqual(email);
    expect(cm.control.comments(PROJECT, SOURCE).map((stored) => stored.comment.id)).toEqual([
      'sf.EmailMessage.02s5g00000AbCdEAAV',
      'sf.Case.5005g00000XyZ12AAB',
    ]);
  });

  it('classifies re-syncs as unchanged, properties-only or text-changed, and bills only new and text-changed', async () => {
    const a = validComment('a');
    const b = validComment('b');
    await sync(cm, [a, b, validComment('c'), validComment('d')]);

    // Same content with keys in another order is still identical.
    const aReordered = Object.fromEntries(Object.entries(a).reverse());
    const bNewProperty = { ...b, user_properties: { 'string:SF Object': 'EmailMessage', 'string:Status': 'Closed' } };
    const cNewTimestamp = validComment('c', { timestamp: '2025-01-01T00:00:00Z' });
    const dNewText = validComment('d', { messages: [{ from: 'jane@customer.example', body: { text: 'Edited' } }] });
    const response = await sync(cm, [aReordered, bNewProperty, cNewTimestamp, dNewText, validComment('e')]);

    expect(response.body).toEqual({
      status: 'ok',
      new: 1,
      updated: 3,
      unchanged: 1,
      updated_properties_only: 2,
      updated_text_changed: 1,
    });
    // Changing only sent_at changes `messages`: counted as text-changed (entities discarded, docs/communications-mining.md#upsert-semantics-annotations-and-billing).
    const sentAtOnly = await sync(cm, [
      validComment('e', {
        messages: [{ from: 'jane@customer.example', sent_at: '2024-01-01T00:00:00Z', body: { text: 'Body of e' } }],
      }),
    ]);
    expect(sentAtOnly.body.updated_text_changed).toBe(1);
    expect(cm.control.counters().comments).toEqual({
      new: 5,
      updated: 4,
      unchanged: 1,
      updated_properties_only: 2,
      updated_text_changed: 2,
      deleted: 0,
      deleted_missing: 0,
      billable: 7,
    });
  });

  it('overwrites the whole comment: fields left out of an update are gone', async () => {
    await sync(cm, [
      validComment('x', {
        thread_id: 't1',
        attachments: [{ name: 'a.pdf', size: 1, content_type: 'application/pdf' }],
        user_properties: { 'string:A': 'a', 'string:B': 'b' },
      }),
    ]);

    await sync(cm, [validComment('x', { user_properties: { 'string:A': 'a' } })]);

    const { body } = await callApi(cm, 'GET', `${commentsPath}/x`);
    const comment = body.comment as Record<string, unknown>;
    expect(comment.user_properties).toEqual({ 'string:A': 'a' });
    expect(comment).not.toHaveProperty('attachments');
    expect(comment).not.toHaveProperty('thread_id');
  });

  it('answers 404 for an unknown source and stores nothing', async () => {
    const response = await sync(cm, [validComment('x')], 'no-such-source');

    expect(response.status).toBe(404);
    expect(response.body).toEqual({ status: 'error', message: "Source 'acme/no-such-source' not found" });
    expect(cm.control.sources().map((source) => source.name)).toEqual([SOURCE]);
  });

  it('accepts an empty batch and changes nothing', async () => {
    const response = await sync(cm, []);

    expect(response.body).toMatchObject({ status: 'ok', new: 0, updated: 0, unchanged: 0 });
    expect(cm.control.history()).toEqual([]);
  });

  it('keeps every accepted version of a comment, and its deletes, in sequence order (push history)', async () => {
    const v1 = validComment('x', { user_properties: { 'string:Status': 'New' } });
    const v2 = validComment('x', { user_properties: { 'string:Status': 'Working' } });
    const v3 = validComment('x', { messages: [{ body: { text: 'Re-created' } }] });
    await sync(cm, [v1, validComment('other')]);
    await sync(cm, [v2]);
    await sync(cm, [v2]);
    await callApi(cm, 'DELETE', `${commentsPath}?id=x`);
    await sync(cm, [v3]);

    const history = cm.control.history({ commentId: 'x' });

    expect(history.map((entry) => [entry.kind, entry.kind === 'upsert' ? entry.outcome : entry.existed])).toEqual([
      ['upsert', 'new'],
      ['upsert', 'updated_properties_only'],
      ['upsert', 'unchanged'],
      ['delete', true],
      ['upsert', 'new'],
    ]);
    expect(history.filter((e): e is UpsertHistoryEntry => e.kind === 'upsert').map((e) => e.comment)).toEqual([
      v1,
      v2,
      v2,
      v3,
    ]);
    const seqs = history.map((entry) => entry.seq);
    expect(seqs).toEqual([...seqs].sort((p, q) => p - q));
    expect(new Set(seqs).size).toBe(seqs.length);
    for (const entry of history) expect(Number.isNaN(Date.parse(entry.at))).toBe(false);
    expect(cm.control.history({ project: PROJECT, source: SOURCE })).toHaveLength(6);
  });

  it('returns frozen comments, so a test cannot change what the sandbox holds', async () => {
    await sync(cm, [validComment('x')]);
    const stored = cm.control.comment(PROJECT, SOURCE, 'x');

    expect(() => {
      (stored?.comment as { timestamp: string }).timestamp = 'changed';
    }).toThrow(TypeError);
    expect(cm.control.comment(PROJECT, SOURCE, 'x')?.comment.timestamp).toBe('2024-03-05T14:22:10.000000+00:00');
  });
});

describe('simulated CM auto-created sources', () => {
  let auto: SimulatedCommunicationsMining;
  beforeAll(async () => {
    auto = await startTestCm({ sources: [], autoCreateSources: true });
  });
  afterAll(() => auto.close());

  it('creates an unknown source on its first sync when autoCreateSources is on', async () => {
    const response = await sync(auto, [validComment('x')], 'fresh');

    expect(response.status).toBe(200);
    expect(auto.control.sources().map((source) => `${source.owner}/${source.name}`)).toEqual(['acme/fresh']);
    expect(auto.control.comments(PROJECT, 'fresh')).toHaveLength(1);
  });
});

describe('simulated CM get comment', () => {
  it('returns the stored comment plus response-only fields; ids are URL-encoded in the path', async () => {
    const id = `sf.Case#1?x=%41&y+z'[]`;
    const comment = validComment(id);
    await sync(cm, [comment]);
    const source = cm.control.sources()[0];

    const response = await callApi(cm, 'GET', `${commentsPath}/${encodeURIComponent(id)}`);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      status: 'ok',
      comment: {
        ...comment,
        uid: `${source?.id}.${id}`,
        source_id: source?.id,
        created_at: expect.any(String),
        last_modified: expect.any(String),
        has_annotations: false,
      },
    });
  });

  it('finds a 1024-character id that is 3072 characters once percent-encoded', async () => {
    const id = '%'.repeat(1024);
    await sync(cm, [validComment(id)]);

    const response = await callApi(cm, 'GET', `${commentsPath}/${encodeURIComponent(id)}`);

    expect(response.status).toBe(200);
    expect((response.body.comment as { id: string }).id).toBe(id);
  });

  it('answers 404 with the envelope for a missing comment', async () => {
    const response = await callApi(cm, 'GET', `${commentsPath}/missing`);

    expect(response.status).toBe(404);
    expect(response.body).toEqual({
      status: 'error',
      message: `Comment "missing" not found in source 'acme/salesforce'`,
    });
  });
});

describe('simulated CM delete comments', () => {
  const ids = (n: number, prefix = 'c') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const query = (list: string[]) => list.map((id) => `id=${encodeURIComponent(id)}`).join('&');

  it('deletes up to 32 ids in one call and records delete markers', async () => {
    await sync(
      cm,
      ids(33).map((id) => validComment(id)),
    );

    const response = await callApi(cm, 'DELETE', `${commentsPath}?${query(ids(32))}`);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
    expect(cm.control.comments(PROJECT, SOURCE).map((stored) => stored.comment.id)).toEqual(['c32']);
    expect(cm.control.history({ commentId: 'c0' }).at(-1)).toMatchObject({ kind: 'delete', existed: true });
    expect(cm.control.counters().comments.deleted).toBe(32);
  });

  it('rejects 33 ids with 400 and deletes none of them', async () => {
    await sync(
      cm,
      ids(33).map((id) => validComment(id)),
    );

    const response = await callApi(cm, 'DELETE', `${commentsPath}?${query(ids(33))}`);

    expect(response.status).toBe(400);
    expect(response.body).toEqual({ status: 'error', message: 'At most 32 ids per delete call, got 33' });
    expect(cm.control.comments(PROJECT, SOURCE)).toHaveLength(33);
  });

  it('ignores ids that do not exist, so deleting twice succeeds (real behaviour UNVERIFIED)', async () => {
    await sync(cm, [validComment('x')]);

    const first = await callApi(cm, 'DELETE', `${commentsPath}?id=x&id=never-existed`);
    const second = await callApi(cm, 'DELETE', `${commentsPath}?id=x`);

    expect([first.status, second.status]).toEqual([200, 200]);
    expect(cm.control.comments(PROJECT, SOURCE)).toEqual([]);
    expect(cm.control.history({ commentId: 'x' }).map((e) => (e.kind === 'delete' ? e.existed : e.outcome))).toEqual([
      'new',
      true,
      false,
    ]);
    expect(cm.control.counters().comments).toMatchObject({ deleted: 1, deleted_missing: 2 });
  });

  it.each([
    { name: 'no ids', path: '', message: 'Name the comments to delete' },
    { name: 'the comma-separated ids= form', path: '?ids=a,b', message: 'only repeated "id" query parameters' },
    { name: 'an id with whitespace', path: '?id=a%20b', message: 'Invalid comment id "a b"' },
  ])('answers a delete with $name with 400', async ({ path, message }) => {
    const response = await callApi(cm, 'DELETE', `${commentsPath}${path}`);

    expect(response.status).toBe(400);
    expect(response.body).toEqual({ status: 'error', message: expect.stringContaining(message) });
  });
});
