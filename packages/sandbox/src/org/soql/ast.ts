/** Syntax tree of the SOQL subset, before names are checked against metadata. */

/** `Parent.Account.Name` as written: relationship names, then the field name. */
export interface FieldPath {
  segments: string[];
  /** Source text, as written (`parent.CaseNumber`). */
  text: string;
  offset: number;
}

export type Literal =
  | { kind: 'string'; value: string; raw: string; text: string; offset: number }
  | { kind: 'number'; value: number; text: string; offset: number }
  | { kind: 'boolean'; value: boolean; text: string; offset: number }
  | { kind: 'null'; text: string; offset: number }
  /** `epochMs`: the instant the literal names, offset applied. */
  | { kind: 'datetime'; epochMs: number; text: string; offset: number }
  | { kind: 'date'; value: string; text: string; offset: number };

export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Condition =
  | { kind: 'and'; operands: Condition[] }
  | { kind: 'or'; operands: Condition[] }
  | { kind: 'not'; operand: Condition }
  | { kind: 'compare'; field: FieldPath; operator: ComparisonOperator; value: Literal; operatorOffset: number }
  | { kind: 'in'; field: FieldPath; negated: boolean; values: Literal[]; operatorOffset: number }
  | { kind: 'like'; field: FieldPath; pattern: Literal; operatorOffset: number };

export interface OrderItem {
  field: FieldPath;
  descending: boolean;
  nullsFirst: boolean;
}

export type SelectClause = { kind: 'count' } | { kind: 'fields'; fields: FieldPath[] };

export interface Query {
  select: SelectClause;
  from: { name: string; offset: number };
  where?: Condition;
  orderBy: OrderItem[];
  limit?: number;
  offset?: number;
}
