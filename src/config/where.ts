/**
 * Is a `where` one well-formed SOQL condition? The bridge wraps it as `… AND (<where>)` in its own
 * queries (docs/security.md#secrets), so a condition must not close that parenthesis, open a
 * string it never closes, or add clauses of its own (`LIMIT`, `ORDER BY`…): any of those would
 * change what the bridge's query selects (e.g. `Id != null) OR (Name LIKE '%'`).
 */

/** Clause keywords that end a WHERE condition in SOQL: allowed inside string literals only. */
const CLAUSE_WORDS =
  /\b(?:ORDER\s+BY|GROUP\s+BY|HAVING|LIMIT|OFFSET|FOR\s+(?:VIEW|REFERENCE|UPDATE)|WITH|UPDATE\s+(?:TRACKING|VIEWSTAT)|SELECT|FROM)\b/i;

/** What is wrong with the condition, or undefined when it is one well-formed condition. */
export function whereProblem(condition: string): string | undefined {
  let depth = 0;
  let outside = '';
  for (let i = 0; i < condition.length; i++) {
    const char = condition.charAt(i);
    if (char === "'") {
      const end = closingQuote(condition, i + 1);
      if (end === undefined) return "has a string literal that is never closed (a ' without its closing ')";
      outside += " '' ";
      i = end;
      continue;
    }
    if (char === '(') depth++;
    if (char === ')') {
      depth--;
      if (depth < 0)
        return "closes a parenthesis it never opened: a where is one condition and cannot escape the bridge's own (…)";
    }
    if (char === ';') return 'contains ";": a where is one condition';
    outside += char;
  }
  if (depth > 0) return 'opens a parenthesis it never closes';
  const clause = CLAUSE_WORDS.exec(outside);
  if (clause) return `contains "${clause[0]}": a where is one condition, without clauses of its own`;
  if (outside.trim() === '' || /^\s*(?:AND|OR)\b|\b(?:AND|OR|NOT)\s*$/i.test(outside))
    return 'is not a complete condition';
  return undefined;
}

/** Index of the quote that closes a literal starting at `from` (backslash escapes), or undefined. */
function closingQuote(text: string, from: number): number | undefined {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === "'") return i;
  }
  return undefined;
}
