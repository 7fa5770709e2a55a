/**
 * The Avro side of the sandbox's Pub/Sub API (docs/salesforce.md#pubsub-payloads): one schema per CDC
 * object, named by the same schema id its CometD events carry, and the encoding of a logged change
 * event into it.
 *
 * - Every field of the object is in the record (except `Id`, which travels in `recordIds`), nullable,
 *   and null unless the event sets it (CometD omits such fields).
 * - Dates and datetimes are epoch milliseconds (longs).
 * - `changedFields`, `nulledFields` and `diffFields` are bitmaps over field positions: one hex string,
 *   bit i = the field at position i of the record (ChangeEventHeader is position 0), least significant
 *   bit first.
 */
import avro from 'avsc';
import type { ChangeEventMessage } from './change-events.ts';
import { schemaIdOf } from './change-events.ts';
import type { FieldMeta, FieldType, ObjectMeta } from './contracts.ts';

const CHANGE_TYPES = [
  'CREATE',
  'UPDATE',
  'DELETE',
  'UNDELETE',
  'GAP_CREATE',
  'GAP_UPDATE',
  'GAP_DELETE',
  'GAP_UNDELETE',
  'GAP_OVERFLOW',
];

function avroTypeOf(type: FieldType): string {
  switch (type) {
    case 'boolean':
      return 'boolean';
    case 'int':
      return 'int';
    case 'double':
    case 'currency':
    case 'percent':
      return 'double';
    case 'date':
    case 'datetime':
      return 'long';
    default:
      return 'string';
  }
}

export interface ObjectSchema {
  id: string;
  json: string;
  type: avro.Type;
  /** Record fields after the header, in schema order. */
  fields: FieldMeta[];
}

export function objectSchema(meta: ObjectMeta): ObjectSchema {
  const fields = meta.fields.filter((f) => f.name !== 'Id');
  const schema = {
    type: 'record',
    name: `${meta.name.replace(/__c$/, '__')}ChangeEvent`,
    namespace: 'com.sforce.eventbus',
    fields: [
      {
        name: 'ChangeEventHeader',
        type: {
          type: 'record',
          name: 'ChangeEventHeader',
          fields: [
            { name: 'entityName', type: 'string' },
            { name: 'recordIds', type: { type: 'array', items: 'string' } },
            { name: 'changeType', type: { type: 'enum', name: 'ChangeType', symbols: CHANGE_TYPES } },
            { name: 'changeOrigin', type: 'string' },
            { name: 'transactionKey', type: 'string' },
            { name: 'sequenceNumber', type: 'int' },
            { name: 'commitTimestamp', type: 'long' },
            { name: 'commitNumber', type: 'long' },
            { name: 'commitUser', type: 'string' },
            { name: 'nulledFields', type: { type: 'array', items: 'string' } },
            { name: 'diffFields', type: { type: 'array', items: 'string' } },
            { name: 'changedFields', type: { type: 'array', items: 'string' } },
          ],
        },
      },
      ...fields.map((f) => ({ name: f.name, type: ['null', avroTypeOf(f.type)], default: null })),
    ],
  };
  return {
    id: schemaIdOf(meta),
    json: JSON.stringify(schema),
    type: avro.Type.forSchema(schema as avro.Schema),
    fields,
  };
}

/** A bitmap of the given record positions (empty when none). */
export function bitmapOf(positions: readonly number[]): string[] {
  if (positions.length === 0) return [];
  let bits = 0n;
  for (const position of positions) bits |= 1n << BigInt(position);
  return [`0x${bits.toString(16).toUpperCase()}`];
}

function avroValue(field: FieldMeta, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (field.type === 'date' || field.type === 'datetime') {
    const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
    return Number.isNaN(ms) ? null : ms;
  }
  const type = avroTypeOf(field.type);
  if (type === 'boolean') return Boolean(value);
  if (type === 'int') return Math.trunc(Number(value));
  if (type === 'double') return Number(value);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The Avro binary of one logged event in its object's schema. */
export function encodeEvent(schema: ObjectSchema, message: ChangeEventMessage): Buffer {
  const { ChangeEventHeader: header, ...body } = message.payload;
  const position = new Map(schema.fields.map((f, i) => [f.name, i + 1]));
  const positionsOf = (names: readonly string[]) =>
    names.map((n) => position.get(n)).filter((p): p is number => p !== undefined);
  const nulled = header.changeType === 'UPDATE' ? Object.keys(body).filter((k) => body[k] === null) : [];
  const record: Record<string, unknown> = {
    ChangeEventHeader: {
      entityName: header.entityName,
      recordIds: header.recordIds,
      changeType: header.changeType,
      changeOrigin: header.changeOrigin,
      transactionKey: header.transactionKey,
      sequenceNumber: header.sequenceNumber,
      commitTimestamp: header.commitTimestamp,
      commitNumber: header.commitNumber,
      commitUser: header.commitUser,
      nulledFields: bitmapOf(positionsOf(nulled)),
      diffFields: [],
      changedFields: bitmapOf(positionsOf(header.changedFields)),
    },
  };
  for (const field of schema.fields) record[field.name] = avroValue(field, body[field.name]);
  return schema.type.toBuffer(record);
}
