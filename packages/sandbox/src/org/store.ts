/**
 * Record storage of the simulated org, with Salesforce's mutation semantics and the change events
 * each committed transaction produces (docs/salesforce.md#changeeventheader, #event-body-by-change-type).
 *
 * Mutations apply at once (reads inside a transaction see them) and are undone if the transaction
 * throws. Events are built at commit time from the state before and after the transaction, so
 * several DML operations on one record become one event of the first change type carrying the
 * committed values (docs/salesforce.md#event-body-by-change-type).
 */
import { randomUUID } from 'node:crypto';
import type {
  ChangeEventHeader,
  ChangeEventPayload,
  FieldMeta,
  FieldValue,
  MutationOptions,
  ObjectMeta,
  OrgStore,
  SRecord,
} from './contracts.ts';
import { createIdGenerator, isValidId, keyPrefixOf, to18 } from './ids.ts';
import { FIELDS_NEVER_IN_CHANGE_EVENTS, defaultObjects, findField } from './metadata.ts';

/** Default `changeOrigin` of events the sandbox produces (format of docs/salesforce.md#changeeventheader). */
export const DEFAULT_CHANGE_ORIGIN = 'com/salesforce/api/rest/62.0;client=sandbox';
const FIRST_CASE_NUMBER = 1001;
const FIRST_COMMIT_NUMBER = 1_082_990_428_293;

/** A store failure the REST and control layers can map to an HTTP status and Salesforce errorCode. */
export class OrgStoreError extends Error {
  constructor(
    message: string,
    /** Salesforce errorCode (`INVALID_FIELD`, `NOT_FOUND`, …), docs/salesforce.md#rest-errors. */
    readonly errorCode: string,
    readonly statusCode: number,
    readonly fields: string[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request itself is wrong: unknown object/field, bad value, read-only field (HTTP 400). */
export class InvalidRecordError extends OrgStoreError {
  constructor(message: string, errorCode: string, fields: string[] = []) {
    super(message, errorCode, 400, fields);
  }
}

/** No record with that Id (or it was hard-deleted) (HTTP 404). */
export class RecordNotFoundError extends OrgStoreError {
  constructor(id: string) {
    super(`Provided external ID field does not exist or is not accessible: ${id}`, 'NOT_FOUND', 404);
  }
}

/** Mutation options the sandbox understands beyond the shared contract. */
export interface StoreMutationOptions extends MutationOptions {
  /** `changeOrigin` of the resulting events. @defaultValue {@link DEFAULT_CHANGE_ORIGIN} */
  changeOrigin?: string;
}

export type CommitListener = (event: ChangeEventPayload) => void;

export interface OrgStoreWithEvents extends OrgStore {
  readonly orgId: string;
  /** The integration user every mutation is attributed to unless `userId` says otherwise. */
  readonly defaultUserId: string;
  /** Called once per committed change event, in commit order (sequenceNumber order). */
  onCommit(listener: CommitListener): () => void;
  create(objectName: string, fields: Record<string, FieldValue>, opts?: StoreMutationOptions): SRecord;
  update(id: string, fields: Record<string, FieldValue>, opts?: StoreMutationOptions): SRecord;
  delete(id: string, opts?: StoreMutationOptions): void;
  undelete(id: string, opts?: StoreMutationOptions): SRecord;
  transaction<T>(fn: (tx: OrgStore) => T, opts?: StoreMutationOptions): T;
}

export interface OrgStoreOptions {
  /** Clock in epoch ms; datetimes are truncated to whole seconds, as Salesforce stores them. @defaultValue Date.now */
  now?: () => number;
  /** @defaultValue a fixed sandbox org Id (`00D…`) */
  orgId?: string;
  /** Id of the default integration User record created with the store. @defaultValue a fresh `005…` Id */
  defaultUserId?: string;
  /** Object metadata. @defaultValue {@link defaultObjects} */
  objects?: ObjectMeta[];
  /** The 2-char pod of every record Id, so the records of several orgs never share an Id. @defaultValue `'5f'` */
  idPod?: string;
}

type DmlType = 'CREATE' | 'UPDATE' | 'DELETE' | 'UNDELETE';

/** The first touch of one record inside a transaction. */
interface Touch {
  object: ObjectMeta;
  id: string;
  firstType: DmlType;
  /** The record as it was before the transaction; undefined for a CREATE. */
  before: SRecord | undefined;
  silent: boolean;
}

interface Transaction {
  touches: Map<string, Touch>;
  /** Pre-transaction copies for rollback; undefined means "did not exist". */
  undo: Map<string, SRecord | undefined>;
  silent: boolean;
  userId: string | undefined;
  changeOrigin: string;
}

const SALESFORCE_DATE = /^\d{4}-\d{2}-\d{2}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function createOrgStore(opts: OrgStoreOptions = {}): OrgStoreWithEvents {
  return new SandboxOrgStore(opts);
}

class SandboxOrgStore implements OrgStoreWithEvents {
  readonly orgId: string;
  readonly defaultUserId: string;
  private readonly now: () => number;
  private readonly metas: ObjectMeta[];
  private readonly byName = new Map<string, ObjectMeta>();
  private readonly byPrefix = new Map<string, ObjectMeta>();
  /** object name → (18-char Id → record). Soft-deleted rows stay here with IsDeleted = true. */
  private readonly tables = new Map<string, Map<string, SRecord>>();
  private readonly listeners = new Set<CommitListener>();
  private readonly newId: (keyPrefix: string) => string;
  private caseNumber = FIRST_CASE_NUMBER;
  private commitNumber = FIRST_COMMIT_NUMBER;
  private tx: Transaction | undefined;

  constructor(opts: OrgStoreOptions) {
    this.now = opts.now ?? Date.now;
    this.newId = createIdGenerator(opts.idPod === undefined ? {} : { pod: opts.idPod });
    this.metas = opts.objects ?? defaultObjects();
    for (const meta of this.metas) {
      this.byName.set(meta.name.toLowerCase(), meta);
      this.byPrefix.set(meta.keyPrefix, meta);
      this.tables.set(meta.name, new Map());
    }
    this.orgId = opts.orgId ?? to18('00D5f000000SbxA');
    this.defaultUserId = opts.defaultUserId ?? this.newId('005');
    this.seedIntegrationUser();
  }

  // ── RecordSource ────────────────────────────────────────────────────────────────────────

  describe(objectName: string): ObjectMeta | undefined {
    return this.byName.get(objectName.toLowerCase());
  }

  objects(): ObjectMeta[] {
    return [...this.metas];
  }

  *records(objectName: string, opts: { includeDeleted?: boolean } = {}): Iterable<Readonly<SRecord>> {
    const meta = this.describe(objectName);
    if (!meta) return;
    // The stored rows themselves: copying a million rows per query was most of a bulk job's cost.
    for (const row of this.table(meta).values()) {
      if (row['IsDeleted'] === true && !opts.includeDeleted) continue;
      yield row;
    }
  }

  get(id: string, opts: { includeDeleted?: boolean } = {}): SRecord | undefined {
    const row = this.find(id);
    if (!row || (row.record['IsDeleted'] === true && !opts.includeDeleted)) return undefined;
    return { ...row.record };
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ── Mutations ───────────────────────────────────────────────────────────────────────────

  create(objectName: string, fields: Record<string, FieldValue>, opts: StoreMutationOptions = {}): SRecord {
    const meta = this.describe(objectName);
    if (!meta) {
      throw new InvalidRecordError(`sObject type '${objectName}' is not supported.`, 'INVALID_TYPE');
    }
    return this.inTransaction(opts, (tx) => {
      const values = this.validate(meta, fields, 'create');
      const userId = opts.userId ?? tx.userId ?? this.defaultUserId;
      const stamp = this.timestamp();
      const id = this.newId(meta.keyPrefix);
      const record: SRecord = {};
      for (const f of meta.fields) record[f.name] = this.defaultValueOf(f);
      Object.assign(record, values, {
        Id: id,
        IsDeleted: false,
        CreatedDate: stamp,
        CreatedById: userId,
        LastModifiedDate: stamp,
        LastModifiedById: userId,
        SystemModstamp: stamp,
      });
      if (findField(meta, 'OwnerId') && record['OwnerId'] == null) record['OwnerId'] = userId;
      if (meta.name === 'Case') {
        record['CaseNumber'] = String(this.caseNumber++).padStart(8, '0');
        this.deriveCaseClosure(record, undefined, stamp);
      }
      this.requireMandatory(meta, record);
      this.touch(tx, meta, id, 'CREATE', undefined, opts);
      this.table(meta).set(id, record);
      return { ...record };
    });
  }

  update(id: string, fields: Record<string, FieldValue>, opts: StoreMutationOptions = {}): SRecord {
    const { meta, record } = this.mustFind(id);
    if (record['IsDeleted'] === true) throw this.entityIsDeleted(record);
    return this.inTransaction(opts, (tx) => {
      const values = this.validate(meta, fields, 'update', record['Id'] as string);
      const before = { ...record };
      const userId = opts.userId ?? tx.userId ?? this.defaultUserId;
      const stamp = this.timestamp();
      // Validate the whole candidate first, so a caught failure leaves the record untouched.
      const candidate: SRecord = {
        ...record,
        ...values,
        LastModifiedDate: stamp,
        LastModifiedById: userId,
        SystemModstamp: stamp,
      };
      if (meta.name === 'Case') this.deriveCaseClosure(candidate, before, stamp);
      this.requireMandatory(meta, candidate);
      this.touch(tx, meta, record['Id'] as string, 'UPDATE', before, opts);
      Object.assign(record, candidate);
      return { ...record };
    });
  }

  delete(id: string, opts: StoreMutationOptions = {}): void {
    const { meta, record } = this.mustFind(id);
    if (record['IsDeleted'] === true) throw this.entityIsDeleted(record);
    this.inTransaction(opts, (tx) => {
      this.touch(tx, meta, record['Id'] as string, 'DELETE', { ...record }, opts);
      // Deleting does not change LastModifiedDate; SystemModstamp moves so queryAll pollers see it.
      Object.assign(record, { IsDeleted: true, SystemModstamp: this.timestamp() });
    });
  }

  undelete(id: string, opts: StoreMutationOptions = {}): SRecord {
    const { meta, record } = this.mustFind(id);
    if (record['IsDeleted'] !== true) {
      throw new InvalidRecordError(`Entity is not in the recycle bin: ${record['Id'] as string}`, 'UNDELETE_FAILED');
    }
    return this.inTransaction(opts, (tx) => {
      this.touch(tx, meta, record['Id'] as string, 'UNDELETE', { ...record }, opts);
      Object.assign(record, { IsDeleted: false, SystemModstamp: this.timestamp() });
      return { ...record };
    });
  }

  purge(id: string): void {
    const { meta, record } = this.mustFind(id);
    this.table(meta).delete(record['Id'] as string);
    // A purged record produces no event even if it was touched in the running transaction.
    this.tx?.touches.delete(record['Id'] as string);
  }

  transaction<T>(fn: (tx: OrgStore) => T, opts: StoreMutationOptions = {}): T {
    return this.inTransaction(opts, () => fn(this));
  }

  // ── Transactions and events ─────────────────────────────────────────────────────────────

  private inTransaction<T>(opts: StoreMutationOptions, fn: (tx: Transaction) => T): T {
    if (this.tx) return fn(this.tx);
    const tx: Transaction = {
      touches: new Map(),
      undo: new Map(),
      silent: opts.silent === true,
      userId: opts.userId,
      changeOrigin: opts.changeOrigin ?? DEFAULT_CHANGE_ORIGIN,
    };
    this.tx = tx;
    let result: T;
    try {
      result = fn(tx);
    } catch (err) {
      this.rollback(tx);
      throw err;
    } finally {
      this.tx = undefined;
    }
    this.publish(this.buildEvents(tx));
    return result;
  }

  private touch(
    tx: Transaction,
    meta: ObjectMeta,
    id: string,
    type: DmlType,
    before: SRecord | undefined,
    opts: MutationOptions,
  ): void {
    if (!tx.undo.has(id)) tx.undo.set(id, before ? { ...before } : undefined);
    if (tx.touches.has(id)) return;
    tx.touches.set(id, { object: meta, id, firstType: type, before, silent: tx.silent || opts.silent === true });
  }

  private rollback(tx: Transaction): void {
    for (const [id, original] of tx.undo) {
      const meta = this.metaOfId(id);
      if (!meta) continue;
      if (original) this.table(meta).set(id, original);
      else this.table(meta).delete(id);
    }
  }

  /** One event per touched record, then same-type identical changes of one object merged (docs/salesforce.md#changeeventheader). */
  private buildEvents(tx: Transaction): ChangeEventPayload[] {
    const commitTimestamp = Date.parse(this.timestamp());
    const commitNumber = this.commitNumber++;
    const commitUser = tx.userId ?? this.defaultUserId;
    const transactionKey = randomUUID();
    const events: ChangeEventPayload[] = [];
    const mergeKeys = new Map<string, ChangeEventPayload>();

    for (const touch of tx.touches.values()) {
      if (touch.silent || !touch.object.cdc) continue;
      const after = this.table(touch.object).get(touch.id);
      if (!after) continue;
      const { body, changedFields } = eventBody(touch, after);
      // Salesforce merges only changes that are the same: identical bodies and changed fields.
      const mergeKey = JSON.stringify([touch.object.name, touch.firstType, body, changedFields]);
      const merged = mergeKeys.get(mergeKey);
      if (merged) {
        merged.ChangeEventHeader.recordIds.push(touch.id);
        continue;
      }
      const header: ChangeEventHeader = {
        entityName: touch.object.name,
        recordIds: [touch.id],
        changeType: touch.firstType,
        changeOrigin: tx.changeOrigin,
        transactionKey,
        sequenceNumber: events.length + 1,
        commitTimestamp,
        commitNumber,
        commitUser,
        changedFields,
      };
      const event: ChangeEventPayload = { ChangeEventHeader: header, ...body };
      mergeKeys.set(mergeKey, event);
      events.push(event);
    }
    return events;
  }

  private publish(events: ChangeEventPayload[]): void {
    for (const event of events) {
      for (const listener of this.listeners) listener(event);
    }
  }

  // ── Validation ──────────────────────────────────────────────────────────────────────────

  /** Canonical field names and normalised values, or an InvalidRecordError naming the field. */
  private validate(
    meta: ObjectMeta,
    fields: Record<string, FieldValue>,
    mode: 'create' | 'update',
    id?: string,
  ): SRecord {
    const out: SRecord = {};
    for (const [name, raw] of Object.entries(fields)) {
      const f = findField(meta, name);
      if (!f) {
        throw new InvalidRecordError(`No such column '${name}' on sobject of type ${meta.name}`, 'INVALID_FIELD', [
          name,
        ]);
      }
      if (f.name === 'Id' && mode === 'update' && typeof raw === 'string' && isValidId(raw) && to18(raw) === id)
        continue;
      if (mode === 'create' ? !f.createable : !f.updateable) {
        throw new InvalidRecordError(
          `Unable to create/update fields: ${f.name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
          'INVALID_FIELD_FOR_INSERT_UPDATE',
          [f.name],
        );
      }
      out[f.name] = this.normaliseValue(f, raw);
    }
    return out;
  }

  /** `undefined` (a key present without a value, from a JS caller) is treated like `null`. */
  private normaliseValue(f: FieldMeta, raw: FieldValue | undefined): FieldValue {
    const bad = (why: string, code = 'INVALID_TYPE_ON_FIELD_IN_RECORD'): never => {
      throw new InvalidRecordError(`${f.label}: ${why}`, code, [f.name]);
    };
    if (raw === null || raw === undefined) {
      if (f.type === 'boolean') bad('value not of required type: null');
      if (!f.nillable) bad('required field cannot be null', 'REQUIRED_FIELD_MISSING');
      return null;
    }
    switch (f.type) {
      case 'boolean':
        return typeof raw === 'boolean' ? raw : bad(`value not of required type: ${String(raw)}`);
      case 'int':
        return typeof raw === 'number' && Number.isInteger(raw)
          ? raw
          : bad(`value not of required type: ${String(raw)}`);
      case 'double':
      case 'currency':
      case 'percent':
        return typeof raw === 'number' && Number.isFinite(raw)
          ? raw
          : bad(`value not of required type: ${String(raw)}`);
      case 'date':
        if (typeof raw !== 'string' || !SALESFORCE_DATE.test(raw) || Number.isNaN(Date.parse(raw))) {
          return bad(`value not of required type: ${String(raw)}`);
        }
        return raw;
      case 'datetime': {
        // Accept `Z`, `+00:00` and Salesforce's `+0000`; store the canonical `…000Z` form.
        const text = typeof raw === 'string' ? raw.replace(/([+-]\d{2})(\d{2})$/, '$1:$2') : '';
        const ms = Date.parse(text);
        if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(ms))
          return bad(`value not of required type: ${String(raw)}`);
        return new Date(Math.floor(ms / 1000) * 1000).toISOString();
      }
      case 'reference': {
        if (typeof raw !== 'string' || !isValidId(raw)) {
          return bad(`id value of incorrect type: ${String(raw)}`, 'MALFORMED_ID');
        }
        const id = to18(raw);
        const target = this.byPrefix.get(keyPrefixOf(id));
        if (target && f.referenceTo && !f.referenceTo.includes(target.name)) {
          return bad(`id value of incorrect type: ${raw}`, 'FIELD_INTEGRITY_EXCEPTION');
        }
        const row = target ? this.table(target).get(id) : undefined;
        if (target && (!row || row['IsDeleted'] === true)) {
          return bad(`invalid cross reference id`, 'INVALID_CROSS_REFERENCE_KEY');
        }
        return id;
      }
      default: {
        if (typeof raw !== 'string') return bad(`value not of required type: ${String(raw)}`);
        if (f.length !== undefined && raw.length > f.length) {
          return bad(`data value too large: ${raw.slice(0, 40)} (max length=${f.length})`, 'STRING_TOO_LONG');
        }
        if (f.type === 'email' && !EMAIL.test(raw))
          return bad(`invalid email address: ${raw}`, 'INVALID_EMAIL_ADDRESS');
        if (f.type === 'picklist' && !f.picklistValues?.some((p) => p.active && p.value === raw)) {
          return bad(`bad value for restricted picklist field: ${raw}`, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
        }
        return raw;
      }
    }
  }

  private requireMandatory(meta: ObjectMeta, record: SRecord): void {
    const missing = meta.fields.filter((f) => !f.nillable && f.createable && record[f.name] == null).map((f) => f.name);
    if (missing.length > 0) {
      throw new InvalidRecordError(
        `Required fields are missing: [${missing.join(', ')}]`,
        'REQUIRED_FIELD_MISSING',
        missing,
      );
    }
  }

  private defaultValueOf(f: FieldMeta): FieldValue {
    if (f.type === 'boolean') return f.name === 'IsActive';
    return f.picklistValues?.find((p) => p.defaultValue)?.value ?? null;
  }

  /** Case.IsClosed and ClosedDate follow Status ("Status drives the IsClosed flag", docs/salesforce.md#case). */
  private deriveCaseClosure(record: SRecord, before: SRecord | undefined, stamp: string): void {
    const closed = record['Status'] === 'Closed';
    record['IsClosed'] = closed;
    record['ClosedDate'] = closed ? ((before?.['IsClosed'] === true ? before['ClosedDate'] : null) ?? stamp) : null;
  }

  // ── Lookup helpers ──────────────────────────────────────────────────────────────────────

  private seedIntegrationUser(): void {
    const meta = this.describe('User');
    if (!meta) return;
    const stamp = this.timestamp();
    this.table(meta).set(this.defaultUserId, {
      Id: this.defaultUserId,
      IsDeleted: false,
      CreatedDate: stamp,
      CreatedById: this.defaultUserId,
      LastModifiedDate: stamp,
      LastModifiedById: this.defaultUserId,
      SystemModstamp: stamp,
      Username: 'integration@sandbox.sf-cm-bridge.example',
      Name: 'Sandbox Integration',
      FirstName: 'Sandbox',
      LastName: 'Integration',
      Email: 'integration@sandbox.sf-cm-bridge.example',
      IsActive: true,
    });
  }

  private timestamp(): string {
    return new Date(Math.floor(this.now() / 1000) * 1000).toISOString();
  }

  private table(meta: ObjectMeta): Map<string, SRecord> {
    let table = this.tables.get(meta.name);
    if (!table) {
      table = new Map();
      this.tables.set(meta.name, table);
    }
    return table;
  }

  private metaOfId(id: string): ObjectMeta | undefined {
    return this.byPrefix.get(keyPrefixOf(id));
  }

  private find(id: string): { meta: ObjectMeta; record: SRecord } | undefined {
    if (!isValidId(id)) return undefined;
    const meta = this.metaOfId(id);
    const record = meta ? this.table(meta).get(to18(id)) : undefined;
    return meta && record ? { meta, record } : undefined;
  }

  private mustFind(id: string): { meta: ObjectMeta; record: SRecord } {
    if (!isValidId(id)) throw new InvalidRecordError(`Invalid id: ${id}`, 'MALFORMED_ID', ['Id']);
    const found = this.find(id);
    if (!found) throw new RecordNotFoundError(id);
    return found;
  }

  private entityIsDeleted(record: SRecord): InvalidRecordError {
    return new InvalidRecordError(`entity is deleted: ${record['Id'] as string}`, 'ENTITY_IS_DELETED');
  }
}

/** Event body of one record by change type (docs/salesforce.md#event-body-by-change-type). */
function eventBody(touch: Touch, after: SRecord): { body: Record<string, FieldValue>; changedFields: string[] } {
  const body: Record<string, FieldValue> = {};
  const eventFields = touch.object.fields.filter((f) => !FIELDS_NEVER_IN_CHANGE_EVENTS.has(f.name) && !f.calculated);
  switch (touch.firstType) {
    case 'CREATE':
    case 'UNDELETE':
      for (const f of eventFields) {
        const value = after[f.name];
        if (value !== null && value !== undefined) body[f.name] = value;
      }
      return { body, changedFields: [] };
    case 'UPDATE': {
      const before = touch.before ?? {};
      const changedFields: string[] = [];
      for (const f of eventFields) {
        const value = after[f.name] ?? null;
        // LastModifiedDate is always part of an UPDATE, even when the second did not change.
        if (f.name !== 'LastModifiedDate' && value === (before[f.name] ?? null)) continue;
        body[f.name] = value;
        changedFields.push(f.name);
      }
      return { body, changedFields };
    }
    case 'DELETE':
      return { body, changedFields: [] };
  }
}
