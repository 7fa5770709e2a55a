/** Salesforce failures, typed by what the caller should do about them. */
import { BridgeError } from '../errors.ts';

/**
 * The OAuth token endpoint said no (`{error, error_description}`, docs/salesforce.md#oauth-errors).
 * `invalid_grant` on a refresh is terminal: the integration needs re-authorisation.
 */
export class SalesforceOAuthError extends BridgeError {
  readonly code = 'BRIDGE_ERR_SALESFORCE_OAUTH';

  constructor(
    readonly error: string,
    readonly description: string,
    readonly status: number,
  ) {
    super(`Salesforce OAuth error ${error}: ${description}`, hintFor(error));
  }

  get isInvalidGrant(): boolean {
    return this.error === 'invalid_grant';
  }
}

function hintFor(error: string): string {
  switch (error) {
    case 'invalid_grant':
      return 'the refresh token was revoked, expired or rotated away: an admin must authorise the integration again';
    case 'invalid_client_id':
      return 'check salesforce.clientId (the consumer key of the External Client App); new apps take a few minutes to propagate';
    case 'invalid_client':
      return 'check salesforce.clientSecret (the consumer secret of the External Client App)';
    case 'redirect_uri_mismatch':
      return 'the callback URL of the app must be exactly <publicUrl>/external/salesforce/oauth2/callback';
    default:
      return 'see the Salesforce OAuth error table in the docs';
  }
}

/** Salesforce could not be reached or answered 5xx: retry with backoff. */
export class SalesforceUnavailableError extends BridgeError {
  readonly code = 'BRIDGE_ERR_SALESFORCE_UNAVAILABLE';
}

/** The integration has no usable tokens (never authorised, disconnected, or needs re-authorisation). */
export class NotAuthorizedError extends BridgeError {
  readonly code = 'BRIDGE_ERR_NOT_AUTHORIZED';

  constructor(
    readonly integration: string,
    readonly state: 'unauthorized' | 'needs_reauth',
  ) {
    super(
      state === 'needs_reauth'
        ? `integration ${integration} needs re-authorisation`
        : `integration ${integration} is not authorised`,
      `open /integrations/${integration}/oauth2/authenticate in a browser`,
    );
  }
}

/**
 * A Bulk API 2.0 query job ended `Failed` or `Aborted` (docs/salesforce.md#bulk-job-states-and-results).
 * Nothing of it was read: the backfill forgets the job, so that the next run creates a new one.
 */
export class BulkJobFailedError extends BridgeError {
  readonly code = 'BRIDGE_ERR_SALESFORCE_BULK_JOB';

  constructor(
    readonly jobId: string,
    readonly state: 'Failed' | 'Aborted',
    readonly errorMessage: string | undefined,
  ) {
    super(
      `Bulk API 2.0 query job ${jobId} ${state === 'Failed' ? 'failed' : 'was aborted'}${errorMessage ? `: ${errorMessage}` : ''}`,
      'run the backfill again: it creates a new job and skips nothing; if it keeps failing, narrow the object with `where` or lower backfill.bulkAbove to use REST',
    );
  }
}
