/**
 * Binds a parsed query to the org's metadata: object and field names are looked up
 * case-insensitively and replaced by their canonical API names, relationship paths are followed
 * through `reference` fields, and each filter literal is checked against its field's type and
 * normalised for comparison. Every INVALID_* error is raised here, before any record is read, so a
 * bad query never returns rows.
 */
import type { FieldMeta, ObjectMeta, RecordSource } from '../contracts.ts';
import type { ComparisonOperator, Condition, FieldPath, Literal, Query } from './ast.ts';
import { messages, soqlErrorAt, type SoqlError } from './errors.ts';
import { comparisonKindOf, likePatternToRegExp, normalize, type Comparable, type ComparisonKind } from './values.ts';

/** One hop of a relationship path. */
export interface RelationshipStep {
  /** Canonical relationship name, the key of the nested object in results (`Parent`). */
  relationshipName: string;
  /** Canonical name of the reference field that holds the target's Id (`ParentId`). */
  referenceField: string;
  /** Objects the reference may point to (several when polymorphic). */
  targetObjects: string[];
}

export interface ResolvedField {
  steps: RelationshipStep[];
  field: FieldMeta;
  kind: ComparisonKind;
  /** Canonical dotted path (`Parent.CaseNumber`). */
  path: string;
}

export type ResolvedCondition =
  | { kind: 'and' | 'or'; operands: ResolvedCondition[] }
  | { kind: 'not'; operand: ResolvedCondition }
  | { kind: 'compare'; field: ResolvedField; operator: ComparisonOperator; value: Comparable }
  | {
      kind: 'in';
      field: ResolvedField;
      negated: boolean;
      values: Comparable[];
      /** The values again, for membership: a bulk fetch tests 200 rows against 200 ids. */
      valueSet: ReadonlySet<Comparable>;
    }
  | { kind: 'like'; field: ResolvedField; pattern: RegExp };

export interface ResolvedOrderItem {
  field: ResolvedField;
  descending: boolean;
  nullsFirst: boolean;
}

export interface QueryPlan {
  object: ObjectMeta;
  select: { kind: 'count' } | { kind: 'fields'; fields: ResolvedField[] };
  where?: ResolvedCondition;
  orderBy: ResolvedOrderItem[];
  limit?: number;
  offset?: number;
}

/** Type names Salesforce uses in "must be of type …" messages. */
const FILTER_TYPE_NAMES: Record<ComparisonKind, string> = {
  id: 'id',
  text: 'string',
  multipicklist: 'string',
  boolean: 'boolean',
  number: 'double',
  date: 'date',
  datetime: 'dateTime',
};

/** The literal kind each comparison kind accepts. */
const LITERAL_KIND_FOR: Record<ComparisonKind, Literal['kind']> = {
  id: 'string',
  text: 'string',
  multipicklist: 'string',
  boolean: 'boolean',
  number: 'number',
  date: 'date',
  datetime: 'datetime',
};

const ORDERING_OPERATORS = new Set<string>(['<', '<=', '>', '>=']);
const SALESFORCE_ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;
/** Long text areas (over 255 characters) cannot be filtered or sorted in Salesforce. */
const MAX_FILTERABLE_TEXTAREA_LENGTH = 255;

export function resolveQuery(query: Query, source: RecordSource, soql: string): QueryPlan {
  return new Resolver(source, soql).resolve(query);
}

class Resolver {
  constructor(
    private readonly source: RecordSource,
    private readonly soql: string,
  ) {}

  resolve(query: Query): QueryPlan {
    const object = this.source.describe(query.from.name);
    if (object === undefined) {
      throw soqlErrorAt('INVALID_TYPE', messages.unsupportedObject(query.from.name), this.soql, query.from.offset);
    }
    const plan: QueryPlan = {
      object,
      select:
        query.select.kind === 'count'
          ? { kind: 'count' }
          : { kind: 'fields', fields: this.resolveSelectList(object, query.select.fields) },
      orderBy: query.orderBy.map((item) => ({
        field: this.resolveSortable(object, item.field),
        descending: item.descending,
        nullsFirst: item.nullsFirst,
      })),
    };
    if (query.where !== undefined) plan.where = this.resolveCondition(object, query.where);
    if (query.limit !== undefined) plan.limit = query.limit;
    if (query.offset !== undefined) plan.offset = query.offset;
    return plan;
  }

  private resolveSelectList(object: ObjectMeta, paths: FieldPath[]): ResolvedField[] {
    const seen = new Set<string>();
    return paths.map((path) => {
      const field = this.resolvePath(object, path);
      const key = field.path.toLowerCase();
      if (seen.has(key))
        throw soqlErrorAt('MALFORMED_QUERY', messages.duplicateField(field.path), this.soql, path.offset);
      seen.add(key);
      return field;
    });
  }

  private resolvePath(root: ObjectMeta, path: FieldPath): ResolvedField {
    let candidates = [root];
    const steps: RelationshipStep[] = [];
    for (const segment of path.segments.slice(0, -1)) {
      const reference = findInAny(
        candidates,
        (field) => field.type === 'reference' && equalsIgnoreCase(field.relationshipName ?? '', segment),
      );
      const targets = (reference?.referenceTo ?? [])
        .map((name) => this.source.describe(name))
        .filter((meta): meta is ObjectMeta => meta !== undefined);
      // A reference to objects the sandbox does not model cannot be followed: refuse, never guess.
      if (reference === undefined || targets.length === 0) {
        throw soqlErrorAt('INVALID_FIELD', messages.unknownRelationship(segment), this.soql, path.offset);
      }
      steps.push({
        relationshipName: reference.relationshipName ?? segment,
        referenceField: reference.name,
        targetObjects: targets.map((meta) => meta.name),
      });
      candidates = targets;
    }
    const fieldName = path.segments[path.segments.length - 1] ?? '';
    const field = findInAny(candidates, (meta) => equalsIgnoreCase(meta.name, fieldName));
    if (field === undefined) {
      // Salesforce names the polymorphic `Name` entity when the path goes through several objects.
      const entity = candidates.length === 1 ? (candidates[0]?.name ?? '') : 'Name';
      throw soqlErrorAt('INVALID_FIELD', messages.noSuchColumn(fieldName, entity), this.soql, path.offset);
    }
    return {
      steps,
      field,
      kind: comparisonKindOf(field.type),
      path: [...steps.map((step) => step.relationshipName), field.name].join('.'),
    };
  }

  private resolveFilterable(object: ObjectMeta, path: FieldPath): ResolvedField {
    const resolved = this.resolvePath(object, path);
    if (isLongTextArea(resolved.field)) {
      throw soqlErrorAt('INVALID_FIELD', messages.notFilterable(resolved.field.name), this.soql, path.offset);
    }
    return resolved;
  }

  private resolveSortable(object: ObjectMeta, path: FieldPath): ResolvedField {
    const resolved = this.resolvePath(object, path);
    if (isLongTextArea(resolved.field) || resolved.field.type === 'multipicklist') {
      throw soqlErrorAt('INVALID_FIELD', messages.notSortable(resolved.field.name), this.soql, path.offset);
    }
    return resolved;
  }

  private resolveCondition(object: ObjectMeta, condition: Condition): ResolvedCondition {
    switch (condition.kind) {
      case 'and':
      case 'or':
        return {
          kind: condition.kind,
          operands: condition.operands.map((operand) => this.resolveCondition(object, operand)),
        };
      case 'not':
        return { kind: 'not', operand: this.resolveCondition(object, condition.operand) };
      case 'compare': {
        const field = this.resolveFilterable(object, condition.field);
        const { operator, value } = condition;
        if (ORDERING_OPERATORS.has(operator)) {
          if (field.kind === 'boolean' || field.kind === 'multipicklist') {
            throw this.invalidOperator(operator, field, condition.operatorOffset);
          }
          if (value.kind === 'null') {
            throw soqlErrorAt(
              'INVALID_QUERY_FILTER_OPERATOR',
              messages.nullOperator(operator),
              this.soql,
              condition.operatorOffset,
            );
          }
        }
        return { kind: 'compare', field, operator, value: this.operand(field, value) };
      }
      case 'in': {
        const field = this.resolveFilterable(object, condition.field);
        if (field.kind === 'boolean')
          throw this.invalidOperator(condition.negated ? 'NOT IN' : 'IN', field, condition.operatorOffset);
        const values = condition.values.map((value) => this.operand(field, value));
        return { kind: 'in', field, negated: condition.negated, values, valueSet: new Set(values) };
      }
      case 'like': {
        const field = this.resolveFilterable(object, condition.field);
        if (field.kind !== 'text') throw this.invalidOperator('LIKE', field, condition.operatorOffset);
        const { pattern } = condition;
        if (pattern.kind !== 'string') throw this.wrongLiteralType(field, pattern);
        return { kind: 'like', field, pattern: likePatternToRegExp(pattern.raw) };
      }
    }
  }

  /** A literal checked against the field's type and normalised like the field's values. */
  private operand(field: ResolvedField, literal: Literal): Comparable {
    if (literal.kind === 'null') return null;
    if (literal.kind !== LITERAL_KIND_FOR[field.kind]) throw this.wrongLiteralType(field, literal);
    switch (literal.kind) {
      case 'string':
        if (field.kind === 'id' && literal.value !== '' && !SALESFORCE_ID.test(literal.value)) {
          throw soqlErrorAt(
            'INVALID_QUERY_FILTER_OPERATOR',
            messages.invalidId(literal.value),
            this.soql,
            literal.offset,
          );
        }
        return normalize(field.kind, literal.value);
      case 'number':
      case 'boolean':
      case 'date':
        return literal.value;
      case 'datetime':
        return literal.epochMs;
    }
  }

  private wrongLiteralType(field: ResolvedField, literal: Literal): SoqlError {
    const expectsQuotes = LITERAL_KIND_FOR[field.kind] === 'string';
    const typeName = field.kind === 'number' ? field.field.type : FILTER_TYPE_NAMES[field.kind];
    return soqlErrorAt(
      'INVALID_QUERY_FILTER_OPERATOR',
      messages.filterValueType(field.field.name, typeName, expectsQuotes),
      this.soql,
      literal.offset,
    );
  }

  private invalidOperator(operator: string, field: ResolvedField, offset: number): SoqlError {
    return soqlErrorAt(
      'INVALID_QUERY_FILTER_OPERATOR',
      messages.invalidOperator(operator, field.field.type),
      this.soql,
      offset,
    );
  }
}

function findInAny(objects: ObjectMeta[], predicate: (field: FieldMeta) => boolean): FieldMeta | undefined {
  for (const object of objects) {
    const field = object.fields.find(predicate);
    if (field !== undefined) return field;
  }
  return undefined;
}

function equalsIgnoreCase(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function isLongTextArea(field: FieldMeta): boolean {
  return field.type === 'textarea' && (field.length ?? 0) > MAX_FILTERABLE_TEXTAREA_LENGTH;
}
