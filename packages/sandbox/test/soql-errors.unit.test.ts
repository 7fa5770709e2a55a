/**
 * SOQL subset: errors. Unknown names (INVALID_FIELD / INVALID_TYPE) and malformed or unsupported
 * queries (MALFORMED_QUERY) must throw, never return rows: the bridge meets the real org, which
 * refuses the same queries (docs/salesforce.md#rest-errors). Messages carry Salesforce's position prefix.
 */
import { describe, expect, it } from 'vitest';
import { executeSoql, SoqlError } from '../src/org/soql/index.ts';
import { API_VERSION, createTestSource } from './soql-fixture.ts';

const source = createTestSource();

function errorOf(soql: string): SoqlError {
  let result: unknown;
  try {
    result = executeSoql(soql, source, { includeDeleted: false, apiVersion: API_VERSION });
  } catch (error) {
    if (error instanceof SoqlError) return error;
    throw error;
  }
  throw new Error(`expected a SoqlError, got ${JSON.stringify(result)}`);
}

const NO_SUCH_COLUMN_TAIL =
  "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.";

describe('SOQL unknown names', () => {
  it('an unknown field is INVALID_FIELD with Salesforce’s message and position prefix', () => {
    const error = errorOf('SELECT Id, Foo FROM Case');
    expect(error).toBeInstanceOf(Error);
    expect(error.errorCode).toBe('INVALID_FIELD');
    expect(error.detail).toBe(`No such column 'Foo' on entity 'Case'. ${NO_SUCH_COLUMN_TAIL}`);
    expect(error.message).toBe(
      `\nSELECT Id, Foo FROM Case\n           ^\nERROR at Row:1:Column:12\nNo such column 'Foo' on entity 'Case'. ${NO_SUCH_COLUMN_TAIL}`,
    );
  });

  it('counts rows and columns on multi-line queries', () => {
    const error = errorOf("SELECT Id\nFROM Case\nWHERE Statuz = 'New'");
    expect(error.message).toBe(`\nWHERE Statuz = 'New'\n      ^\nERROR at Row:3:Column:7\n${error.detail}`);
  });

  it.each([
    [
      'SELECT Parent.Foo FROM EmailMessage',
      'INVALID_FIELD',
      `No such column 'Foo' on entity 'Case'. ${NO_SUCH_COLUMN_TAIL}`,
    ],
    [
      'SELECT Parent.Account.Foo FROM EmailMessage',
      'INVALID_FIELD',
      `No such column 'Foo' on entity 'Account'. ${NO_SUCH_COLUMN_TAIL}`,
    ],
    [
      "SELECT Id FROM Case WHERE Foo = 'x'",
      'INVALID_FIELD',
      `No such column 'Foo' on entity 'Case'. ${NO_SUCH_COLUMN_TAIL}`,
    ],
    [
      'SELECT Id FROM Case ORDER BY Foo',
      'INVALID_FIELD',
      `No such column 'Foo' on entity 'Case'. ${NO_SUCH_COLUMN_TAIL}`,
    ],
    // A relationship name alone is not a column.
    [
      'SELECT Parent FROM EmailMessage',
      'INVALID_FIELD',
      `No such column 'Parent' on entity 'EmailMessage'. ${NO_SUCH_COLUMN_TAIL}`,
    ],
    // A polymorphic path is checked against the `Name` entity.
    [
      'SELECT RelatedTo.Foo FROM EmailMessage',
      'INVALID_FIELD',
      `No such column 'Foo' on entity 'Name'. ${NO_SUCH_COLUMN_TAIL}`,
    ],
    [
      'SELECT Foo.Name FROM Case',
      'INVALID_FIELD',
      "Didn't understand relationship 'Foo' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
    ],
    [
      'SELECT ParentId.CaseNumber FROM Case',
      'INVALID_FIELD',
      "Didn't understand relationship 'ParentId' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
    ],
    // Contact is not modelled by this org: the sandbox refuses rather than guessing.
    [
      'SELECT Contact.Name FROM Case',
      'INVALID_FIELD',
      "Didn't understand relationship 'Contact' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
    ],
    [
      "SELECT Id FROM Case WHERE Foo.Name = 'x'",
      'INVALID_FIELD',
      "Didn't understand relationship 'Foo' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
    ],
    [
      'SELECT Id FROM Foo',
      'INVALID_TYPE',
      "sObject type 'Foo' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
    ],
    [
      'SELECT COUNT() FROM CaseComment',
      'INVALID_TYPE',
      "sObject type 'CaseComment' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
    ],
    [
      'SELECT Id FROM Case ORDER BY Description',
      'INVALID_FIELD',
      "field 'Description' can not be sorted in a query call",
    ],
    ['SELECT Id FROM Case ORDER BY Tags__c', 'INVALID_FIELD', "field 'Tags__c' can not be sorted in a query call"],
  ])('%s → %s', (soql, errorCode, detail) => {
    const error = errorOf(soql);
    expect(error.errorCode).toBe(errorCode);
    expect(error.detail).toBe(detail);
  });
});

describe('SOQL duplicate fields', () => {
  it.each([
    ['SELECT Id, Subject, Id FROM Case', 'duplicate field selected: Id'],
    ['SELECT Subject, SUBJECT FROM Case', 'duplicate field selected: Subject'],
    ['SELECT Parent.CaseNumber, parent.casenumber FROM EmailMessage', 'duplicate field selected: Parent.CaseNumber'],
  ])('%s', (soql, detail) => {
    const error = errorOf(soql);
    expect(error.errorCode).toBe('MALFORMED_QUERY');
    expect(error.detail).toBe(detail);
  });

  it('accepts a reference field and its relationship side by side', () => {
    expect(() =>
      executeSoql('SELECT ParentId, Parent.Id FROM EmailMessage', source, {
        includeDeleted: false,
        apiVersion: API_VERSION,
      }),
    ).not.toThrow();
  });
});

describe('SOQL malformed queries are MALFORMED_QUERY, never rows', () => {
  it.each([
    // Plain syntax errors, as Salesforce reports them
    ['', "unexpected token: '<EOF>'"],
    ['SELECT', "unexpected token: '<EOF>'"],
    ['SELECT FROM Case', "unexpected token: 'FROM'"],
    ['SELECT Id', "unexpected token: '<EOF>'"],
    ['SELECT Id FROM', "unexpected token: '<EOF>'"],
    ['SELECT Id, FROM Case', "unexpected token: 'FROM'"],
    ['SELECT Id,, Subject FROM Case', "unexpected token: ','"],
    ['SELECT * FROM Case', "unexpected token: '*'"],
    ['SELECT Id FROM Case;', "unexpected token: ';'"],
    ['SELECT Id FROM Case WHERE', "unexpected token: '<EOF>'"],
    ['SELECT Id FROM Case WHERE Status', "unexpected token: '<EOF>'"],
    ["SELECT Id FROM Case WHERE Status == 'New'", "unexpected token: '='"],
    ["SELECT Id FROM Case WHERE Status = 'New' Priority = 'High'", "unexpected token: 'Priority'"],
    ["SELECT Id FROM Case WHERE (Status = 'New'", "unexpected token: '<EOF>'"],
    ["SELECT Id FROM Case WHERE Status = 'New')", "unexpected token: ')'"],
    ['SELECT Id FROM Case WHERE Status IN ()', "unexpected token: ')'"],
    ["SELECT Id FROM Case WHERE Status NOT LIKE 'x'", "unexpected token: 'NOT'"],
    ['SELECT Id FROM Case WHERE Status = New', "unexpected token: 'New'"],
    ['SELECT Id FROM Case WHERE Status = "New"', "unexpected token: '\"'"],
    ["SELECT Id FROM Case WHERE 'New' = Status", "unexpected token: ''New''"],
    ['SELECT Id FROM Case ORDER Id', "unexpected token: 'Id'"],
    ['SELECT Id FROM Case ORDER BY', "unexpected token: '<EOF>'"],
    ['SELECT Id FROM Case ORDER BY Id NULLS', "unexpected token: '<EOF>'"],
    ['SELECT Id FROM Case LIMIT', "unexpected token: '<EOF>'"],
    ['SELECT Id FROM Case LIMIT -1', "unexpected token: '-1'"],
    ['SELECT Id FROM Case LIMIT 1.5', "unexpected token: '1.5'"],
    ["SELECT Id FROM Case LIMIT '5'", "unexpected token: ''5''"],
    ['SELECT Id FROM Case OFFSET 5 LIMIT 1', "unexpected token: 'LIMIT'"],
    ["SELECT Id FROM Case LIMIT 5 WHERE Status = 'New'", "unexpected token: 'WHERE'"],
    ['SELECT Id FROM Case OFFSET 2001', 'NUMBER_OUTSIDE_VALID_RANGE: Maximum SOQL offset allowed is 2000'],
    ["SELECT Id FROM Case WHERE Subject = 'unterminated", "line 1:36 mismatched character '<EOF>' expecting '''"],
    [
      "SELECT Id FROM Case WHERE Subject = 'bad \\q escape'",
      "Invalid string literal 'bad \\q'. Illegal character sequence '\\q' in string literal.",
    ],
    ['SELECT Id FROM Case WHERE Parent. = null', "unexpected token: '='"],
    ['SELECT Id FROM Case WHERE Status = TRUE AND', "unexpected token: '<EOF>'"],
    [
      'SELECT Id, COUNT() FROM Case',
      "unexpected token: 'COUNT' (COUNT() together with fields is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT COUNT(), Id FROM Case',
      "unexpected token: 'COUNT' (COUNT() together with fields is not supported by the sandbox SOQL subset)",
    ],
    // Valid SOQL the sandbox does not implement: named, so nobody hunts a bug in their query
    [
      'SELECT Status, COUNT(Id) FROM Case GROUP BY Status',
      "unexpected token: 'COUNT' (COUNT(field) (aggregate queries) is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT Id FROM Case GROUP BY Status',
      "unexpected token: 'GROUP' (GROUP BY is not supported by the sandbox SOQL subset)",
    ],
    [
      "SELECT Id FROM Case WHERE Status = 'New' GROUP BY Status",
      "unexpected token: 'GROUP' (GROUP BY is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT Id FROM Case HAVING COUNT(Id) > 1',
      "unexpected token: 'HAVING' (HAVING is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT COUNT(Id) FROM Case',
      "unexpected token: 'COUNT' (COUNT(field) (aggregate queries) is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT MAX(CreatedDate) FROM Case',
      "unexpected token: 'MAX' (MAX() in the SELECT list (aggregate and other functions; only a bare COUNT() is supported) is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT toLabel(Status) FROM Case',
      "unexpected token: 'toLabel' (toLabel() in the SELECT list (aggregate and other functions; only a bare COUNT() is supported) is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT Id, (SELECT Id FROM EmailMessages) FROM Case',
      "unexpected token: '(' (a relationship subquery is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT Id FROM Case FOR UPDATE',
      "unexpected token: 'FOR' (FOR VIEW / FOR REFERENCE / FOR UPDATE is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT Id FROM Case LIMIT 1 FOR UPDATE',
      "unexpected token: 'FOR' (FOR VIEW / FOR REFERENCE / FOR UPDATE is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT Id FROM Case WITH SECURITY_ENFORCED',
      "unexpected token: 'WITH' (WITH is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT Id FROM Case USING SCOPE mine',
      "unexpected token: 'USING' (USING SCOPE is not supported by the sandbox SOQL subset)",
    ],
    ['SELECT Id FROM Case c', "unexpected token: 'c' (an object alias is not supported by the sandbox SOQL subset)"],
    [
      'SELECT TYPEOF What WHEN Account THEN Name END FROM Event',
      "unexpected token: 'TYPEOF' (TYPEOF is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT Id FROM Case WHERE CALENDAR_YEAR(CreatedDate) = 2024',
      "unexpected token: 'CALENDAR_YEAR' (CALENDAR_YEAR() in WHERE (date and other functions) is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT Id FROM Case WHERE CreatedDate = LAST_N_DAYS:3',
      "unexpected token: 'LAST_N_DAYS' (the date literal LAST_N_DAYS is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT Id FROM Case WHERE CreatedDate > TODAY',
      "unexpected token: 'TODAY' (the date literal TODAY is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT Id FROM Case WHERE Id = :caseId',
      "unexpected token: ':caseId' (a bind variable is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT Id FROM Case WHERE Id IN (SELECT ParentId FROM EmailMessage)',
      "unexpected token: 'SELECT' (a semi-join subquery is not supported by the sandbox SOQL subset)",
    ],
    [
      "SELECT Id FROM Case WHERE (SELECT Id FROM Case) = 'x'",
      "unexpected token: 'SELECT' (a subquery is not supported by the sandbox SOQL subset)",
    ],
    [
      "SELECT Id FROM Case WHERE Tags__c INCLUDES ('Urgent')",
      "unexpected token: 'INCLUDES' (INCLUDES is not supported by the sandbox SOQL subset)",
    ],
    [
      'SELECT Id FROM Case ORDER BY MAX(Score__c)',
      "unexpected token: 'MAX' (MAX() in ORDER BY is not supported by the sandbox SOQL subset)",
    ],
  ])('%j', (soql, detail) => {
    const error = errorOf(soql);
    expect(error.errorCode).toBe('MALFORMED_QUERY');
    expect(error.detail).toBe(detail);
  });

  it('refuses statements longer than 100,000 characters', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => `'5005g0000${String(i).padStart(6, '0')}AAA'`).join(', ');
    const error = errorOf(`SELECT Id FROM Case WHERE Id IN (${ids})`);
    expect(error.errorCode).toBe('MALFORMED_QUERY');
    expect(error.message).toBe('SOQL statements cannot be longer than 100,000 characters.');
  });

  it('takes `Group` as an object name although GROUP is reserved', () => {
    const error = errorOf('SELECT Id FROM Group');
    expect(error.errorCode).toBe('INVALID_TYPE');
  });

  it('never reads records for a malformed query', () => {
    let reads = 0;
    const counting = {
      ...source,
      records: (name: string, opts?: { includeDeleted?: boolean }) => (reads++, source.records(name, opts)),
    };
    expect(() =>
      executeSoql("SELECT Id FROM Case WHERE Status = 'New' AND Priority = 'High' OR IsEscalated = true", counting, {
        includeDeleted: false,
        apiVersion: API_VERSION,
      }),
    ).toThrow(SoqlError);
    expect(() =>
      executeSoql("SELECT Id FROM Case WHERE Score__c = 'x'", counting, {
        includeDeleted: false,
        apiVersion: API_VERSION,
      }),
    ).toThrow(SoqlError);
    expect(reads).toBe(0);
  });
});
