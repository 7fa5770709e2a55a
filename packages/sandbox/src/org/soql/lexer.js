/**
 * Tokeniser for the SOQL subset. Keywords are not distinguished here (they are identifiers the
 * parser compares case-insensitively), because SOQL keywords are case-insensitive and most of them
 * are not reserved.
 */
import { messages, soqlErrorAt } from "./errors.js";
// A datetime literal: YYYY-MM-DDThh:mm:ss[.sss](Z|±hh:mm), unquoted (docs/salesforce.md#systemmodstamp-watermarks).
const DATETIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})(?![\w:.])/y;
const DATETIME_START = /\d{4}-\d{2}-\d{2}T/y;
const DATE = /\d{4}-\d{2}-\d{2}(?![\w:.])/y;
const NUMBER = /-?\d+(?:\.\d+)?(?![\d.])/y;
const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const OPERATORS = ['!=', '<>', '<=', '>=', '=', '<', '>'];
const PUNCTUATION = new Set(['(', ')', ',', '.']);
/** SOQL's escape sequences (valid in every string literal); `\_`/`\%` are LIKE-only. */
export const STRING_ESCAPES = {
    n: '\n',
    N: '\n',
    r: '\r',
    R: '\r',
    t: '\t',
    T: '\t',
    b: '\b',
    B: '\b',
    f: '\f',
    F: '\f',
    '"': '"',
    "'": "'",
    '\\': '\\',
    _: '_',
    '%': '%',
};
function matchAt(pattern, soql, offset) {
    pattern.lastIndex = offset;
    return pattern.exec(soql)?.[0];
}
export function tokenize(soql) {
    const tokens = [];
    let i = 0;
    while (i < soql.length) {
        const ch = soql[i];
        if (/\s/.test(ch)) {
            i++;
            continue;
        }
        const start = i;
        if (ch === "'") {
            const { token, end } = readString(soql, start);
            tokens.push(token);
            i = end;
            continue;
        }
        if (/\d/.test(ch) || (ch === '-' && /\d/.test(soql[i + 1] ?? ''))) {
            const datetime = matchAt(DATETIME, soql, start);
            if (datetime !== undefined) {
                tokens.push({ kind: 'datetime', text: datetime, offset: start });
                i += datetime.length;
                continue;
            }
            if (matchAt(DATETIME_START, soql, start) !== undefined) {
                const text = /^[\w:.+-]+/.exec(soql.slice(start))?.[0] ?? ch;
                throw soqlErrorAt('MALFORMED_QUERY', `invalid datetime literal: ${text} (expected YYYY-MM-DDThh:mm:ssZ or YYYY-MM-DDThh:mm:ss±hh:mm)`, soql, start);
            }
            const date = matchAt(DATE, soql, start);
            if (date !== undefined) {
                tokens.push({ kind: 'date', text: date, offset: start });
                i += date.length;
                continue;
            }
            const number = matchAt(NUMBER, soql, start);
            if (number !== undefined) {
                tokens.push({ kind: 'number', text: number, offset: start });
                i += number.length;
                continue;
            }
        }
        const ident = matchAt(IDENT, soql, start);
        if (ident !== undefined) {
            tokens.push({ kind: 'ident', text: ident, offset: start });
            i += ident.length;
            continue;
        }
        if (ch === ':') {
            const name = matchAt(IDENT, soql, start + 1) ?? '';
            tokens.push({ kind: 'bind', text: `:${name}`, offset: start });
            i += 1 + name.length;
            continue;
        }
        const operator = OPERATORS.find((op) => soql.startsWith(op, start));
        if (operator !== undefined) {
            tokens.push({ kind: 'operator', text: operator, offset: start });
            i += operator.length;
            continue;
        }
        if (PUNCTUATION.has(ch)) {
            tokens.push({ kind: 'punct', text: ch, offset: start });
            i++;
            continue;
        }
        throw soqlErrorAt('MALFORMED_QUERY', messages.unexpectedToken(ch), soql, start);
    }
    tokens.push({ kind: 'eof', text: '<EOF>', offset: soql.length });
    return tokens;
}
function readString(soql, start) {
    let value = '';
    let i = start + 1;
    while (i < soql.length) {
        const ch = soql[i];
        if (ch === "'") {
            const raw = soql.slice(start + 1, i);
            return { token: { kind: 'string', text: soql.slice(start, i + 1), offset: start, value, raw }, end: i + 1 };
        }
        if (ch === '\\') {
            const next = soql[i + 1] ?? '';
            const decoded = STRING_ESCAPES[next];
            if (decoded === undefined) {
                throw soqlErrorAt('MALFORMED_QUERY', `Invalid string literal '${soql.slice(start + 1, i + 2)}'. Illegal character sequence '\\${next}' in string literal.`, soql, start);
            }
            value += decoded;
            i += 2;
            continue;
        }
        value += ch;
        i++;
    }
    throw soqlErrorAt('MALFORMED_QUERY', `line 1:${start} mismatched character '<EOF>' expecting '''`, soql, start);
}
