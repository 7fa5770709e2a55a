/** Salesforce record ids: 15 characters (case-sensitive) or 18 (with the case-safe suffix). */
export const SALESFORCE_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

export function isSalesforceId(value: unknown): value is string {
  return typeof value === 'string' && SALESFORCE_ID.test(value);
}
