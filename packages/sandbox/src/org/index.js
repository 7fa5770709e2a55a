/**
 * The simulated Salesforce org: start one with `startSalesforceOrg()`; the rest is for tests and
 * tools that drive it in-process.
 */
export { startSalesforceOrg, MAX_URI_BYTES, } from "./server.js";
export { DEFAULT_CONNECTED_APP, DEFAULT_INTEGRATION_USER, SECOND_ORG_ID, SECOND_ORG_USER, DEFAULT_ORG_ID, } from "./oauth.js";
export { startActivity, seededRandom, } from "./activity.js";
export { PubsubErrorCodes } from "./pubsub.js";
export { NEW_EXTERNAL_CLIENT_APP_POLICIES } from "./app-policies.js";
export { defaultObjects } from "./metadata.js";
