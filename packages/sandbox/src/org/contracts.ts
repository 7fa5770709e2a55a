/**
 * Contracts between the parts of the simulated Salesforce org.
 *
 * The org is split into modules that are written and tested separately:
 * - `metadata.ts` / `ids.ts` / `store.ts`   — objects, describe metadata, record storage, mutations
 * - `soql/`                                  — the SOQL subset parser and evaluator
 * - `change-events.ts` / `cometd.ts`         — CDC event log (replay ids, retention) and the Bayeux server
 * - `oauth.ts` / `rest.ts` / `control.ts`    — HTTP surfaces; `server.ts` assembles them
 *
 * Values inside the store are plain JSON values. Datetimes are ISO-8601 UTC strings with milliseconds
 * and `Z` (`2024-05-20T20:49:32.000Z`), dates are `YYYY-MM-DD`. The REST layer renders datetimes the
 * way Salesforce does (`2024-05-20T20:49:32.000+0000`, docs/salesforce.md#query-and-queryall); CDC
 * events carry the `Z` form (docs/salesforce.md#change-event-message).
 */

/** Field types as describe reports them (docs/salesforce.md#describe). */
export type FieldType =
  | 'id'
  | 'string'
  | 'textarea'
  | 'email'
  | 'phone'
  | 'url'
  | 'picklist'
  | 'multipicklist'
  | 'reference'
  | 'boolean'
  | 'int'
  | 'double'
  | 'currency'
  | 'percent'
  | 'date'
  | 'datetime';

export interface PicklistValue {
  value: string;
  label: string;
  active: boolean;
  defaultValue: boolean;
}

export interface FieldMeta {
  name: string;
  label: string;
  type: FieldType;
  length?: number;
  nillable: boolean;
  custom: boolean;
  createable: boolean;
  updateable: boolean;
  calculated: boolean;
  picklistValues?: PicklistValue[];
  /** For `reference` fields: the object(s) it points to. */
  referenceTo?: string[];
  /** For `reference` fields: the name used in relationship paths (`ParentId` → `Parent`). */
  relationshipName?: string | null;
}

export interface ObjectMeta {
  name: string;
  label: string;
  labelPlural: string;
  /** 3-character Id prefix (`500` for Case, `02s` for EmailMessage). */
  keyPrefix: string;
  custom: boolean;
  /** Whether Change Data Capture exists for this object (CaseComment: false, docs/salesforce.md#cdc-supported-objects). */
  cdc: boolean;
  fields: FieldMeta[];
}

export type FieldValue = string | number | boolean | null;
/** One stored record: field name → value. Always has `Id`, `IsDeleted`, `CreatedDate`, `SystemModstamp`… */
export type SRecord = Record<string, FieldValue>;

/** Read access the SOQL evaluator and REST layer need. */
export interface RecordSource {
  /** Metadata of an object by API name (case-insensitive lookup), or undefined when unknown. */
  describe(objectName: string): ObjectMeta | undefined;
  /** All object metadata. */
  objects(): ObjectMeta[];
  /**
   * Records of one object. Soft-deleted (recycle bin) rows only with `includeDeleted`. These are the
   * stored rows, not copies: read them while iterating, copy what you keep.
   */
  records(objectName: string, opts?: { includeDeleted?: boolean }): Iterable<Readonly<SRecord>>;
  /**
   * One record by Id (15- or 18-character form), any object (found through the key prefix).
   * Soft-deleted only with `includeDeleted`.
   */
  get(id: string, opts?: { includeDeleted?: boolean }): SRecord | undefined;
}

export type ChangeType =
  | 'CREATE'
  | 'UPDATE'
  | 'DELETE'
  | 'UNDELETE'
  | 'GAP_CREATE'
  | 'GAP_UPDATE'
  | 'GAP_DELETE'
  | 'GAP_UNDELETE'
  | 'GAP_OVERFLOW';

/** The ChangeEventHeader (docs/salesforce.md#changeeventheader), as sent over CometD. */
export interface ChangeEventHeader {
  entityName: string;
  recordIds: string[];
  changeType: ChangeType;
  changeOrigin: string;
  transactionKey: string;
  sequenceNumber: number;
  commitTimestamp: number;
  commitNumber: number;
  commitUser: string;
  changedFields: string[];
}

/** A committed change, before it gets a replay id: header plus body fields (docs/salesforce.md#event-body-by-change-type). */
export interface ChangeEventPayload {
  ChangeEventHeader: ChangeEventHeader;
  [field: string]: unknown;
}

/** Result of checking the Authorization header of a request (REST and CometD alike). */
export type AuthCheck =
  { ok: true; userId: string; orgId: string; token: string } | { ok: false; reason: 'missing' | 'invalid' };

/** Issues and validates access tokens. Implemented by `oauth.ts`, used by REST and CometD. */
export interface TokenAuthority {
  /** Validate a raw `Authorization` header value (`Bearer x` or `OAuth x`); undefined when absent. */
  check(authorizationHeader: string | undefined): AuthCheck;
}

/** Options of one mutation of the simulated org. */
export interface MutationOptions {
  /** Apply the change without any change event (a direct database change; reconciliation tests). */
  silent?: boolean;
  /** User Id recorded as LastModifiedById / commitUser. */
  userId?: string;
}

/**
 * Record storage with Salesforce's mutation semantics (implemented by `store.ts`). Every committed
 * mutation that is not `silent` produces change events (docs/salesforce.md#event-body-by-change-type)
 * that the event log (`change-events.ts`) turns into CDC messages with replay ids.
 */
export interface OrgStore extends RecordSource {
  create(objectName: string, fields: Record<string, FieldValue>, opts?: MutationOptions): SRecord;
  update(id: string, fields: Record<string, FieldValue>, opts?: MutationOptions): SRecord;
  /** Soft delete: the row goes to the recycle bin (IsDeleted = true, visible to queryAll). */
  delete(id: string, opts?: MutationOptions): void;
  undelete(id: string, opts?: MutationOptions): SRecord;
  /** Hard delete (empty the recycle bin): no event, invisible to queryAll (docs/salesforce.md#event-body-by-change-type). */
  purge(id: string): void;
  /**
   * Several mutations in one transaction: one transactionKey, sequenceNumbers 1..n, and same-type
   * changes of one object merged into one event with several recordIds
   * (docs/salesforce.md#changeeventheader).
   */
  transaction<T>(fn: (tx: OrgStore) => T, opts?: MutationOptions): T;
}
