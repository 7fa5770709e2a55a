import { messages, SoqlError, soqlErrorAt } from "./errors.js";
import { tokenize } from "./lexer.js";
/** Salesforce's reserved words: never a field or object name (SOQL reference, "Reserved Characters"). */
const RESERVED = new Set([
    'AND',
    'ASC',
    'DESC',
    'EXCLUDES',
    'FIRST',
    'FROM',
    'GROUP',
    'HAVING',
    'IN',
    'INCLUDES',
    'LAST',
    'LIKE',
    'LIMIT',
    'NOT',
    'NULL',
    'NULLS',
    'OR',
    'SELECT',
    'WHERE',
    'WITH',
]);
/** Valid SOQL keywords the sandbox does not implement, and the feature each one starts. */
const UNSUPPORTED_KEYWORDS = {
    WITH: 'WITH',
    GROUP: 'GROUP BY',
    HAVING: 'HAVING',
    FOR: 'FOR VIEW / FOR REFERENCE / FOR UPDATE',
    UPDATE: 'FOR UPDATE',
    USING: 'USING SCOPE',
    ALL: 'ALL ROWS',
    TYPEOF: 'TYPEOF',
    INCLUDES: 'INCLUDES',
    EXCLUDES: 'EXCLUDES',
};
/** Date literals such as TODAY, LAST_N_DAYS:3, THIS_FISCAL_QUARTER. */
const RELATIVE_DATE_LITERAL = /^(TODAY|YESTERDAY|TOMORROW|(LAST|NEXT|THIS)_\w+|N_\w+)$/i;
const DATETIME_PARTS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;
/** Longest SOQL statement Salesforce accepts (docs/salesforce.md#key-numbers). */
export const MAX_SOQL_LENGTH = 100_000;
export function parseSoql(soql) {
    if (soql.length > MAX_SOQL_LENGTH) {
        throw new SoqlError('MALFORMED_QUERY', 'SOQL statements cannot be longer than 100,000 characters.');
    }
    return new Parser(soql).parseQuery();
}
class Parser {
    soql;
    tokens;
    position = 0;
    constructor(soql) {
        this.soql = soql;
        this.tokens = tokenize(soql);
    }
    parseQuery() {
        this.expectKeyword('SELECT');
        const select = this.parseSelectClause();
        this.expectKeyword('FROM');
        const objectToken = this.next();
        // `Group` is a real object although GROUP is reserved.
        const objectName = objectToken.text.toUpperCase();
        if (objectToken.kind !== 'ident' || (RESERVED.has(objectName) && objectName !== 'GROUP')) {
            throw this.reject(objectToken);
        }
        const query = { select, from: { name: objectToken.text, offset: objectToken.offset }, orderBy: [] };
        const afterFrom = this.peek();
        if (afterFrom.kind === 'ident' && !this.isClauseStart(afterFrom)) {
            throw this.reject(afterFrom, UNSUPPORTED_KEYWORDS[afterFrom.text.toUpperCase()] ?? 'an object alias');
        }
        if (this.acceptKeyword('WHERE'))
            query.where = this.parseConditionExpression();
        if (this.acceptKeyword('ORDER')) {
            this.expectKeyword('BY');
            query.orderBy = this.parseOrderBy();
        }
        if (this.acceptKeyword('LIMIT'))
            query.limit = this.parseNonNegativeInteger();
        if (this.acceptKeyword('OFFSET')) {
            const offsetToken = this.peek();
            query.offset = this.parseNonNegativeInteger();
            if (query.offset > 2000) {
                throw soqlErrorAt('MALFORMED_QUERY', messages.offsetTooLarge(), this.soql, offsetToken.offset);
            }
        }
        const trailing = this.peek();
        if (trailing.kind !== 'eof')
            throw this.reject(trailing);
        return query;
    }
    isClauseStart(token) {
        return ['WHERE', 'ORDER', 'LIMIT', 'OFFSET'].includes(token.text.toUpperCase());
    }
    // SELECT list
    parseSelectClause() {
        if (isKeyword(this.peek(), 'COUNT') &&
            this.peek(1).text === '(' &&
            this.peek(2).text === ')' &&
            isKeyword(this.peek(3), 'FROM')) {
            this.position += 3;
            return { kind: 'count' };
        }
        const fields = [];
        for (;;) {
            fields.push(this.parseSelectItem());
            if (this.peek().text !== ',')
                break;
            this.position++;
        }
        return { kind: 'fields', fields };
    }
    parseSelectItem() {
        const token = this.peek();
        if (token.text === '(')
            throw this.reject(token, 'a relationship subquery');
        if (token.kind === 'ident' && this.peek(1).text === '(') {
            if (!isKeyword(token, 'COUNT')) {
                throw this.reject(token, `${token.text}() in the SELECT list (aggregate and other functions; only a bare COUNT() is supported)`);
            }
            throw this.reject(token, this.peek(2).text === ')' ? 'COUNT() together with fields' : 'COUNT(field) (aggregate queries)');
        }
        return this.parseFieldPath();
    }
    parseFieldPath() {
        const first = this.next();
        this.expectName(first);
        const segments = [first.text];
        let end = first.offset + first.text.length;
        while (this.peek().text === '.') {
            this.position++;
            const segment = this.next();
            this.expectName(segment);
            segments.push(segment.text);
            end = segment.offset + segment.text.length;
        }
        return { segments, text: this.soql.slice(first.offset, end), offset: first.offset };
    }
    expectName(token) {
        if (token.kind !== 'ident' || RESERVED.has(token.text.toUpperCase()))
            throw this.reject(token);
        if (token.text.toUpperCase() === 'TYPEOF')
            throw this.reject(token, 'TYPEOF');
    }
    // WHERE
    /**
     * A chain of terms joined by one kind of connective. SOQL has no precedence between AND and OR:
     * mixing them at one level without parentheses is a syntax error, as in Salesforce.
     */
    parseConditionExpression() {
        const first = this.parseConditionTerm();
        const connective = this.peek();
        const kind = isKeyword(connective, 'AND') ? 'and' : isKeyword(connective, 'OR') ? 'or' : undefined;
        if (kind === undefined)
            return first;
        const other = kind === 'and' ? 'OR' : 'AND';
        const operands = [first];
        while (this.acceptKeyword(kind.toUpperCase())) {
            operands.push(this.parseConditionTerm());
            const next = this.peek();
            if (isKeyword(next, other))
                throw this.reject(next);
        }
        return { kind, operands };
    }
    parseConditionTerm() {
        if (this.acceptKeyword('NOT'))
            return { kind: 'not', operand: this.parseConditionTerm() };
        if (this.peek().text === '(') {
            this.position++;
            if (isKeyword(this.peek(), 'SELECT'))
                throw this.reject(this.peek(), 'a subquery');
            const inner = this.parseConditionExpression();
            this.expectPunct(')');
            return inner;
        }
        return this.parseComparison();
    }
    parseComparison() {
        const fieldToken = this.peek();
        if (fieldToken.kind === 'ident' && this.peek(1).text === '(') {
            throw this.reject(fieldToken, `${fieldToken.text}() in WHERE (date and other functions)`);
        }
        const field = this.parseFieldPath();
        const operatorToken = this.next();
        const operatorOffset = operatorToken.offset;
        if (operatorToken.kind === 'operator') {
            const operator = (operatorToken.text === '<>' ? '!=' : operatorToken.text);
            return { kind: 'compare', field, operator, value: this.parseLiteral(), operatorOffset };
        }
        if (isKeyword(operatorToken, 'LIKE'))
            return { kind: 'like', field, pattern: this.parseLiteral(), operatorOffset };
        if (isKeyword(operatorToken, 'IN'))
            return { kind: 'in', field, negated: false, values: this.parseLiteralList(), operatorOffset };
        if (isKeyword(operatorToken, 'NOT') && isKeyword(this.peek(), 'IN')) {
            this.position++;
            return { kind: 'in', field, negated: true, values: this.parseLiteralList(), operatorOffset };
        }
        throw this.reject(operatorToken);
    }
    parseLiteralList() {
        this.expectPunct('(');
        if (isKeyword(this.peek(), 'SELECT'))
            throw this.reject(this.peek(), 'a semi-join subquery');
        const values = [this.parseLiteral()];
        while (this.peek().text === ',') {
            this.position++;
            values.push(this.parseLiteral());
        }
        this.expectPunct(')');
        return values;
    }
    parseLiteral() {
        const token = this.next();
        const { text, offset } = token;
        switch (token.kind) {
            case 'string':
                return { kind: 'string', value: token.value ?? '', raw: token.raw ?? '', text, offset };
            case 'number':
                return { kind: 'number', value: Number(text), text, offset };
            case 'datetime':
                return { kind: 'datetime', epochMs: this.datetimeToEpochMs(token), text, offset };
            case 'date':
                this.checkDate(token);
                return { kind: 'date', value: text, text, offset };
            case 'bind':
                throw this.reject(token, 'a bind variable');
            case 'ident': {
                const upper = text.toUpperCase();
                if (upper === 'TRUE' || upper === 'FALSE')
                    return { kind: 'boolean', value: upper === 'TRUE', text, offset };
                if (upper === 'NULL')
                    return { kind: 'null', text, offset };
                if (RELATIVE_DATE_LITERAL.test(text))
                    throw this.reject(token, `the date literal ${text}`);
                throw this.reject(token);
            }
            default:
                throw this.reject(token);
        }
    }
    datetimeToEpochMs(token) {
        const parts = DATETIME_PARTS.exec(token.text);
        if (parts === null)
            throw this.reject(token);
        const [year, month, day, hour, minute, second] = parts.slice(1, 7).map(Number);
        const millis = Number((parts[7] ?? '0').padEnd(3, '0'));
        if (!isCalendarDate(year, month, day) || hour > 23 || minute > 59 || second > 59) {
            throw this.invalidLiteral(token, 'datetime');
        }
        let epochMs = Date.UTC(year, month - 1, day, hour, minute, second, millis);
        if (parts[8] !== undefined) {
            const offsetHours = Number(parts[9]);
            const offsetMinutes = Number(parts[10]);
            if (offsetHours > 23 || offsetMinutes > 59)
                throw this.invalidLiteral(token, 'datetime');
            const sign = parts[8] === '+' ? 1 : -1;
            epochMs -= sign * (offsetHours * 60 + offsetMinutes) * 60_000;
        }
        return epochMs;
    }
    checkDate(token) {
        const [year, month, day] = token.text.split('-').map(Number);
        if (!isCalendarDate(year, month, day))
            throw this.invalidLiteral(token, 'date');
    }
    invalidLiteral(token, type) {
        return soqlErrorAt('MALFORMED_QUERY', `invalid ${type} literal: ${token.text}`, this.soql, token.offset);
    }
    // ORDER BY, LIMIT, OFFSET
    parseOrderBy() {
        const items = [];
        for (;;) {
            const fieldToken = this.peek();
            if (fieldToken.kind === 'ident' && this.peek(1).text === '(') {
                throw this.reject(fieldToken, `${fieldToken.text}() in ORDER BY`);
            }
            const field = this.parseFieldPath();
            let descending = false;
            if (this.acceptKeyword('DESC'))
                descending = true;
            else
                this.acceptKeyword('ASC');
            // Salesforce's default: nulls first when ascending, last when descending.
            let nullsFirst = !descending;
            if (this.acceptKeyword('NULLS')) {
                if (this.acceptKeyword('FIRST'))
                    nullsFirst = true;
                else if (this.acceptKeyword('LAST'))
                    nullsFirst = false;
                else
                    throw this.reject(this.peek());
            }
            items.push({ field, descending, nullsFirst });
            if (this.peek().text !== ',')
                return items;
            this.position++;
        }
    }
    parseNonNegativeInteger() {
        const token = this.next();
        if (token.kind !== 'number' || !/^\d+$/.test(token.text))
            throw this.reject(token);
        return Number(token.text);
    }
    // Token helpers
    peek(ahead = 0) {
        const index = Math.min(this.position + ahead, this.tokens.length - 1);
        return this.tokens[index];
    }
    next() {
        const token = this.peek();
        if (token.kind !== 'eof')
            this.position++;
        return token;
    }
    acceptKeyword(keyword) {
        if (!isKeyword(this.peek(), keyword))
            return false;
        this.position++;
        return true;
    }
    expectKeyword(keyword) {
        const token = this.next();
        if (!isKeyword(token, keyword))
            throw this.reject(token);
    }
    expectPunct(punct) {
        const token = this.next();
        if (token.kind !== 'punct' || token.text !== punct)
            throw this.reject(token);
    }
    /**
     * MALFORMED_QUERY at `token`: Salesforce's `unexpected token: 'X'`, plus the feature name when
     * the token starts valid SOQL the sandbox does not implement.
     */
    reject(token, feature) {
        const known = feature ?? (token.kind === 'ident' ? UNSUPPORTED_KEYWORDS[token.text.toUpperCase()] : undefined);
        const detail = known === undefined ? messages.unexpectedToken(token.text) : messages.unsupported(token.text, known);
        return soqlErrorAt('MALFORMED_QUERY', detail, this.soql, token.offset);
    }
}
function isKeyword(token, keyword) {
    return token.kind === 'ident' && token.text.toUpperCase() === keyword;
}
function isCalendarDate(year, month, day) {
    const date = new Date(Date.UTC(year, month - 1, day));
    return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
