/** Pub/Sub payload decoding: bitmaps to field names, the schema cache, undecodable events (docs/salesforce.md#pubsub-payloads). */
import { status as GrpcStatus } from '@grpc/grpc-js';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { bitsOf, fieldNamesOf, SchemaCache } from '../../../src/salesforce/pubsub/avro.ts';
import { changeEventData } from '../../../src/salesforce/pubsub/change-event.ts';
import { PubsubCallError } from '../../../src/salesforce/pubsub/errors.ts';
import { replayIdBytes, replayIdText } from '../../../src/salesforce/pubsub/replay-id.ts';
import { interpretChangeEvent } from '../../../src/salesforce/cometd/change-event.ts';

const HEADER = {
  type: 'record',
  name: 'ChangeEventHeader',
  fields: [
    { name: 'entityName', type: 'string' },
    { name: 'recordIds', type: { type: 'array', items: 'string' } },
    { name: 'changeType', type: 'string' },
    { name: 'commitTimestamp', type: 'long' },
    { name: 'changedFields', type: { type: 'array', items: 'string' } },
    { name: 'nulledFields', type: { type: 'array', items: 'string' } },
    { name: 'diffFields', type: { type: 'array', items: 'string' } },
  ],
};
const ADDRESS = {
  type: 'record',
  name: 'Address',
  fields: ['Street', 'City', 'PostalCode', 'State', 'Country'].map((name) => ({ name, type: ['null', 'string'] })),
};
/** Positions: 0 header, 1 Name, 2 Phone, 3 Description, 4 BillingAddress (compound), 5 LastModifiedDate. */
const SCHEMA = {
  type: 'record',
  name: 'AccountChangeEvent',
  fields: [
    { name: 'ChangeEventHeader', type: HEADER },
    { name: 'Name', type: ['null', 'string'], default: null },
    { name: 'Phone', type: ['null', 'string'], default: null },
    { name: 'Description', type: ['null', 'string'], default: null },
    { name: 'BillingAddress', type: ['null', ADDRESS], default: null },
    { name: 'LastModifiedDate', type: ['null', 'long'], default: null },
  ],
};
const type = avro.Type.forSchema(SCHEMA as avro.Schema);

/** What the ingest makes of a decoded event on the Account topic. */
function interpretAccount(data: unknown) {
  return interpretChangeEvent(data, {
    integration: 'a/b',
    object: 'Account',
    channel: '/data/AccountChangeEvent',
    now: 1,
  });
}

describe('Pub/Sub bitmaps', () => {
  it('reads bits from the least significant bit of the whole hex number', () => {
    expect(bitsOf('0x1')).toEqual([0]);
    expect(bitsOf('0x22')).toEqual([1, 5]);
    expect(bitsOf('0x100')).toEqual([8]);
    expect(bitsOf('0x650004E0')).toEqual([5, 6, 7, 10, 24, 26, 29, 30]);
  });

  it('names top-level fields by schema position and compound parts as Parent.Part', () => {
    // Bits 1 (Name), 3 (Description), 5 (LastModifiedDate); parts 0 (Street) and 1 (City) of position 4.
    expect(fieldNamesOf(type, ['0x2A', '4-0x3'])).toEqual([
      'Name',
      'Description',
      'LastModifiedDate',
      'BillingAddress.Street',
      'BillingAddress.City',
    ]);
    expect(fieldNamesOf(type, [])).toEqual([]);
  });

  it('refuses a bitmap naming a field beyond the schema', () => {
    expect(() => fieldNamesOf(type, ['0x80'])).toThrow(/beyond the schema/);
    expect(() => fieldNamesOf(type, ['4-0x40'])).toThrow(/beyond the schema/);
    expect(() => fieldNamesOf(type, ['0xZZ'])).toThrow(/not a hex bitmap/);
  });
});

describe('Pub/Sub change events', () => {
  const record = {
    ChangeEventHeader: {
      entityName: 'Account',
      recordIds: ['001000000000001AAA'],
      changeType: 'UPDATE',
      commitTimestamp: 1_700_000_000_000,
      changedFields: ['0x2A'],
      nulledFields: ['0x8'],
      diffFields: [],
    },
    Name: 'Acme',
    Phone: null,
    Description: null,
    BillingAddress: null,
    LastModifiedDate: 1_700_000_000_000,
  };
  const replayId = Buffer.from([0, 0, 0, 0, 0, 0, 0x1f, 0x40]);

  it('decodes into the CometD shape: names for bitmaps, changed and nulled fields in the body, 0x replay id', async () => {
    let fetches = 0;
    const schemas = new SchemaCache(async () => {
      fetches += 1;
      return JSON.stringify(SCHEMA);
    });
    const consumed = { event: { id: 'e1', schemaId: 'S1', payload: type.toBuffer(record) }, replayId };
    const data = await changeEventData(consumed, schemas);
    expect(data).toEqual({
      schema: 'S1',
      payload: {
        ChangeEventHeader: {
          ...record.ChangeEventHeader,
          changedFields: ['Name', 'Description', 'LastModifiedDate'],
          nulledFields: ['Description'],
        },
        Name: 'Acme',
        Description: null,
        LastModifiedDate: 1_700_000_000_000,
      },
      event: { replayId: '0x0000000000001f40' },
    });
    await changeEventData(consumed, schemas);
    expect(fetches).toBe(1);
    const outcome = interpretAccount(data);
    expect(outcome).toMatchObject({ type: 'changes', replayId: '0x0000000000001f40' });
  });

  it('a payload that does not match its schema becomes a dead letter that keeps the replay id', async () => {
    const schemas = new SchemaCache(async () => JSON.stringify(SCHEMA));
    const data = await changeEventData(
      { event: { id: 'e2', schemaId: 'S1', payload: Buffer.from([0xff]) }, replayId },
      schemas,
    );
    const outcome = interpretAccount(data);
    expect(outcome).toMatchObject({ type: 'malformed', replayId: '0x0000000000001f40' });
    // The dead letter says what went wrong with the bytes, not that a payload is missing.
    expect(outcome.type === 'malformed' && outcome.reason).toMatch(/event e2 \(schema S1\) could not be decoded: /);
  });

  it('a schema id the server does not know (NOT_FOUND) makes the event a dead letter, not a failed call', async () => {
    const schemas = new SchemaCache(() =>
      Promise.reject(new PubsubCallError({ grpcCode: GrpcStatus.NOT_FOUND, details: 'Schema S9 not found.' })),
    );
    const data = await changeEventData(
      { event: { id: 'e4', schemaId: 'S9', payload: type.toBuffer(record) }, replayId },
      schemas,
    );
    const outcome = interpretAccount(data);
    expect(outcome).toMatchObject({ type: 'malformed', replayId: '0x0000000000001f40' });
    expect(outcome.type === 'malformed' && outcome.reason).toMatch(/schema S9.*NOT_FOUND/);
  });

  it('a schema that cannot be fetched throws (the call is retried), and is fetched again next time', async () => {
    let fail = true;
    const schemas = new SchemaCache(async () => {
      if (fail) throw new Error('UNAVAILABLE');
      return JSON.stringify(SCHEMA);
    });
    const consumed = { event: { id: 'e3', schemaId: 'S1', payload: type.toBuffer(record) }, replayId };
    await expect(changeEventData(consumed, schemas)).rejects.toThrow('UNAVAILABLE');
    fail = false;
    await expect(changeEventData(consumed, schemas)).resolves.toMatchObject({
      event: { replayId: '0x0000000000001f40' },
    });
  });

  it('replay ids round-trip through their text form unchanged', () => {
    expect(replayIdBytes(replayIdText(replayId))).toEqual(replayId);
    expect(replayIdBytes('12345')).toBeUndefined();
  });
});
