/**
 * External Client App policies of the simulated org (docs/salesforce-oauth.md, "External Client
 * Apps"): who may authorise, whether PKCE is required, how long a refresh token lives, and how long a
 * new app takes to propagate. Pure checks; the OAuth service calls them at the few points where
 * Salesforce applies each policy.
 *
 * Defaults keep the sandbox's historical behaviour (everyone admitted, PKCE optional, refresh tokens
 * valid until revoked, no propagation delay); a test or the Control API closes them like a new app.
 */
import { z } from 'zod';
export const RefreshTokenPolicySchema = z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('valid_until_revoked') }).strict(),
    /** The token dies this long after it was issued. */
    z.object({ kind: z.literal('expire_after'), ms: z.number().int().positive() }).strict(),
    /** The token dies when it has not been used for this long (sliding). */
    z.object({ kind: z.literal('expire_if_unused'), ms: z.number().int().positive() }).strict(),
    z.object({ kind: z.literal('expire_immediately') }).strict(),
]);
export const AppPoliciesSchema = z
    .object({
    /** `all_users`: users authorise themselves. `admin_approved`: only pre-authorised users (new apps' default). */
    permittedUsers: z.enum(['all_users', 'admin_approved']).optional(),
    /** Usernames whose profile or permission set is added to the app's policies. */
    preAuthorisedUsers: z.array(z.string()).optional(),
    /** "Require Proof Key for Code Exchange (PKCE)": an authorize request without `code_challenge` fails. */
    pkceRequired: z.boolean().optional(),
    refreshTokenPolicy: RefreshTokenPolicySchema.optional(),
})
    .strict();
/** The policies of an External Client App as Salesforce creates it: closed, PKCE on. */
export const NEW_EXTERNAL_CLIENT_APP_POLICIES = {
    permittedUsers: 'admin_approved',
    preAuthorisedUsers: [],
    pkceRequired: true,
    refreshTokenPolicy: { kind: 'valid_until_revoked' },
};
/** Admin-approved apps admit only pre-authorised users; the exact strings are Salesforce's. */
export function refuseUnapprovedUser(policies, username) {
    if (policies?.permittedUsers !== 'admin_approved')
        return undefined;
    if (policies.preAuthorisedUsers?.includes(username))
        return undefined;
    return { error: 'OAUTH_APP_ACCESS_DENIED', description: 'user is not admin approved to access this app' };
}
/**
 * A PKCE-requiring app refuses an authorize request without a challenge. Salesforce's docs name the
 * requirement but not the wire strings; the sandbox answers `invalid_request` on the redirect, like
 * every other malformed-challenge case (docs/salesforce-oauth.md).
 */
export function refuseMissingChallenge(policies, codeChallenge) {
    if (!policies?.pkceRequired || codeChallenge !== undefined)
        return undefined;
    return { error: 'invalid_request', description: 'missing required code challenge' };
}
/** Whether the app's refresh-token policy has ended a token issued at `issuedAt` and last used at `lastUsedAt`. */
export function refreshTokenExpired(policies, token, now) {
    const policy = policies?.refreshTokenPolicy ?? { kind: 'valid_until_revoked' };
    switch (policy.kind) {
        case 'valid_until_revoked':
            return false;
        case 'expire_after':
            return token.issuedAt + policy.ms <= now;
        case 'expire_if_unused':
            return token.lastUsedAt + policy.ms <= now;
        case 'expire_immediately':
            return true;
    }
}
/** A new app is unknown (`invalid_client_id`) until it has propagated. */
export function isPropagated(registeredAt, propagationDelayMs, now) {
    return registeredAt + (propagationDelayMs ?? 0) <= now;
}
