/**
 * Reads a change job's data change by change. A job is written by the bridge's own producers, but a
 * bug, an older release or a hand-made job can put anything there: each change that is not a valid
 * change is reported with its reason (to be dead-lettered at once, docs/errors.md), and the valid
 * ones of the same job still go through.
 */
import { ChangeJobSchema, type ChangeJob } from '../model/change.ts';
import { isSalesforceId } from '../model/record-id.ts';

export interface UnreadableChange {
  /** The object the change names, or `(unknown)`. */
  object: string;
  /** The record id it names, only when it is a valid Salesforce id. */
  recordId?: string;
  reason: string;
  payload: unknown;
}

export function readChangeBatch(data: unknown): { changes: ChangeJob[]; unreadable: UnreadableChange[] } {
  const items = typeof data === 'object' && data !== null && 'changes' in data ? data.changes : undefined;
  if (!Array.isArray(items) || items.length === 0) {
    return {
      changes: [],
      unreadable: [{ object: '(unknown)', reason: 'malformed change batch: no list of changes', payload: data }],
    };
  }
  const changes: ChangeJob[] = [];
  const unreadable: UnreadableChange[] = [];
  for (const item of items) {
    const parsed = ChangeJobSchema.safeParse(item);
    if (parsed.success) {
      changes.push(parsed.data);
      continue;
    }
    const fields = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {};
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(change)'}: ${issue.message}`)
      .join('; ');
    unreadable.push({
      object: typeof fields.object === 'string' && fields.object !== '' ? fields.object : '(unknown)',
      ...(isSalesforceId(fields.recordId) ? { recordId: fields.recordId } : {}),
      reason: `malformed change: ${problems}`,
      payload: item,
    });
  }
  return { changes, unreadable };
}
