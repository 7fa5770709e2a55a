/**
 * SOQL errors, shaped the way Salesforce shapes them (docs/salesforce.md#rest-errors).
 *
 * Salesforce prefixes query errors that have a position with the offending line, a caret and
 * `ERROR at Row:r:Column:c`, then the detail:
 *
 *     \nSELECT Foo FROM Case\n       ^\nERROR at Row:1:Column:8\nNo such column 'Foo' on entity 'Case'. …
 *
 * `detail` keeps the bare text (the last line) for callers and tests that do not care where.
 */
export class SoqlError extends Error {
    errorCode;
    /** The message without Salesforce's position prefix. */
    detail;
    constructor(errorCode, message, detail = message) {
        super(message);
        this.name = 'SoqlError';
        this.errorCode = errorCode;
        this.detail = detail;
    }
}
/** An error pointing at `offset` in `soql`, with Salesforce's row/column prefix. */
export function soqlErrorAt(errorCode, detail, soql, offset) {
    const before = soql.slice(0, offset);
    const row = before.split('\n').length;
    const lineStart = before.lastIndexOf('\n') + 1;
    const lineEnd = soql.indexOf('\n', offset);
    const line = soql.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
    const column = offset - lineStart + 1;
    const message = `\n${line}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${detail}`;
    return new SoqlError(errorCode, message, detail);
}
// Message texts, verbatim from Salesforce where Salesforce has the same error.
export const messages = {
    unexpectedToken: (token) => `unexpected token: '${token}'`,
    /** Valid SOQL that the sandbox does not implement: say so, so nobody hunts a bug in their query. */
    unsupported: (token, feature) => `unexpected token: '${token}' (${feature} is not supported by the sandbox SOQL subset)`,
    noSuchColumn: (field, entity) => `No such column '${field}' on entity '${entity}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
    unknownRelationship: (relationship) => `Didn't understand relationship '${relationship}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
    unsupportedObject: (objectName) => `sObject type '${objectName}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
    duplicateField: (field) => `duplicate field selected: ${field}`,
    filterValueType: (field, type, quoted) => `value of filter criterion for field '${field}' must be of type ${type} and should ${quoted ? '' : 'not '}be enclosed in quotes`,
    invalidId: (value) => `invalid ID field: ${value}`,
    invalidOperator: (operator, type) => `invalid operator on ${type} field: ${operator}`,
    nullOperator: (operator) => `invalid operator for null value: ${operator}`,
    notFilterable: (field) => `field '${field}' can not be filtered in query call`,
    notSortable: (field) => `field '${field}' can not be sorted in a query call`,
    offsetTooLarge: () => 'NUMBER_OUTSIDE_VALID_RANGE: Maximum SOQL offset allowed is 2000',
};
