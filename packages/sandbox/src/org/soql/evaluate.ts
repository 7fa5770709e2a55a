/**
 * Runs a resolved query against a RecordSource: filter, sort, OFFSET/LIMIT, then shape each row as
 * the REST API returns it (docs/salesforce.md#query-and-queryall).
 */
import type { FieldMeta, FieldValue, ObjectMeta, RecordSource, SRecord } from '../contracts.ts';
import type { QueryPlan, ResolvedCondition, ResolvedField, ResolvedOrderItem } from './resolve.ts';
import { compareComparables, normalize, renderValue, type Comparable } from './values.ts';

export type QueryRecord = { attributes: { type: string; url: string }; [field: string]: unknown };

export interface SoqlResult {
  /** Canonical API name of the FROM object. */
  objectName: string;
  /** Rows matched after OFFSET/LIMIT; for `SELECT COUNT()` the count. */
  totalSize: number;
  /** `[]` for `SELECT COUNT()`. */
  records: QueryRecord[];
}

export interface EvaluateOptions {
  includeDeleted: boolean;
  apiVersion: string;
}

/** The selected fields as a tree: relationship paths sharing a prefix become one nested object. */
type SelectNode =
  | { kind: 'field'; key: string; field: FieldMeta }
  | { kind: 'relationship'; key: string; referenceField: string; targetObjects: string[]; children: SelectNode[] };

export function evaluatePlan(plan: QueryPlan, source: RecordSource, opts: EvaluateOptions): SoqlResult {
  const lookup = new RelatedRecords(source, opts.includeDeleted);
  const where = plan.where;
  let rows = candidateRows(plan, source, opts.includeDeleted);
  if (where !== undefined) rows = rows.filter((row) => matches(where, row, lookup));
  if (plan.orderBy.length > 0) rows = sortRows(rows, plan.orderBy, lookup);
  const start = plan.offset ?? 0;
  rows = rows.slice(start, plan.limit === undefined ? undefined : start + plan.limit);

  if (plan.select.kind === 'count') return { objectName: plan.object.name, totalSize: rows.length, records: [] };
  const tree = buildSelectTree(plan.select.fields);
  const renderer = new RecordRenderer(lookup, apiPath(opts.apiVersion));
  return {
    objectName: plan.object.name,
    totalSize: rows.length,
    records: rows.map((row) => renderer.render(row, plan.object.name, tree)),
  };
}

/**
 * The rows worth testing against WHERE. A top-level `Id IN (…)` / `Id = …` (what the bridge's bulk
 * fetch sends) reads those records by Id instead of scanning the object — an index, as Salesforce
 * has one on Id. The full WHERE still runs on them, so the answer is the same; only the order of
 * rows without ORDER BY follows the Id list (Salesforce guarantees no order either).
 */
function candidateRows(plan: QueryPlan, source: RecordSource, includeDeleted: boolean): SRecord[] {
  const ids = idsConstrainedBy(plan.where);
  if (ids === undefined) return [...source.records(plan.object.name, { includeDeleted })];
  const seen = new Set<string>();
  const rows: SRecord[] = [];
  for (const id of ids) {
    const row = source.get(id, { includeDeleted });
    const key = typeof row?.Id === 'string' ? row.Id : undefined;
    if (!row || key === undefined || seen.has(key) || source.describe(plan.object.name)?.keyPrefix !== key.slice(0, 3))
      continue;
    seen.add(key);
    rows.push(row);
  }
  return rows;
}

/** The Ids a condition restricts the root object's `Id` to, when it does so at its top level. */
function idsConstrainedBy(condition: ResolvedCondition | undefined): string[] | undefined {
  if (condition === undefined) return undefined;
  const isRootId = (field: ResolvedField) => field.steps.length === 0 && field.field.name === 'Id';
  switch (condition.kind) {
    case 'in':
      return !condition.negated && isRootId(condition.field)
        ? condition.values.filter((v): v is string => typeof v === 'string')
        : undefined;
    case 'compare':
      return condition.operator === '=' && isRootId(condition.field) && typeof condition.value === 'string'
        ? [condition.value]
        : undefined;
    case 'and':
      for (const operand of condition.operands) {
        const ids = idsConstrainedBy(operand);
        if (ids !== undefined) return ids;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Records reached through relationship paths, fetched once per query. */
class RelatedRecords {
  private readonly cache = new Map<string, SRecord | undefined>();
  private readonly objectsByKeyPrefix: Map<string, ObjectMeta>;

  constructor(
    private readonly source: RecordSource,
    private readonly includeDeleted: boolean,
  ) {
    this.objectsByKeyPrefix = new Map(source.objects().map((meta) => [meta.keyPrefix, meta]));
  }

  get(id: FieldValue | undefined): SRecord | undefined {
    if (typeof id !== 'string' || id === '') return undefined;
    if (!this.cache.has(id)) this.cache.set(id, this.source.get(id, { includeDeleted: this.includeDeleted }));
    return this.cache.get(id);
  }

  /** The object an Id belongs to, from its key prefix: how polymorphic references resolve. */
  objectNameOf(id: string): string | undefined {
    return this.objectsByKeyPrefix.get(id.slice(0, 3))?.name;
  }

  /** The value at the end of a path, or null when any reference on the way is empty or dangling. */
  valueAt(row: SRecord, field: ResolvedField): FieldValue {
    let current: SRecord | undefined = row;
    for (const step of field.steps) {
      current = this.get(current[step.referenceField]);
      if (current === undefined) return null;
    }
    return current[field.field.name] ?? null;
  }
}

function matches(condition: ResolvedCondition, row: SRecord, lookup: RelatedRecords): boolean {
  switch (condition.kind) {
    case 'and':
      return condition.operands.every((operand) => matches(operand, row, lookup));
    case 'or':
      return condition.operands.some((operand) => matches(operand, row, lookup));
    case 'not':
      return !matches(condition.operand, row, lookup);
    case 'compare': {
      const value = normalize(condition.field.kind, lookup.valueAt(row, condition.field));
      return compare(value, condition.operator, condition.value);
    }
    case 'in': {
      const value = normalize(condition.field.kind, lookup.valueAt(row, condition.field));
      const found = condition.valueSet.has(value);
      return condition.negated ? !found : found;
    }
    case 'like': {
      const value = lookup.valueAt(row, condition.field);
      return value !== null && value !== '' && condition.pattern.test(String(value));
    }
  }
}

/**
 * SOQL treats null as a value for `=` and `!=` (`Status != 'New'` includes rows with no Status),
 * while ordering operators never match null.
 */
function compare(value: Comparable, operator: string, literal: Comparable): boolean {
  if (operator === '=') return value === literal;
  if (operator === '!=') return value !== literal;
  if (value === null || literal === null) return false;
  const order = compareComparables(value, literal);
  switch (operator) {
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    default:
      return order >= 0;
  }
}

function sortRows(rows: SRecord[], orderBy: ResolvedOrderItem[], lookup: RelatedRecords): SRecord[] {
  const keyed = rows.map((row) => ({
    row,
    keys: orderBy.map((item) => normalize(item.field.kind, lookup.valueAt(row, item.field))),
  }));
  // Array.prototype.sort is stable: rows equal on every key keep insertion order.
  keyed.sort((a, b) => {
    for (const [index, item] of orderBy.entries()) {
      const order = compareSortKeys(a.keys[index] ?? null, b.keys[index] ?? null, item);
      if (order !== 0) return order;
    }
    return 0;
  });
  return keyed.map((entry) => entry.row);
}

function compareSortKeys(a: Comparable, b: Comparable, item: ResolvedOrderItem): number {
  if (a === null || b === null) {
    if (a === b) return 0;
    return (a === null) === item.nullsFirst ? -1 : 1;
  }
  const order = compareComparables(a, b);
  return item.descending ? -order : order;
}

function buildSelectTree(fields: ResolvedField[]): SelectNode[] {
  const root: SelectNode[] = [];
  for (const resolved of fields) {
    let level = root;
    for (const step of resolved.steps) {
      let node = level.find(
        (candidate): candidate is Extract<SelectNode, { kind: 'relationship' }> =>
          candidate.kind === 'relationship' && candidate.key === step.relationshipName,
      );
      if (node === undefined) {
        node = {
          kind: 'relationship',
          key: step.relationshipName,
          referenceField: step.referenceField,
          targetObjects: step.targetObjects,
          children: [],
        };
        level.push(node);
      }
      level = node.children;
    }
    level.push({ kind: 'field', key: resolved.field.name, field: resolved.field });
  }
  return root;
}

function apiPath(apiVersion: string): string {
  return `/services/data/v${apiVersion.replace(/^v/, '')}`;
}

class RecordRenderer {
  constructor(
    private readonly lookup: RelatedRecords,
    private readonly basePath: string,
  ) {}

  render(record: SRecord, objectName: string, nodes: SelectNode[]): QueryRecord {
    const id = String(record.Id ?? '');
    const out: QueryRecord = { attributes: { type: objectName, url: `${this.basePath}/sobjects/${objectName}/${id}` } };
    for (const node of nodes) {
      out[node.key] =
        node.kind === 'field'
          ? renderValue(record[node.field.name], node.field.type)
          : this.renderRelated(record[node.referenceField], node);
    }
    return out;
  }

  private renderRelated(
    id: FieldValue | undefined,
    node: Extract<SelectNode, { kind: 'relationship' }>,
  ): QueryRecord | null {
    const target = this.lookup.get(id);
    if (target === undefined || typeof id !== 'string') return null;
    const objectName = this.lookup.objectNameOf(id) ?? node.targetObjects[0] ?? '';
    return this.render(target, objectName, node.children);
  }
}
