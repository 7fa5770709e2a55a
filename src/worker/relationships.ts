/**
 * Relationship-aware refresh: a mapping may read a parent's fields (`Parent.CaseNumber`,
 * `Parent.Priority`), so a parent's change changes its children's comments without touching the
 * children. When a configured object's records change, the children that read them are found with
 * one query per child object (`WHERE ParentId IN (…)`) and refreshed like any other change.
 * Only the first hop is followed here; deeper paths and unconfigured parents are caught by the
 * child's reconciliation, which also watches `Parent.SystemModstamp`.
 */
import type { IntegrationConfig, ObjectConfig } from '../config/index.ts';
import { fieldsOfMapping } from '../config/fields.ts';
import type { ChangeJob } from '../model/change.ts';
import type { DescribeCache } from '../salesforce/describe-cache.ts';
import { findRelationship } from '../salesforce/describe.ts';
import { soqlString, type SalesforceRestClient } from '../salesforce/rest-client.ts';

const IDS_PER_QUERY = 200;

/** Reference fields of `child` through which its mapping reads fields of `parent` (e.g. `ParentId`). */
export async function referencesTo(child: ObjectConfig, parent: string, describes: DescribeCache): Promise<string[]> {
  const relationships = new Set(
    fieldsOfMapping(child.comment)
      .filter((path) => path.includes('.'))
      .map((path) => path.split('.')[0] ?? ''),
  );
  if (relationships.size === 0) return [];
  const lookup = await describes.ensure(
    child.name,
    [...relationships].map((r) => `${r}.Id`),
  );
  const describe = lookup(child.name);
  if (!describe) return [];
  const fields = new Set<string>();
  for (const relationship of relationships) {
    const reference = findRelationship(describe, relationship);
    if (reference && (reference.referenceTo ?? []).some((target) => target.toLowerCase() === parent.toLowerCase()))
      fields.add(reference.name);
  }
  return [...fields];
}

/** REFRESH changes for every in-scope child (of any configured object) of the given parent records. */
export async function childRefreshes(
  integration: IntegrationConfig,
  parent: string,
  parentIds: readonly string[],
  rest: SalesforceRestClient,
  describes: DescribeCache,
  now: number,
): Promise<ChangeJob[]> {
  if (parentIds.length === 0) return [];
  const changes: ChangeJob[] = [];
  for (const child of integration.objects) {
    const fields = await referencesTo(child, parent, describes);
    if (fields.length === 0) continue;
    for (let start = 0; start < parentIds.length; start += IDS_PER_QUERY) {
      const list = parentIds
        .slice(start, start + IDS_PER_QUERY)
        .map(soqlString)
        .join(', ');
      const condition = fields.map((field) => `${field} IN (${list})`).join(' OR ');
      const { records } = await rest.query(
        `SELECT Id FROM ${child.name} WHERE (${condition})${child.where ? ` AND (${child.where})` : ''}`,
      );
      for (const record of records) {
        changes.push({
          integration: integration.key,
          object: child.name,
          recordId: String(record.Id),
          kind: 'REFRESH',
          origin: 'relationship',
          enqueuedAt: now,
        });
      }
    }
  }
  return changes;
}
