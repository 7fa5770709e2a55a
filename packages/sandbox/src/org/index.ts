/**
 * The simulated Salesforce org: start one with `startSalesforceOrg()`; the rest is for tests and
 * tools that drive it in-process.
 */
export {
  startSalesforceOrg,
  MAX_URI_BYTES,
  type SalesforceOrgOptions,
  type SimulatedSalesforceOrg,
  type SalesforceOrgCounters,
} from './server.ts';
export {
  DEFAULT_CONNECTED_APP,
  DEFAULT_INTEGRATION_USER,
  SECOND_ORG_ID,
  SECOND_ORG_USER,
  DEFAULT_ORG_ID,
  type ConnectedAppConfig,
  type OrgUser,
  type OAuthControl,
  type OAuthCounters,
} from './oauth.ts';
export type { RestControl, RestCounters, RestFault } from './rest.ts';
export type { BulkQueryControl, BulkResultRead, BulkJobState } from './bulk.ts';
export {
  startActivity,
  seededRandom,
  type ActivityOptions,
  type ActivityGenerator,
  type ActivityKind,
  type ActivityResult,
} from './activity.ts';
export type { StreamingControl, StreamingCounters } from './cometd.ts';
export { PubsubErrorCodes, type PubsubControl, type PubsubCorruption, type PubsubCounters } from './pubsub.ts';
export { NEW_EXTERNAL_CLIENT_APP_POLICIES, type AppPolicies } from './app-policies.ts';
export { defaultObjects } from './metadata.ts';
export type { ChangeEventPayload } from './contracts.ts';
export {
  startSalesforceOrgFleet,
  fleetOrgIdentity,
  type FleetOrgIdentity,
  type SalesforceOrgFleetOptions,
  type SimulatedSalesforceOrgFleet,
} from './fleet.ts';
