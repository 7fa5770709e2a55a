/**
 * SOQL subset: SELECT list, result shape, ORDER BY, LIMIT/OFFSET, COUNT() and queryAll. Result shape
 * follows docs/salesforce.md#query-and-queryall (attributes, nested relationship objects or null,
 * datetimes with `+0000`); SystemModstamp ordering follows
 * docs/salesforce.md#systemmodstamp-watermarks.
 */
import { describe, expect, it } from 'vitest';
import { executeSoql } from '../src/org/soql/index.ts';
import { API_VERSION, createTestSource, ids } from './soql-fixture.ts';

const source = createTestSource();
const query = (soql: string) => executeSoql(soql, source, { includeDeleted: false, apiVersion: API_VERSION });
const queryAll = (soql: string) => executeSoql(soql, source, { includeDeleted: true, apiVersion: API_VERSION });
const idsOf = (soql: string, run = query) => run(soql).records.map((record) => record.Id);

describe('SOQL result shape', () => {
  it('returns attributes, then the selected fields in the order selected', () => {
    const result = query(`SELECT Subject, Id, Status FROM Case WHERE Id = '${ids.printer}'`);
    expect(result).toEqual({
      objectName: 'Case',
      totalSize: 1,
      records: [
        {
          attributes: { type: 'Case', url: `/services/data/v62.0/sobjects/Case/${ids.printer}` },
          Subject: 'Printer on fire',
          Id: ids.printer,
          Status: 'New',
        },
      ],
    });
    expect(Object.keys(result.records[0] ?? {})).toEqual(['attributes', 'Subject', 'Id', 'Status']);
  });

  it('resolves object and field names case-insensitively but answers with canonical API names', () => {
    const result = query(`select SUBJECT, id, parent.casenumber from emailmessage where ID = '${ids.resetDone}'`);
    expect(result.objectName).toBe('EmailMessage');
    expect(result.records).toEqual([
      {
        attributes: { type: 'EmailMessage', url: `/services/data/v62.0/sobjects/EmailMessage/${ids.resetDone}` },
        Subject: 'Reset done',
        Id: ids.resetDone,
        Parent: {
          attributes: { type: 'Case', url: `/services/data/v62.0/sobjects/Case/${ids.password}` },
          CaseNumber: '00001002',
        },
      },
    ]);
  });

  it('renders datetimes as Salesforce does (+0000, no colon) and leaves dates, numbers, booleans, nulls alone', () => {
    const [printer, password, untitled] = query(
      'SELECT ClosedDate, SystemModstamp, FollowUpDate__c, Score__c, IsEscalated, Subject FROM Case ORDER BY CaseNumber',
    ).records;
    expect(printer).toMatchObject({
      ClosedDate: null,
      SystemModstamp: '2024-05-01T08:00:00.000+0000',
      FollowUpDate__c: '2024-05-10',
      Score__c: 10,
      IsEscalated: false,
    });
    expect(password).toMatchObject({ ClosedDate: '2024-05-02T10:00:00.000+0000', Score__c: 2.5, IsEscalated: true });
    expect(untitled).toMatchObject({ Subject: null, FollowUpDate__c: null, Score__c: null });
  });

  it('accepts a `v`-prefixed apiVersion without doubling it in attributes.url', () => {
    const result = executeSoql(`SELECT Id FROM Account`, source, { includeDeleted: false, apiVersion: 'v58.0' });
    expect(result.records[0]?.attributes.url).toBe(`/services/data/v58.0/sobjects/Account/${ids.acme}`);
  });
});

describe('SOQL relationship paths in SELECT', () => {
  it('nests the parent as an object with its own attributes, merging paths that share a relationship', () => {
    const [record] = query(
      `SELECT Parent.CaseNumber, Id, Parent.Status, Parent.Account.Name FROM EmailMessage WHERE Id = '${ids.printerReply}'`,
    ).records;
    expect(record).toEqual({
      attributes: { type: 'EmailMessage', url: `/services/data/v62.0/sobjects/EmailMessage/${ids.printerReply}` },
      Parent: {
        attributes: { type: 'Case', url: `/services/data/v62.0/sobjects/Case/${ids.printer}` },
        CaseNumber: '00001001',
        Status: 'New',
        Account: {
          attributes: { type: 'Account', url: `/services/data/v62.0/sobjects/Account/${ids.acme}` },
          Name: 'Acme',
        },
      },
      Id: ids.printerReply,
    });
    expect(Object.keys(record ?? {})).toEqual(['attributes', 'Parent', 'Id']);
  });

  it('returns null for an empty reference, and null deeper down when an intermediate reference is empty', () => {
    const records = query('SELECT Subject, Parent.Account.Name FROM EmailMessage ORDER BY Subject').records;
    expect(records.map((r) => [r.Subject, r.Parent])).toEqual([
      ['Orphan', null],
      ['Re: Printer on fire', expect.objectContaining({ Account: expect.objectContaining({ Name: 'Acme' }) })],
      ['Reset done', { attributes: expect.objectContaining({ type: 'Case' }), Account: null }],
    ]);
  });

  it('resolves a polymorphic reference to the object the stored Id points to', () => {
    const records = query(
      'SELECT RelatedTo.Name, RelatedTo.Id FROM EmailMessage WHERE RelatedToId != null ORDER BY MessageDate',
    ).records;
    expect(records.map((r) => r.RelatedTo)).toEqual([
      // A Case has no Name field: the Case's row has Id but Name comes back null.
      {
        attributes: { type: 'Case', url: `/services/data/v62.0/sobjects/Case/${ids.printer}` },
        Name: null,
        Id: ids.printer,
      },
      {
        attributes: { type: 'Account', url: `/services/data/v62.0/sobjects/Account/${ids.acme}` },
        Name: 'Acme',
        Id: ids.acme,
      },
    ]);
  });

  it('follows references to soft-deleted parents in queryAll', () => {
    const soql = `SELECT Parent.Subject FROM EmailMessage WHERE Id = '${ids.spamReply}'`;
    expect(query(soql).records).toEqual([]);
    expect(queryAll(soql).records[0]?.Parent).toMatchObject({ attributes: { type: 'Case' }, Subject: 'Spam' });
  });
});

describe('SOQL ORDER BY', () => {
  it.each([
    ['SystemModstamp', [ids.printer, ids.password, ids.untitled]],
    ['SystemModstamp DESC', [ids.untitled, ids.password, ids.printer]],
    // Default: nulls first ascending, last descending.
    ['Priority', [ids.untitled, ids.printer, ids.password]],
    ['Priority DESC', [ids.password, ids.printer, ids.untitled]],
    ['Priority ASC NULLS LAST', [ids.printer, ids.password, ids.untitled]],
    ['Priority DESC NULLS FIRST', [ids.untitled, ids.password, ids.printer]],
    ['Score__c', [ids.untitled, ids.password, ids.printer]],
    ['IsEscalated DESC, CaseNumber DESC', [ids.password, ids.untitled, ids.printer]],
    ['Parent.CaseNumber NULLS LAST, CaseNumber', [ids.password, ids.printer, ids.untitled]],
    ['FollowUpDate__c DESC', [ids.printer, ids.password, ids.untitled]],
  ])('ORDER BY %s', (orderBy, expected) => {
    expect(idsOf(`SELECT Id FROM Case ORDER BY ${orderBy}`)).toEqual(expected);
  });

  it('sorts text case-insensitively', () => {
    expect(
      idsOf(
        "SELECT Id FROM EmailMessage WHERE Subject IN ('orphan', 'Reset done', 're: printer on fire') ORDER BY Subject DESC",
      ),
    ).toEqual([ids.resetDone, ids.printerReply, ids.orphan]);
  });

  it('keeps insertion order without ORDER BY, and for ties', () => {
    expect(idsOf('SELECT Id FROM Case')).toEqual([ids.printer, ids.password, ids.untitled]);
    expect(idsOf('SELECT Id FROM Case ORDER BY IsEscalated')).toEqual([ids.printer, ids.untitled, ids.password]);
  });

  it('supports the watermark query: ORDER BY SystemModstamp, Id', () => {
    const result = query(
      'SELECT Id, SystemModstamp FROM Case WHERE SystemModstamp >= 2024-05-02T00:00:00Z ORDER BY SystemModstamp, Id',
    );
    expect(result.records.map((r) => r.SystemModstamp)).toEqual([
      '2024-05-02T10:00:00.000+0000',
      '2024-05-03T12:30:00.000+0000',
    ]);
  });
});

describe('SOQL LIMIT and OFFSET', () => {
  it.each([
    ['LIMIT 2', [ids.printer, ids.password]],
    ['LIMIT 0', []],
    ['LIMIT 10', [ids.printer, ids.password, ids.untitled]],
    ['OFFSET 1', [ids.password, ids.untitled]],
    ['LIMIT 1 OFFSET 1', [ids.password]],
    ['LIMIT 5 OFFSET 2000', []],
  ])('%s', (clause, expected) => {
    const result = query(`SELECT Id FROM Case ORDER BY CaseNumber ${clause}`);
    expect(result.records.map((r) => r.Id)).toEqual(expected);
    expect(result.totalSize).toBe(expected.length);
  });
});

describe('SOQL SELECT COUNT()', () => {
  it.each([
    ['SELECT COUNT() FROM Case', 3],
    ["select count() from case where Status = 'New'", 1],
    ['SELECT COUNT() FROM Case LIMIT 2', 2],
    ['SELECT COUNT() FROM EmailMessage WHERE Parent.Status = null', 1],
  ])('%s → %i', (soql, count) => {
    expect(query(soql)).toEqual({
      objectName: soql.toLowerCase().includes('emailmessage') ? 'EmailMessage' : 'Case',
      totalSize: count,
      records: [],
    });
  });

  it('counts soft-deleted rows in queryAll', () => {
    expect(queryAll('SELECT COUNT() FROM Case').totalSize).toBe(4);
  });
});

describe('SOQL queryAll and IsDeleted', () => {
  it('query never returns soft-deleted rows; queryAll does, and IsDeleted filters them', () => {
    expect(idsOf('SELECT Id FROM Case WHERE IsDeleted = true')).toEqual([]);
    expect(idsOf('SELECT Id FROM Case WHERE IsDeleted = true', queryAll)).toEqual([ids.spam]);
    expect(
      idsOf('SELECT Id FROM Case WHERE IsDeleted = true AND SystemModstamp >= 2024-05-01T00:00:00Z', queryAll),
    ).toEqual([ids.spam]);
    expect(idsOf('SELECT Id FROM Case', queryAll)).toHaveLength(4);
  });
});
