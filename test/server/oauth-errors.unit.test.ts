import { describe, expect, it } from 'vitest';
import {
  explainOAuthError,
  README_ANCHORS,
  renderOAuthErrorPage,
  type OAuthErrorContext,
} from '../../src/server/oauth-errors.ts';

const context: OAuthErrorContext = {
  stage: 'redirect',
  redirectUri: 'https://bridge.example.com/external/salesforce/oauth2/callback',
  loginUrl: 'https://login.salesforce.com',
};

// Every error Salesforce documents for the web-server and refresh flows (docs/salesforce-oauth.md),
// with the headline the admin sees, a word of the cause and the README section of the fix.
const TABLE: Array<[error: string, description: string, title: RegExp, cause: RegExp, anchor: string, status: number]> =
  [
    ['access_denied', 'end-user denied authorization', /Access was not granted/, /Deny/, README_ANCHORS.user, 403],
    ['access-denied', 'end-user denied authorization', /Access was not granted/, /Deny/, README_ANCHORS.user, 403],
    [
      'OAUTH_APP_ACCESS_DENIED',
      'user is not admin approved to access this app',
      /not pre-authorised/,
      /permission sets/,
      README_ANCHORS.policies,
      403,
    ],
    [
      'invalid_client_id',
      'client identifier invalid',
      /does not know this app/,
      /propagated/,
      README_ANCHORS.keyAndSecret,
      400,
    ],
    ['invalid_client', 'invalid client credentials', /secret/, /clientSecret/, README_ANCHORS.keyAndSecret, 400],
    [
      'redirect_uri_mismatch',
      'redirect_uri must match configuration',
      /callback URL/,
      /bridge\.example\.com\/external\/salesforce\/oauth2\/callback/,
      README_ANCHORS.app,
      400,
    ],
    [
      'invalid_request',
      'missing required code challenge',
      /requires PKCE/,
      /salesforce\.pkce: false/,
      README_ANCHORS.app,
      400,
    ],
    ['invalid_request', 'invalid code verifier', /could not be verified/, /PKCE proof/, README_ANCHORS.errors, 400],
    ['invalid_request', 'something else', /refused the request/, /malformed/, README_ANCHORS.errors, 400],
    [
      'invalid_grant',
      'expired access/refresh token',
      /ended the refresh token/,
      /refresh-token policy/,
      README_ANCHORS.policies,
      400,
    ],
    [
      'invalid_grant',
      'authentication failure',
      /did not accept the sign-in/,
      /one-time code/,
      README_ANCHORS.errors,
      400,
    ],
    ['invalid_grant', 'expired authorization code', /took too long/, /expired/, README_ANCHORS.errors, 400],
    ['invalid_grant', 'ip restricted', /network address/, /trusted IP ranges/, README_ANCHORS.policies, 403],
    [
      'invalid_grant',
      "user hasn't approved this consumer",
      /not approved this app/,
      /authorise themselves/,
      README_ANCHORS.policies,
      403,
    ],
    ['invalid_grant', 'invalid code verifier', /could not be verified/, /PKCE proof/, README_ANCHORS.errors, 400],
    [
      'invalid_scope',
      'the requested scope is not allowed',
      /scopes/,
      /refresh_token offline_access/,
      README_ANCHORS.app,
      400,
    ],
    [
      'unsupported_response_type',
      'response type not supported',
      /web-server flow/,
      /authorization-code/,
      README_ANCHORS.app,
      400,
    ],
    ['unsupported_grant_type', 'grant type not supported', /grant/, /grant type/, README_ANCHORS.app, 400],
    ['inactive_user', '', /user is inactive/, /deactivated or frozen/, README_ANCHORS.user, 403],
    ['inactive_org', '', /org is inactive/, /not active/, README_ANCHORS.errors, 403],
    ['rate_limit_exceeded', '', /Too many/, /limit/, README_ANCHORS.errors, 400],
    ['missing_refresh_token', '', /no refresh token/, /refresh_token, offline_access/, README_ANCHORS.app, 400],
    ['invalid_signature', '', /not signed/, /signature/, README_ANCHORS.keyAndSecret, 400],
    ['something_new', 'who knows', /reported an error/, /no explanation/, README_ANCHORS.errors, 400],
  ];

describe('OAuth error explanations', () => {
  it.each(TABLE)('%s (%s)', (error, description, title, cause, anchor, status) => {
    const explanation = explainOAuthError(error, description, context);
    expect(explanation.title).toMatch(title);
    expect(explanation.cause).toMatch(cause);
    expect(explanation.fix.length).toBeGreaterThan(20);
    expect(explanation.anchor).toBe(anchor);
    expect(explanation.status).toBe(status);
  });

  it('a refused refresh points at the refresh-token policy and re-authorisation, whatever the description', () => {
    for (const description of ['expired access/refresh token', 'something Salesforce may say one day']) {
      const explanation = explainOAuthError('invalid_grant', description, { ...context, stage: 'refresh' });
      expect(explanation.fix).toContain('Refresh token is valid until revoked');
      expect(explanation.fix).toContain('authorise the integration again');
    }
  });

  it('an error code that is an Object.prototype name is not mistaken for a known one', () => {
    expect(explainOAuthError('constructor', '', context).title).toBe('Salesforce reported an error');
  });

  it('the page escapes what Salesforce sent and carries the integration, the README link and "Try again"', () => {
    const page = renderOAuthErrorPage({
      error: '<script>alert(1)</script>',
      description: 'x" onmouseover="y',
      integration: 'acme/emails',
      retryHref: '/integrations/acme/emails/oauth2/authenticate',
      context,
    });
    const body = page.body.value;
    expect(body).not.toContain('<script>');
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body).toContain('x&quot; onmouseover=&quot;y');
    expect(body).toContain('<code>acme/emails</code>');
    expect(body).toContain('#authorisation-errors"');
    expect(body).toContain('href="/integrations/acme/emails/oauth2/authenticate">Try again</a>');
  });
});
