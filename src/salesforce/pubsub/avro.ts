/**
 * Avro payloads of Pub/Sub events (docs/salesforce.md#pubsub-payloads): each event names its schema
 * id; the schema JSON comes from `GetSchema` once per id and is kept, parsed, for the life of the
 * process (schema ids are fingerprints: the same id is always the same schema).
 *
 * The `changedFields`, `nulledFields` and `diffFields` of a change event header are bitmaps over the
 * schema's field positions; {@link fieldNamesOf} turns them into the field names CometD would send
 * (`Subject`, compound parts as `BillingAddress.Street`).
 */
import avro from 'avsc';

export type SchemaSource = (schemaId: string) => Promise<string>;

export class SchemaCache {
  readonly #types = new Map<string, Promise<avro.Type>>();
  readonly #fetch: SchemaSource;

  constructor(fetch: SchemaSource) {
    this.#fetch = fetch;
  }

  /** The parsed schema `schemaId`, fetched once (concurrent callers share the fetch; a failed fetch is not kept). */
  type(schemaId: string): Promise<avro.Type> {
    let type = this.#types.get(schemaId);
    if (!type) {
      type = this.#fetch(schemaId).then((json) => avro.Type.forSchema(JSON.parse(json) as avro.Schema));
      this.#types.set(schemaId, type);
      type.catch(() => this.#types.delete(schemaId));
    }
    return type;
  }

  get size(): number {
    return this.#types.size;
  }
}

/** One Avro binary payload as a record (throws on a payload that does not match the schema). */
export function decodeRecord(type: avro.Type, payload: Uint8Array): Record<string, unknown> {
  const record: unknown = type.fromBuffer(Buffer.from(payload));
  if (typeof record !== 'object' || record === null) throw new Error('payload did not decode to a record');
  return record as Record<string, unknown>;
}

/** Field names of a record type, in schema order (the bit positions of a bitmap). */
function fieldsOf(type: avro.Type | undefined): string[] {
  if (type instanceof avro.types.RecordType) return type.fields.map((field) => field.name);
  // A nullable compound field: ["null", {record}].
  if (type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType)
    return fieldsOf(type.types.find((t) => t instanceof avro.types.RecordType));
  return [];
}

function recordFieldType(type: avro.Type, position: number): avro.Type | undefined {
  return type instanceof avro.types.RecordType ? type.fields[position]?.type : undefined;
}

/** Bit positions set in a hex bitmap; bit 0 is the least significant bit of the whole number. */
export function bitsOf(hex: string): number[] {
  const digits = hex.replace(/^0x/i, '');
  if (!/^[0-9a-f]+$/i.test(digits)) throw new Error(`not a hex bitmap: ${JSON.stringify(hex)}`);
  const bits: number[] = [];
  for (let i = 0; i < digits.length; i++) {
    const nibble = Number.parseInt(digits[digits.length - 1 - i] ?? '0', 16);
    for (let b = 0; b < 4; b++) if (nibble & (1 << b)) bits.push(i * 4 + b);
  }
  return bits;
}

/**
 * Field names of a bitmap field (`['0x650004E0', '4-0x10']`): the first element covers the
 * top-level fields, `P-0x…` the parts of the compound field at top-level position P.
 */
export function fieldNamesOf(type: avro.Type, bitmaps: readonly string[]): string[] {
  const top = fieldsOf(type);
  const names: string[] = [];
  for (const bitmap of bitmaps) {
    const compound = /^(\d+)-(0x[0-9a-f]+)$/i.exec(bitmap);
    if (compound) {
      const position = Number(compound[1]);
      const parent = top[position];
      const parts = fieldsOf(recordFieldType(type, position));
      if (parent === undefined) throw new Error(`bitmap ${bitmap} names field ${position}, beyond the schema`);
      for (const bit of bitsOf(compound[2] ?? '')) {
        const part = parts[bit];
        if (part === undefined) throw new Error(`bitmap ${bitmap} names part ${bit} of ${parent}, beyond the schema`);
        names.push(`${parent}.${part}`);
      }
      continue;
    }
    for (const bit of bitsOf(bitmap)) {
      const name = top[bit];
      if (name === undefined) throw new Error(`bitmap ${bitmap} names field ${bit}, beyond the schema`);
      names.push(name);
    }
  }
  return names;
}
