import { STRING_ESCAPES } from "./lexer.js";
export function comparisonKindOf(type) {
    switch (type) {
        case 'id':
        case 'reference':
            return 'id';
        case 'multipicklist':
            return 'multipicklist';
        case 'boolean':
            return 'boolean';
        case 'int':
        case 'double':
        case 'currency':
        case 'percent':
            return 'number';
        case 'date':
            return 'date';
        case 'datetime':
            return 'datetime';
        default:
            return 'text';
    }
}
export function normalize(kind, value) {
    if (value === null || value === undefined || value === '')
        return null;
    switch (kind) {
        case 'id':
            return String(value).slice(0, 15);
        case 'text':
            return String(value).toLowerCase();
        case 'multipicklist': {
            // Salesforce stores the selected values `;`-separated; equality ignores their order.
            const values = String(value)
                .split(';')
                .map((v) => v.trim().toLowerCase())
                .filter((v) => v !== '');
            return values.length === 0 ? null : values.sort().join(';');
        }
        case 'boolean':
            return value === true || value === 'true';
        case 'number': {
            const number = typeof value === 'number' ? value : Number(value);
            return Number.isNaN(number) ? null : number;
        }
        case 'date':
            return String(value).slice(0, 10);
        case 'datetime': {
            const epochMs = typeof value === 'number' ? value : Date.parse(String(value));
            return Number.isNaN(epochMs) ? null : epochMs;
        }
    }
}
/** Order of two non-null comparables of one kind: negative, zero or positive. */
export function compareComparables(a, b) {
    if (a === b)
        return 0;
    return a < b ? -1 : 1;
}
/**
 * A LIKE pattern as a case-insensitive RegExp. Built from the literal's raw text because `\%` and
 * `\_` (literal percent and underscore) decode to the same characters as the wildcards.
 */
export function likePatternToRegExp(raw) {
    let source = '^';
    for (let i = 0; i < raw.length; i++) {
        const ch = raw[i];
        if (ch === '\\') {
            source += escapeRegExp(STRING_ESCAPES[raw[i + 1] ?? ''] ?? '');
            i++;
        }
        else if (ch === '%') {
            source += '[\\s\\S]*';
        }
        else if (ch === '_') {
            source += '[\\s\\S]';
        }
        else {
            source += escapeRegExp(ch);
        }
    }
    return new RegExp(`${source}$`, 'i');
}
function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
/** A stored value as the REST API returns it (docs/salesforce.md#query-and-queryall). */
export function renderValue(value, type) {
    if (value === undefined)
        return null;
    if (type === 'datetime' && typeof value === 'string')
        return renderDatetime(value);
    return value;
}
/** `2024-05-20T20:49:32.000Z` → `2024-05-20T20:49:32.000+0000`: Salesforce puts no colon in the offset. */
export function renderDatetime(value) {
    const epochMs = Date.parse(value);
    if (Number.isNaN(epochMs))
        return value;
    return new Date(epochMs).toISOString().replace(/Z$/, '+0000');
}
