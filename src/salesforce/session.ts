/**
 * What a Salesforce protocol client needs from whoever holds the integration's tokens (the token
 * service in `src/auth/`): the current session, and a refresh when Salesforce rejected its token.
 * Declared here so that the protocol clients depend on this shape, not on how tokens are stored.
 */

/** What callers need to make a Salesforce request. */
export interface SalesforceSession {
  integration: string;
  accessToken: string;
  instanceUrl: string;
  orgId: string;
  userId: string;
}

export interface SessionSource {
  /** The current session (throws `NotAuthorizedError` when the integration is not authorised). */
  session(integration: string): Promise<SalesforceSession>;
  /** A new session after Salesforce rejected `rejectedAccessToken` (refreshed once across processes). */
  refresh(integration: string, rejectedAccessToken: string): Promise<SalesforceSession>;
}
