import { evaluatePlan } from "./evaluate.js";
import { parseSoql } from "./parser.js";
import { resolveQuery } from "./resolve.js";
export { SoqlError } from "./errors.js";
/**
 * Parse, check against metadata, and run one SOQL query.
 * `includeDeleted`: queryAll (soft-deleted rows too). `apiVersion`: `62.0`, used in `attributes.url`.
 */
export function executeSoql(soql, source, opts) {
    const query = parseSoql(soql);
    const plan = resolveQuery(query, source, soql);
    return evaluatePlan(plan, source, opts);
}
