/**
 * Contracts between the parts of the simulated Salesforce org.
 *
 * The org is split into modules that are written and tested separately:
 * - `metadata.ts` / `ids.ts` / `store.ts`   — objects, describe metadata, record storage, mutations
 * - `soql/`                                  — the SOQL subset parser and evaluator
 * - `change-events.ts` / `cometd.ts`         — CDC event log (replay ids, retention) and the Bayeux server
 * - `oauth.ts` / `rest.ts` / `control.ts`    — HTTP surfaces; `server.ts` assembles them
 *
 * Values inside the store are plain JSON values. Datetimes are ISO-8601 UTC strings with milliseconds
 * and `Z` (`2024-05-20T20:49:32.000Z`), dates are `YYYY-MM-DD`. The REST layer renders datetimes the
 * way Salesforce does (`2024-05-20T20:49:32.000+0000`, docs/salesforce.md#query-and-queryall); CDC
 * events carry the `Z` form (docs/salesforce.md#change-event-message).
 */
export {};
