/**
 * `check --online` before anyone authorises: send the integration's authorize request to the login
 * host, without following redirects, and read what Salesforce answers (docs/salesforce-oauth.md,
 * "Checking an app before authorising"). The login page (or a redirect towards it) means the host
 * answers, the consumer key is known and the callback URL matches; an unknown key or callback is
 * answered with `invalid_client_id` / `redirect_uri_mismatch`, and other refusals come back as an
 * `error` on the redirect to the callback URL. Nothing is stored and no code is exchanged.
 */
import type { IntegrationConfig } from '../config/index.ts';
import { createPkcePair, SalesforceOAuthClient } from '../salesforce/oauth-client.ts';
import { redirectUri } from '../config/index.ts';
import { explainOAuthError, readmeLink } from '../server/oauth-errors.ts';

const PROBE_TIMEOUT_MS = 15_000;
/** Errors Salesforce shows on its own page (it cannot trust the redirect target yet). */
const PAGE_ERRORS: Record<string, string> = {
  invalid_client_id: 'client identifier invalid',
  redirect_uri_mismatch: 'redirect_uri must match configuration',
};

export type ProbeResult = { ok: true; line: string } | { ok: false; message: string };

export async function probeAuthorization(
  integration: IntegrationConfig,
  publicUrl: string,
  fetchImpl: typeof fetch = fetch,
): Promise<ProbeResult> {
  const { loginUrl, clientId, clientSecret, pkce } = integration.salesforce;
  const callback = redirectUri(publicUrl);
  const client = new SalesforceOAuthClient({ loginUrl, clientId, clientSecret, redirectUri: callback });
  // A state no pending authorisation has: should anything come back to the bridge, it is refused there.
  const url = client.authorizeUrl('check-online-probe', pkce ? createPkcePair().challenge : undefined);

  let response: Response;
  try {
    response = await fetchImpl(url, { redirect: 'manual', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  } catch (error) {
    return {
      ok: false,
      message: `the login host ${loginUrl} does not answer (${(error as Error).message}): check salesforce.loginUrl and that this machine can reach it`,
    };
  }
  if (response.status >= 500)
    return { ok: false, message: `the login host ${loginUrl} answered HTTP ${response.status}: try again later` };

  const location = response.headers.get('location');
  const redirected = location ? new URL(location, loginUrl) : undefined;
  const redirectedError = redirected?.searchParams.get('error');
  const body = await response.text().catch(() => '');
  const shown = Object.keys(PAGE_ERRORS).find((code) => body.includes(code) || location?.includes(code));
  const error = redirectedError ?? shown;
  if (!error)
    return { ok: true, line: `salesforce  ${loginUrl}: answers; app ${clientId} is known and accepts ${callback}` };

  const description = redirected?.searchParams.get('error_description') ?? PAGE_ERRORS[error] ?? '';
  const explanation = explainOAuthError(error, description, { stage: 'redirect', redirectUri: callback, loginUrl });
  return {
    ok: false,
    message: `${explanation.title} (Salesforce answered ${error}: ${description}). ${explanation.cause} Fix: ${explanation.fix} See ${readmeLink(explanation.anchor)}`,
  };
}
