/**
 * SOQL subset: WHERE. Operators, AND/OR/NOT with parentheses, typed comparisons, datetime and date
 * literals (docs/salesforce.md#systemmodstamp-watermarks), Id forms, relationship paths, and the filter
 * type errors of docs/salesforce.md#rest-errors. Fixture Cases (insertion order): printer (New, High,
 * 10), password (Closed, Low, 2.5, parent printer), untitled (Working, nulls); spam is soft-deleted.
 */
import { describe, expect, it } from 'vitest';
import { executeSoql, SoqlError } from '../src/org/soql/index.ts';
import { API_VERSION, createTestSource, ids } from './soql-fixture.ts';

const source = createTestSource();
const caseIds = (where: string) =>
  executeSoql(`SELECT Id FROM Case WHERE ${where}`, source, {
    includeDeleted: false,
    apiVersion: API_VERSION,
  }).records.map((r) => r.Id);
const emailIds = (where: string) =>
  executeSoql(`SELECT Id FROM EmailMessage WHERE ${where}`, source, {
    includeDeleted: false,
    apiVersion: API_VERSION,
  }).records.map((r) => r.Id);

const { printer, password, untitled } = ids;

function errorOf(run: () => unknown): SoqlError {
  try {
    run();
  } catch (error) {
    if (error instanceof SoqlError) return error;
    throw error;
  }
  throw new Error('expected a SoqlError, got rows');
}

describe('SOQL WHERE comparison operators', () => {
  it.each([
    // = and != (SOQL string comparison is case-insensitive; != includes nulls)
    ["Status = 'New'", [printer]],
    ["Status = 'new'", [printer]],
    ["Status != 'New'", [password, untitled]],
    ["Status <> 'New'", [password, untitled]],
    ["Priority != 'High'", [password, untitled]],
    ['Priority = null', [untitled]],
    ['Priority != null', [printer, password]],
    ["Subject = ''", [untitled]],
    // numbers
    ['Score__c = 10', [printer]],
    ['Score__c > 2.5', [printer]],
    ['Score__c >= 2.5', [printer, password]],
    ['Score__c < 10', [password]],
    ['Score__c <= 10', [printer, password]],
    ['Score__c > -5', [printer, password]],
    // ordering operators never match null
    ['Score__c < 100', [printer, password]],
    ["Subject < 'zzz'", [printer, password]],
    // strings order case-insensitively
    ["Subject > 'PASSWORD'", [printer, password]],
    ["Subject >= 'password reset'", [printer, password]],
    // booleans
    ['IsEscalated = true', [password]],
    ['IsEscalated = FALSE', [printer, untitled]],
    ['IsEscalated != true', [printer, untitled]],
    // IN / NOT IN
    ["Status IN ('New', 'closed')", [printer, password]],
    ["Status NOT IN ('New', 'Closed')", [untitled]],
    ["Priority IN ('Low', null)", [password, untitled]],
    ["Priority NOT IN ('Low')", [printer, untitled]],
    ['Score__c IN (2.5, 10)', [printer, password]],
    // multipicklist = compares the set of values, ignoring order and case
    ["Tags__c = 'urgent;HARDWARE'", [printer]],
  ])('%s', (where, expected) => {
    expect(caseIds(where)).toEqual(expected);
  });
});

describe('SOQL WHERE LIKE (case-insensitive, % and _)', () => {
  it.each([
    ["Subject LIKE 'printer%'", [printer]],
    ["Subject LIKE '%RESET'", [password]],
    ["Subject LIKE '%o%'", [printer, password]],
    ["Subject LIKE 'Password_reset'", [password]],
    ["Subject LIKE 'Password__reset'", []],
    ["Subject LIKE 'Printer'", []],
    ["Subject LIKE '%'", [printer, password]],
    ["Subject LIKE '.*'", []],
    ["NOT Subject LIKE 'P%'", [untitled]],
  ])('%s', (where, expected) => {
    expect(caseIds(where)).toEqual(expected);
  });

  it.each([
    ["TextBody LIKE '100\\% sure\\_it is'", [ids.printerReply]],
    ["TextBody LIKE '100\\%%'", [ids.printerReply]],
    ["TextBody LIKE '1000%'", []],
    ["TextBody LIKE '100% sure\\_%'", [ids.printerReply]],
    ["TextBody LIKE '100x sure_it is'", []],
  ])('escaped wildcards match literally: %s', (where, expected) => {
    expect(emailIds(where)).toEqual(expected);
  });
});

describe('SOQL WHERE logic: AND, OR, NOT and parentheses', () => {
  it.each([
    ["Status = 'New' AND Priority = 'High'", [printer]],
    ["Status = 'New' AND Priority = 'Low'", []],
    ["Status = 'New' OR Priority = 'Low'", [printer, password]],
    ["Status = 'New' OR Status = 'Closed' OR Status = 'Working'", [printer, password, untitled]],
    ["(Status = 'New' OR Status = 'Closed') AND IsEscalated = true", [password]],
    ["Status = 'New' OR (Status = 'Closed' AND IsEscalated = false)", [printer]],
    ["NOT Status = 'New'", [password, untitled]],
    ["NOT (Status = 'New' OR Status = 'Closed')", [untitled]],
    ["IsEscalated = false AND NOT Status = 'New'", [untitled]],
    ["((Status = 'Working'))", [untitled]],
    ["(Priority = 'High' OR Priority = 'Low') AND (Score__c > 5 OR IsEscalated = true)", [printer, password]],
  ])('%s', (where, expected) => {
    expect(caseIds(where)).toEqual(expected);
  });

  it.each([
    "Status = 'New' AND Priority = 'High' OR IsEscalated = true",
    "Status = 'New' OR Priority = 'High' AND IsEscalated = true",
    "(Status = 'New' OR Priority = 'High') AND IsEscalated = true OR Score__c > 1",
  ])('mixing AND and OR at one level is MALFORMED_QUERY, as in Salesforce: %s', (where) => {
    const error = errorOf(() => caseIds(where));
    expect(error.errorCode).toBe('MALFORMED_QUERY');
    expect(error.detail).toMatch(/^unexpected token: '(AND|OR)'$/);
  });
});

describe('SOQL datetime and date literals', () => {
  it.each([
    ['SystemModstamp > 2024-05-02T10:00:00Z', [untitled]],
    ['SystemModstamp >= 2024-05-02T10:00:00Z', [password, untitled]],
    ['SystemModstamp >= 2024-05-02T10:00:00.000Z', [password, untitled]],
    ['SystemModstamp = 2024-05-02T10:00:00Z', [password]],
    // Offsets name the same instant: 12:00+02:00 is 10:00Z.
    ['SystemModstamp = 2024-05-02T12:00:00+02:00', [password]],
    ['SystemModstamp = 2024-05-02T05:30:00-04:30', [password]],
    ['SystemModstamp < 2024-05-02T12:00:00+02:00', [printer]],
    ['ClosedDate = null', [printer, untitled]],
    ['ClosedDate < 2030-01-01T00:00:00Z', [password]],
    ['FollowUpDate__c = 2024-05-10', [printer]],
    ['FollowUpDate__c < 2024-05-10', [password]],
    ['FollowUpDate__c IN (2024-05-03, 2024-05-10)', [printer, password]],
    ['SystemModstamp IN (2024-05-01T08:00:00Z, 2024-05-03T12:30:00Z)', [printer, untitled]],
  ])('%s', (where, expected) => {
    expect(caseIds(where)).toEqual(expected);
  });

  it.each([
    [
      "SystemModstamp > '2024-05-01T00:00:00Z'",
      "value of filter criterion for field 'SystemModstamp' must be of type dateTime and should not be enclosed in quotes",
    ],
    [
      'SystemModstamp > 2024-05-01',
      "value of filter criterion for field 'SystemModstamp' must be of type dateTime and should not be enclosed in quotes",
    ],
    [
      'FollowUpDate__c = 2024-05-10T00:00:00Z',
      "value of filter criterion for field 'FollowUpDate__c' must be of type date and should not be enclosed in quotes",
    ],
    [
      "FollowUpDate__c = '2024-05-10'",
      "value of filter criterion for field 'FollowUpDate__c' must be of type date and should not be enclosed in quotes",
    ],
    [
      'SystemModstamp IN (2024-05-01T00:00:00Z, 2024-05-02)',
      "value of filter criterion for field 'SystemModstamp' must be of type dateTime and should not be enclosed in quotes",
    ],
  ])('a literal of the wrong temporal kind is INVALID_QUERY_FILTER_OPERATOR: %s', (where, detail) => {
    const error = errorOf(() => caseIds(where));
    expect(error.errorCode).toBe('INVALID_QUERY_FILTER_OPERATOR');
    expect(error.detail).toBe(detail);
  });

  it.each([
    'SystemModstamp > 2024-05-01T00:00Z',
    'SystemModstamp > 2024-05-01T00:00:00',
    'SystemModstamp > 2024-05-01T00:00:00+0200',
    'SystemModstamp > 2024-13-01T00:00:00Z',
    'SystemModstamp > 2024-02-30T00:00:00Z',
    'SystemModstamp > 2024-05-01T24:00:00Z',
    'FollowUpDate__c = 2024-02-30',
  ])('a malformed datetime or date literal is MALFORMED_QUERY: %s', (where) => {
    expect(errorOf(() => caseIds(where)).errorCode).toBe('MALFORMED_QUERY');
  });
});

describe('SOQL Id comparisons: 15- and 18-character Ids are the same record', () => {
  const id15 = printer.slice(0, 15);
  // Same 15 characters, another (wrong-case) checksum suffix: Salesforce only looks at the 15.
  const otherSuffix = `${id15}xxx`;
  it.each([
    [`Id = '${printer}'`, [printer]],
    [`Id = '${id15}'`, [printer]],
    [`Id = '${otherSuffix}'`, [printer]],
    [`Id IN ('${id15}', '${password}')`, [printer, password]],
    [`Id != '${id15}'`, [password, untitled]],
    [`ParentId = '${id15}'`, [password]],
    [`Id > '${printer}'`, [password, untitled]],
    // The 15-character Id is case-sensitive.
    [`Id = '${id15.toLowerCase()}'`, []],
  ])('%s', (where, expected) => {
    expect(caseIds(where)).toEqual(expected);
  });

  it.each(["Id = 'abc'", "ParentId = '5005g00000AbCdEIA'", "Id IN ('5005g00000AbCdEIAV', 'not-an-id')"])(
    'a string that is not an Id is INVALID_QUERY_FILTER_OPERATOR: %s',
    (where) => {
      const error = errorOf(() => caseIds(where));
      expect(error.errorCode).toBe('INVALID_QUERY_FILTER_OPERATOR');
      expect(error.detail).toMatch(/^invalid ID field: /);
    },
  );
});

describe('SOQL relationship paths in WHERE', () => {
  it.each([
    ["Parent.Status = 'New'", emailIds, [ids.printerReply]],
    ["Parent.Status = 'closed'", emailIds, [ids.resetDone]],
    // An empty reference makes every field behind it null.
    ['Parent.Status = null', emailIds, [ids.orphan]],
    ["Parent.Account.Name = 'Acme'", emailIds, [ids.printerReply]],
    ["Parent.Account.Name != 'Acme'", emailIds, [ids.resetDone, ids.orphan]],
    ["parent.CASENUMBER LIKE '%1002'", emailIds, [ids.resetDone]],
    ["RelatedTo.Name = 'Acme'", emailIds, [ids.resetDone]],
    ["Parent.CaseNumber = '00001001'", caseIds, [password]],
  ])('%s', (where, run, expected) => {
    expect(run(where)).toEqual(expected);
  });
});

describe('SOQL filter type errors', () => {
  it.each([
    [
      "IsEscalated = 'true'",
      'INVALID_QUERY_FILTER_OPERATOR',
      "value of filter criterion for field 'IsEscalated' must be of type boolean and should not be enclosed in quotes",
    ],
    [
      "Score__c > '5'",
      'INVALID_QUERY_FILTER_OPERATOR',
      "value of filter criterion for field 'Score__c' must be of type double and should not be enclosed in quotes",
    ],
    [
      'Subject = 5',
      'INVALID_QUERY_FILTER_OPERATOR',
      "value of filter criterion for field 'Subject' must be of type string and should be enclosed in quotes",
    ],
    [
      'Subject = true',
      'INVALID_QUERY_FILTER_OPERATOR',
      "value of filter criterion for field 'Subject' must be of type string and should be enclosed in quotes",
    ],
    [
      'Id = 5',
      'INVALID_QUERY_FILTER_OPERATOR',
      "value of filter criterion for field 'Id' must be of type id and should be enclosed in quotes",
    ],
    ['IsEscalated > false', 'INVALID_QUERY_FILTER_OPERATOR', 'invalid operator on boolean field: >'],
    ["Score__c LIKE '1%'", 'INVALID_QUERY_FILTER_OPERATOR', 'invalid operator on double field: LIKE'],
    ["Id LIKE '500%'", 'INVALID_QUERY_FILTER_OPERATOR', 'invalid operator on id field: LIKE'],
    [
      'Subject LIKE null',
      'INVALID_QUERY_FILTER_OPERATOR',
      "value of filter criterion for field 'Subject' must be of type string and should be enclosed in quotes",
    ],
    ['Score__c > null', 'INVALID_QUERY_FILTER_OPERATOR', 'invalid operator for null value: >'],
    ["Tags__c > 'a'", 'INVALID_QUERY_FILTER_OPERATOR', 'invalid operator on multipicklist field: >'],
    // Long text areas cannot be filtered in Salesforce.
    ["Description = 'x'", 'INVALID_FIELD', "field 'Description' can not be filtered in query call"],
  ])('%s → %s', (where, errorCode, detail) => {
    const error = errorOf(() => caseIds(where));
    expect(error.errorCode).toBe(errorCode);
    expect(error.detail).toBe(detail);
  });
});

describe('SOQL reconciliation queries as the bridge sends them', () => {
  it('wraps the configured condition in parentheses next to the watermark', () => {
    expect(
      emailIds('(Incoming = true) AND SystemModstamp >= 2024-05-01T00:00:00Z ORDER BY SystemModstamp, Id'),
    ).toEqual([ids.printerReply, ids.orphan]);
  });

  it('accepts an IN chunk of 300 Ids mixing 15- and 18-character forms', () => {
    const filler = Array.from({ length: 298 }, (_, i) => `'5005g0000${String(i).padStart(6, '0')}AAA'`);
    const chunk = [...filler, `'${ids.printer.slice(0, 15)}'`, `'${ids.untitled}'`].join(',');
    expect(caseIds(`Id IN (${chunk})`)).toEqual([printer, untitled]);
  });
});
