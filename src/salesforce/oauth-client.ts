/**
 * The OAuth 2.0 web-server flow against Salesforce (docs/salesforce.md#oauth-20-web-server-flow):
 * authorize URL, code exchange, refresh, identity and revoke. Hand-written instead of jsforce's OAuth2
 * because jsforce drops the rotated refresh token and the `invalid_grant` name
 * (docs/salesforce.md#jsforce-oauth-and-auto-refresh), both of which we need.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { SalesforceOAuthError, SalesforceUnavailableError } from './errors.ts';

export const OAUTH_SCOPES = 'api refresh_token offline_access';
const REQUEST_TIMEOUT_MS = 30_000;

/** Token endpoint response (docs/salesforce.md#token-request-and-response): `issued_at` is a string of epoch ms; no `expires_in`. */
export const TokenResponseSchema = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  instance_url: z.url(),
  id: z.url(),
  token_type: z.string().optional(),
  issued_at: z.string().regex(/^\d+$/),
  signature: z.string().optional(),
  scope: z.string().optional(),
});
export type TokenResponse = z.infer<typeof TokenResponseSchema>;

const OAuthErrorSchema = z.object({ error: z.string(), error_description: z.string().optional() });

export const IdentitySchema = z
  .object({
    user_id: z.string(),
    organization_id: z.string(),
    username: z.string(),
    display_name: z.string().optional(),
  })
  .loose();
export type Identity = z.infer<typeof IdentitySchema>;

export interface OAuthClientSettings {
  loginUrl: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

/** PKCE S256 (docs/salesforce.md#authorization-request): a random verifier and base64url(SHA-256(verifier)), encoded once. */
export function createPkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export class SalesforceOAuthClient {
  constructor(
    private readonly settings: OAuthClientSettings,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  authorizeUrl(state: string, codeChallenge?: string): string {
    const url = new URL('/services/oauth2/authorize', this.settings.loginUrl);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', this.settings.clientId);
    url.searchParams.set('redirect_uri', this.settings.redirectUri);
    url.searchParams.set('scope', OAUTH_SCOPES);
    url.searchParams.set('state', state);
    if (codeChallenge) {
      url.searchParams.set('code_challenge', codeChallenge);
      url.searchParams.set('code_challenge_method', 'S256');
    }
    return url.toString();
  }

  exchangeCode(code: string, codeVerifier?: string): Promise<TokenResponse> {
    const form: Record<string, string> = {
      grant_type: 'authorization_code',
      code,
      client_id: this.settings.clientId,
      client_secret: this.settings.clientSecret,
      redirect_uri: this.settings.redirectUri,
    };
    if (codeVerifier) form.code_verifier = codeVerifier;
    return this.#token(form);
  }

  /** Refresh grant. A response with `refresh_token` means rotation is on: store the new one. */
  refresh(refreshToken: string, loginUrl = this.settings.loginUrl): Promise<TokenResponse> {
    return this.#token(
      {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: this.settings.clientId,
        client_secret: this.settings.clientSecret,
      },
      loginUrl,
    );
  }

  /** The identity URL (`id` of the token response) read with the new access token. */
  async identity(identityUrl: string, accessToken: string): Promise<Identity> {
    const response = await this.#fetch(identityUrl, {
      headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' },
    });
    if (!response.ok) throw new SalesforceUnavailableError(`identity URL answered HTTP ${response.status}`);
    return IdentitySchema.parse(await response.json());
  }

  /** Revoke a refresh token (and with it its access tokens, docs/salesforce.md#revoke). Unknown tokens count as revoked. */
  async revoke(token: string): Promise<void> {
    const response = await this.#fetch(new URL('/services/oauth2/revoke', this.settings.loginUrl).toString(), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    if (response.ok || response.status === 400) return;
    throw new SalesforceUnavailableError(`revoke answered HTTP ${response.status}`);
  }

  /**
   * `signature` = Base64 HMAC-SHA256(id + issued_at) keyed with the consumer secret
   * (docs/salesforce.md#token-request-and-response): proof the response came from the org that knows
   * our secret.
   */
  verifySignature(token: TokenResponse): boolean {
    if (!token.signature) return true;
    const expected = createHmac('sha256', this.settings.clientSecret)
      .update(token.id + token.issued_at)
      .digest();
    const actual = Buffer.from(token.signature, 'base64');
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  async #token(form: Record<string, string>, loginUrl = this.settings.loginUrl): Promise<TokenResponse> {
    const response = await this.#fetch(new URL('/services/oauth2/token', loginUrl).toString(), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
    });
    const body: unknown = await response.json().catch(() => undefined);
    if (!response.ok) {
      const parsed = OAuthErrorSchema.safeParse(body);
      if (parsed.success && response.status < 500) {
        throw new SalesforceOAuthError(parsed.data.error, parsed.data.error_description ?? '', response.status);
      }
      throw new SalesforceUnavailableError(`token endpoint answered HTTP ${response.status}`);
    }
    const token = TokenResponseSchema.safeParse(body);
    if (!token.success) throw new SalesforceUnavailableError('token endpoint answered with an unexpected body');
    if (!this.verifySignature(token.data)) {
      throw new SalesforceOAuthError(
        'invalid_signature',
        'the token response signature does not match the consumer secret',
        502,
      );
    }
    return token.data;
  }

  async #fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (error) {
      throw new SalesforceUnavailableError(
        `Salesforce is not reachable at ${new URL(url).origin}: ${(error as Error).message}`,
      );
    }
  }
}
