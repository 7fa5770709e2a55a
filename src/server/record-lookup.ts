/**
 * "Where is record X?" and "what comment would record X become?", shared by the admin API and the
 * status page so the two never disagree.
 */
import type { IntegrationConfig } from '../config/index.ts';
import { toComment } from '../pipeline/index.ts';
import { soqlString } from '../salesforce/rest-client.ts';
import type { Comment } from '../model/comment.ts';
import type { AppDeps } from './deps.ts';

export interface RecordLocation {
  recordId: string;
  found: boolean;
  objects: Array<{
    object: string;
    lastChange: {
      kind: string;
      origin: string;
      enqueuedAt: string;
      replayId?: number | string;
      channel?: string | undefined;
    } | null;
    processed: { at: string; outcome: string } | null;
    inSource: { state: string; commentId: string; version: string; pushedAt: string } | null;
    deadLetters: Array<{ id: string; reason: string; stage: string; at: string }>;
  }>;
}

export async function locateRecord(
  deps: Pick<AppDeps, 'integrations' | 'deadLetters'>,
  integration: IntegrationConfig,
  recordId: string,
): Promise<RecordLocation> {
  const { deadLetters } = deps;
  const { trail, versions } = salesforceOf(deps, integration);
  const letters = (await deadLetters.list(integration.key, 1000)).filter(
    (letter) => letter.recordId?.slice(0, 15) === recordId.slice(0, 15),
  );
  const objects: RecordLocation['objects'] = [];
  for (const object of integration.objects) {
    const [entry, pushed] = await Promise.all([
      trail.read(object.name, recordId),
      versions.read(object.name, [recordId]).then((m) => m.get(recordId)),
    ]);
    const objectLetters = letters.filter((letter) => letter.object === object.name);
    if (!entry && !pushed && objectLetters.length === 0) continue;
    objects.push({
      object: object.name,
      lastChange: entry
        ? {
            kind: entry.kind,
            origin: entry.origin,
            enqueuedAt: entry.enqueuedAt,
            ...(entry.replayId !== undefined ? { replayId: entry.replayId, channel: entry.channel } : {}),
          }
        : null,
      processed: entry ? { at: entry.at, outcome: entry.outcome } : null,
      inSource: pushed
        ? {
            state: pushed.state,
            commentId: pushed.commentId,
            version: pushed.modstamp > 0 ? new Date(pushed.modstamp).toISOString() : '—',
            pushedAt: new Date(pushed.at).toISOString(),
          }
        : null,
      deadLetters: objectLetters.map(({ id, reason, stage, at }) => ({ id, reason, stage, at })),
    });
  }
  return { recordId, found: objects.length > 0, objects };
}

export type PreviewOutcome =
  | { kind: 'unknown_object'; message: string }
  | { kind: 'not_found'; message: string }
  | {
      kind: 'ok';
      result:
        | { object: string; recordId: string; inScope: boolean; comment: Comment; warnings: string[] }
        | { object: string; recordId: string; inScope: boolean; comment: null; reason: string };
    };

/** The integration's REST client and describe cache, as the process built them. */
function salesforceOf(deps: Pick<AppDeps, 'integrations'>, integration: IntegrationConfig) {
  const parts = deps.integrations.get(integration.key);
  if (!parts) throw new Error(`no parts for integration ${integration.key}`);
  return parts;
}

export async function previewRecord(
  deps: Pick<AppDeps, 'integrations'>,
  integration: IntegrationConfig,
  objectName: string,
  recordId: string,
): Promise<PreviewOutcome> {
  const object = integration.objects.find((o) => o.name.toLowerCase() === objectName.toLowerCase());
  if (!object)
    return { kind: 'unknown_object', message: `object ${objectName} is not configured for ${integration.key}` };
  const { rest, describes } = salesforceOf(deps, integration);
  const idLiteral = soqlString(recordId);
  const [{ records }, scoped] = await Promise.all([
    rest.query(`SELECT ${object.fields.join(', ')} FROM ${object.name} WHERE Id = ${idLiteral}`),
    object.where
      ? rest.query(`SELECT Id FROM ${object.name} WHERE Id = ${idLiteral} AND (${object.where})`)
      : undefined,
  ]);
  const [record] = records;
  if (!record)
    return {
      kind: 'not_found',
      message: `no ${object.name} ${recordId} in Salesforce (or not readable by the integration user)`,
    };
  const rendered = toComment(record, object, await describes.ensure(object.name, object.fields));
  const inScope = scoped ? scoped.records.length > 0 : true;
  return {
    kind: 'ok',
    result: rendered.ok
      ? { object: object.name, recordId, inScope, comment: rendered.comment, warnings: rendered.warnings }
      : { object: object.name, recordId, inScope, comment: null, reason: rendered.reason },
  };
}
