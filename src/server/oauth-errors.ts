/**
 * What each OAuth error Salesforce documents means to the admin who meets it, and the page that says
 * so. The codes, descriptions and their causes are in docs/salesforce-oauth.md; each explanation
 * names a section of the README's "Configure a real org" walkthrough (its anchor) where the fix is
 * shown step by step.
 *
 * The same explanations serve three places: the error on the redirect back from Salesforce, the
 * error from the token endpoint during the code exchange, and a refresh refused at run time
 * (status page and admin API), where the likely cause differs (a refresh-token policy, not a typo).
 */
import { html, type SafeHtml } from './html.ts';

/**
 * The published README (package.json `homepage`); its "Configure a real org" headings are the
 * anchors below. Pages name the section in words too, so the way to the fix survives a README that moved.
 */
export const README_URL = 'https://github.com/sf-cm-bridge/sf-cm-bridge/blob/main/README.md';

/** README headings (GitHub anchors) the explanations point to. */
export const README_ANCHORS = {
  app: 'external-client-app',
  policies: 'external-client-app-policies',
  keyAndSecret: 'consumer-key-and-secret',
  user: 'integration-user',
  errors: 'authorisation-errors',
} as const;
export type ReadmeAnchor = (typeof README_ANCHORS)[keyof typeof README_ANCHORS];

/** The README heading behind each anchor. */
const README_SECTIONS: Record<ReadmeAnchor, string> = {
  'external-client-app': 'External Client App',
  'external-client-app-policies': 'External Client App policies',
  'consumer-key-and-secret': 'Consumer key and secret',
  'integration-user': 'Integration user',
  'authorisation-errors': 'Authorisation errors',
};

/** Where the error came from: the redirect back, the code exchange, or a refresh at run time. */
export type OAuthErrorStage = 'redirect' | 'token' | 'refresh';

/** Facts about the integration that make a fix concrete. */
export interface OAuthErrorContext {
  stage: OAuthErrorStage;
  /** The callback URL the bridge sends: the app's Callback URL must be exactly this. */
  redirectUri: string;
  /** `salesforce.loginUrl` of the integration. */
  loginUrl: string;
}

export interface OAuthErrorExplanation {
  /** Headline of the page. */
  title: string;
  /** What most likely happened, in the admin's words. */
  cause: string;
  /** What to change, and where. */
  fix: string;
  /** README section with the step-by-step fix. */
  anchor: ReadmeAnchor;
  /** HTTP status of the page: 403 when access was refused, 400 otherwise. */
  status: 400 | 403;
}

type Explain = (context: OAuthErrorContext, description: string) => OAuthErrorExplanation;

const POLICIES = 'Setup → External Client App Manager → your app → Policies';
const OAUTH_SETTINGS = 'Setup → External Client App Manager → your app → Settings → OAuth Settings';
const REAUTHORISE = 'then authorise the integration again ("Re-authorise in Salesforce" on the status page)';

const refreshTokenEnded: Explain = () => ({
  title: 'Salesforce ended the refresh token',
  cause:
    "Salesforce no longer accepts the integration's refresh token. Most often the app's refresh-token policy ended it " +
    '(expire after a time, expire if unused, or expire immediately); it also happens when someone revoked the access, ' +
    'when the user authorised the app more than 5 times (the oldest approval is dropped), or when refresh-token rotation ' +
    'is on and an old token was used.',
  fix:
    `In ${POLICIES} → OAuth Policies, set the refresh token policy to "Refresh token is valid until revoked", ${REAUTHORISE}. ` +
    'The integration resumes from where it stopped.',
  anchor: README_ANCHORS.policies,
  status: 400,
});

const ipRestricted: Explain = (context) => ({
  title: 'Salesforce refused the bridge’s network address',
  cause:
    "The app's IP policy only accepts requests from the org's trusted IP ranges, and the bridge's server is outside them.",
  fix: `In ${POLICIES} → OAuth Policies, set IP Relaxation to "Relax IP restrictions" (or add the bridge's outgoing IP address to the trusted ranges), ${context.stage === 'refresh' ? REAUTHORISE : 'then try again'}.`,
  anchor: README_ANCHORS.policies,
  status: 403,
});

const notApproved: Explain = (context) => ({
  title: 'The user has not approved this app',
  cause:
    'The app lets users authorise themselves, and the user Salesforce checked has not approved it (or the approval was revoked).',
  fix:
    'Sign in as the integration user and choose Allow; or, better for an integration, set Permitted Users to "Admin approved users are pre-authorized" ' +
    `and add the integration user's permission set in ${POLICIES}, ${context.stage === 'refresh' ? REAUTHORISE : 'then try again'}.`,
  anchor: README_ANCHORS.policies,
  status: 403,
});

const tryAgain =
  (title: string, cause: string): Explain =>
  () => ({
    title,
    cause,
    fix: 'Start the authorisation again with the button below and complete it within a few minutes.',
    anchor: README_ANCHORS.errors,
    status: 400,
  });

const INVALID_GRANT: Array<[RegExp, Explain]> = [
  [/expired access\/refresh token/i, refreshTokenEnded],
  [/ip restricted/i, ipRestricted],
  [/hasn.?t approved this consumer/i, notApproved],
  [
    /expired authorization code/i,
    tryAgain(
      'The sign-in took too long',
      'The one-time code from Salesforce expired or was already used before the bridge could exchange it.',
    ),
  ],
  [
    /code verifier/i,
    tryAgain(
      'The sign-in could not be verified',
      'The PKCE proof the bridge sent does not match the sign-in it started, usually because two sign-ins ran at once.',
    ),
  ],
  [
    /authentication failure/i,
    tryAgain(
      'Salesforce did not accept the sign-in',
      'The one-time code Salesforce sent back was not accepted at the token endpoint (wrong, reused or from another app).',
    ),
  ],
];

const EXPLANATIONS: Record<string, Explain> = {
  access_denied: () => ({
    title: 'Access was not granted',
    cause: 'The Salesforce user chose Deny on the "Allow access?" page, or Salesforce refused the user.',
    fix: 'Open the link again, sign in as the integration user and choose Allow. The user needs API access and Read and View All on the synced objects.',
    anchor: README_ANCHORS.user,
    status: 403,
  }),
  OAUTH_APP_ACCESS_DENIED: () => ({
    title: 'This user is not pre-authorised for the app',
    cause:
      'The External Client App only admits admin-approved users (Permitted Users: "Admin approved users are pre-authorized", ' +
      "the default for new apps), and neither the integration user's profile nor one of their permission sets is added to the app's policies.",
    fix: `In ${POLICIES} → OAuth Policies → Select Permission Sets (or Profiles), add the integration user's permission set, save, then try again.`,
    anchor: README_ANCHORS.policies,
    status: 403,
  }),
  invalid_client_id: (context) => ({
    title: 'Salesforce does not know this app',
    cause:
      `The org at ${context.loginUrl} does not recognise salesforce.clientId: the consumer key is mistyped or belongs to another org, ` +
      'or the app was created minutes ago and has not propagated yet (that can take several minutes).',
    fix:
      `Compare salesforce.clientId with the app's Consumer Key (${OAUTH_SETTINGS} → Consumer Key and Secret) and check that salesforce.loginUrl is the org's login host. ` +
      'For a new app, wait a few minutes, then try again.',
    anchor: README_ANCHORS.keyAndSecret,
    status: 400,
  }),
  invalid_client: () => ({
    title: 'Salesforce refused the app’s secret',
    cause:
      'salesforce.clientSecret does not match the consumer secret of the app whose consumer key is salesforce.clientId.',
    fix: `Copy the Consumer Secret again (${OAUTH_SETTINGS} → Consumer Key and Secret) into the secret the config reads, restart the bridge, then try again.`,
    anchor: README_ANCHORS.keyAndSecret,
    status: 400,
  }),
  redirect_uri_mismatch: (context) => ({
    title: 'The callback URL does not match the app',
    cause: `The app's Callback URL is not exactly ${context.redirectUri}, the address the bridge sends (it is built from server.publicUrl).`,
    fix: `In ${OAUTH_SETTINGS}, set the Callback URL to ${context.redirectUri}, byte for byte (scheme, host, port, no trailing slash); or correct server.publicUrl. Then try again.`,
    anchor: README_ANCHORS.app,
    status: 400,
  }),
  invalid_request: (_context, description) =>
    /code.?challenge/i.test(description)
      ? {
          title: 'The app requires PKCE',
          cause:
            'The app has "Require Proof Key for Code Exchange (PKCE)" on (the default for new External Client Apps), and this integration is configured with salesforce.pkce: false.',
          fix: "Set salesforce.pkce: true for this integration (recommended) and restart the bridge, or turn the PKCE requirement off in the app's OAuth settings. Then try again.",
          anchor: README_ANCHORS.app,
          status: 400,
        }
      : /code.?verifier/i.test(description)
        ? tryAgain(
            'The sign-in could not be verified',
            'The PKCE proof the bridge sent does not match the sign-in it started.',
          )(_context, description)
        : {
            title: 'Salesforce refused the request',
            cause: 'Salesforce found the request malformed.',
            fix: 'Try again. If it happens again, report it with the description below: it is a bug in the bridge.',
            anchor: README_ANCHORS.errors,
            status: 400,
          },
  invalid_scope: () => ({
    title: 'The app does not offer the scopes the bridge needs',
    cause:
      'The bridge asks for "api refresh_token offline_access", and the app\'s Selected OAuth Scopes lack one of them.',
    fix: `In ${OAUTH_SETTINGS}, add "Manage user data via APIs (api)" and "Perform requests at any time (refresh_token, offline_access)", save, then try again.`,
    anchor: README_ANCHORS.app,
    status: 400,
  }),
  missing_refresh_token: () => ({
    title: 'Salesforce sent no refresh token',
    cause:
      'Without a refresh token the bridge would stop when the session ends; the app does not grant the "refresh_token, offline_access" scope.',
    fix: `In ${OAUTH_SETTINGS}, add "Perform requests at any time (refresh_token, offline_access)", save, then try again.`,
    anchor: README_ANCHORS.app,
    status: 400,
  }),
  unsupported_response_type: () => ({
    title: 'Salesforce does not offer the web-server flow here',
    cause: 'Salesforce refused the authorization-code (web-server) flow for this app.',
    fix: `Check that OAuth is enabled for the app (${OAUTH_SETTINGS}) and that salesforce.loginUrl is the org's login host, then try again.`,
    anchor: README_ANCHORS.app,
    status: 400,
  }),
  unsupported_grant_type: () => ({
    title: 'Salesforce does not offer this grant',
    cause: 'The token endpoint refused the grant type the bridge used.',
    fix: `Check that OAuth is enabled for the app (${OAUTH_SETTINGS}), then try again.`,
    anchor: README_ANCHORS.app,
    status: 400,
  }),
  inactive_user: () => ({
    title: 'The Salesforce user is inactive',
    cause: 'The user who signed in is deactivated or frozen.',
    fix: 'Activate the integration user (Setup → Users), or sign in as an active one, then try again.',
    anchor: README_ANCHORS.user,
    status: 403,
  }),
  inactive_org: () => ({
    title: 'The Salesforce org is inactive',
    cause: 'The org is locked, expired or otherwise not active.',
    fix: 'Use an active org (check salesforce.loginUrl), or ask Salesforce to reactivate it, then try again.',
    anchor: README_ANCHORS.errors,
    status: 403,
  }),
  rate_limit_exceeded: () => ({
    title: 'Too many sign-in attempts',
    cause: 'Salesforce limits how often a user or app may request tokens, and that limit was reached.',
    fix: 'Wait a few minutes, then try again.',
    anchor: README_ANCHORS.errors,
    status: 400,
  }),
  invalid_signature: () => ({
    title: 'The token response is not signed with this app’s secret',
    cause:
      "The token response's signature does not match salesforce.clientSecret: the secret belongs to another app, or something between the bridge and Salesforce altered the answer.",
    fix: `Copy the Consumer Secret of this app again (${OAUTH_SETTINGS} → Consumer Key and Secret), restart the bridge, then try again.`,
    anchor: README_ANCHORS.keyAndSecret,
    status: 400,
  }),
};
// The docs show both spellings of the denial on the redirect.
EXPLANATIONS['access-denied'] = EXPLANATIONS.access_denied as Explain;

const unknownError: Explain = () => ({
  title: 'Salesforce reported an error',
  cause: 'Salesforce answered with an error this bridge has no explanation for.',
  fix: 'Read the code and description below, check the app against the README walkthrough, then try again.',
  anchor: README_ANCHORS.errors,
  status: 400,
});

const genericInvalidGrant: Explain = (context) =>
  context.stage === 'refresh'
    ? refreshTokenEnded(context, '')
    : tryAgain('Salesforce did not accept the sign-in', 'The token endpoint refused the grant.')(context, '');

/** The explanation for `error` / `error_description` as Salesforce sent them. */
export function explainOAuthError(
  error: string,
  description: string,
  context: OAuthErrorContext,
): OAuthErrorExplanation {
  if (error === 'invalid_grant') {
    const match = INVALID_GRANT.find(([pattern]) => pattern.test(description));
    return (match?.[1] ?? genericInvalidGrant)(context, description);
  }
  return (Object.hasOwn(EXPLANATIONS, error) ? (EXPLANATIONS[error] as Explain) : unknownError)(context, description);
}

export function readmeLink(anchor: ReadmeAnchor): string {
  return `${README_URL}#${anchor}`;
}

export interface OAuthErrorPageInput {
  error: string;
  description: string;
  /** `project/name` */
  integration: string;
  /** Where "Try again" leads: the integration's authenticate path. */
  retryHref: string;
  context: OAuthErrorContext;
}

/** Title, HTTP status and body of the error page; every value from Salesforce is escaped. */
export function renderOAuthErrorPage(input: OAuthErrorPageInput): { status: number; title: string; body: SafeHtml } {
  const explanation = explainOAuthError(input.error, input.description, input.context);
  const where =
    input.context.stage === 'redirect' ? 'on the way back from sign-in' : 'when the bridge exchanged the sign-in code';
  return {
    status: explanation.status,
    title: explanation.title,
    body: html`<p><strong>Why:</strong> ${explanation.cause}</p>
      <p><strong>What to do:</strong> ${explanation.fix}</p>
      <dl>
        <dt>Integration</dt><dd><code>${input.integration}</code></dd>
        <dt>Salesforce error</dt><dd><code>${input.error}</code> (${where})</dd>
        <dt>Description</dt><dd>${input.description ? html`<em>${input.description}</em>` : '—'}</dd>
      </dl>
      <p>Nothing was stored for <code>${input.integration}</code>. Step by step:
        <a href="${readmeLink(explanation.anchor)}">README → Configure a real org → ${README_SECTIONS[explanation.anchor]}</a>.</p>
      <p><a class="button" href="${input.retryHref}">Try again</a></p>`,
  };
}
