/**
 * OAuth 2.0 web-server flow of the simulated org (docs/salesforce.md#oauth-20-web-server-flow):
 * authorize page, token endpoint (authorization_code + refresh_token grants, PKCE), revoke, identity
 * URL and userinfo.
 *
 * The service is also the org's `TokenAuthority`: REST and CometD hand it the raw `Authorization`
 * header and it says whether the access token is live.
 *
 * Choices where Salesforce's documentation is silent (all visible in tests):
 * - A `code_challenge` without `code_challenge_method` is taken as S256. jsforce never sends the method
 *   (docs/salesforce.md#jsforce-oauth-and-auto-refresh) and Salesforce documents S256 only; any other
 *   method is refused with `invalid_request` on the redirect.
 * - PKCE at the token endpoint follows the docs (docs/salesforce.md#authorization-request): a verifier
 *   that does not hash to the challenge → `invalid_request`, no verifier although a challenge was sent
 *   → `invalid_grant`. (Field reports show `invalid_grant` + `invalid code verifier` for a mismatch; we
 *   keep the reference's code and use that description for both.)
 * - An unknown client_id or a redirect_uri that does not match is shown on an error page, never
 *   redirected: the redirect target is untrusted at that point.
 * - External Client App policies (app-policies.ts) apply where Salesforce applies them: an
 *   unapproved user is refused on the redirect after sign-in (and at the code exchange if the policy
 *   closed meanwhile), a missing challenge on the redirect, an expired refresh token at the refresh
 *   grant, and a client id that has not propagated everywhere a client id is read.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import formbody from '@fastify/formbody';
import { z } from 'zod';
import { isPropagated, refreshTokenExpired, refuseMissingChallenge, refuseUnapprovedUser, } from "./app-policies.js";
/** Access-token lifetime when none is configured: Salesforce's default session timeout. */
export const DEFAULT_ACCESS_TOKEN_TTL_MS = 2 * 60 * 60 * 1000;
/** Authorization codes are single-use and short-lived (docs/salesforce.md#token-request-and-response). */
export const DEFAULT_AUTHORIZATION_CODE_TTL_MS = 15 * 60 * 1000;
/** Every scope the simulated org knows (docs/salesforce.md#authorization-request). */
export const KNOWN_SCOPES = ['api', 'refresh_token', 'offline_access', 'id', 'openid', 'full', 'web'];
export const DEFAULT_ORG_ID = '00D5g00000SbxQEEAZ';
export const DEFAULT_CONNECTED_APP = {
    clientId: '3MVG9SandboxBridgeConsumerKey',
    clientSecret: 'sandbox-consumer-secret',
    redirectUris: ['http://localhost:8787/oauth/callback'],
};
export const DEFAULT_INTEGRATION_USER = {
    id: '0055g00000IntgUAAR',
    username: 'integration@sandbox.example.com',
    password: 'sandbox',
    orgId: DEFAULT_ORG_ID,
    displayName: 'Integration User',
    email: 'integration@sandbox.example.com',
};
/**
 * A user of another org, so an admin can "sign in to a second org" by logging in as this user: the
 * token response's `id` URL, the identity document and userinfo all carry SECOND_ORG_ID. The
 * simulated data is shared (one store): the bridge must refuse this org before reading anything.
 */
export const SECOND_ORG_ID = '00D8d00000OthrOEAR';
export const SECOND_ORG_USER = {
    id: '0058d00000OthrUAAR',
    username: 'admin@other-org.example.com',
    password: 'other-org',
    orgId: SECOND_ORG_ID,
    displayName: 'Other Org Admin',
    email: 'admin@other-org.example.com',
};
/** The simulated org's users when none are given: its integration user first, then the second org's. */
export const DEFAULT_USERS = [DEFAULT_INTEGRATION_USER, SECOND_ORG_USER];
/** An OAuth error as the token and revoke endpoints return it (docs/salesforce.md#oauth-errors). */
class OAuthError extends Error {
    error;
    description;
    status;
    constructor(error, description, status = 400) {
        super(`${error}: ${description}`);
        this.error = error;
        this.description = description;
        this.status = status;
    }
}
const ERR = {
    unknownClient: () => new OAuthError('invalid_client_id', 'client identifier invalid'),
    badSecret: () => new OAuthError('invalid_client', 'invalid client credentials', 401),
    badRedirect: () => new OAuthError('redirect_uri_mismatch', 'redirect_uri must match configuration'),
    badCode: () => new OAuthError('invalid_grant', 'authentication failure'),
    expiredCode: () => new OAuthError('invalid_grant', 'expired authorization code'),
    expiredRefresh: () => new OAuthError('invalid_grant', 'expired access/refresh token'),
    missingVerifier: () => new OAuthError('invalid_grant', 'invalid code verifier'),
    wrongVerifier: () => new OAuthError('invalid_request', 'invalid code verifier'),
    grantType: () => new OAuthError('unsupported_grant_type', 'grant type not supported'),
};
const base64url = (buf) => buf.toString('base64url');
const s256 = (verifier) => base64url(createHash('sha256').update(verifier).digest());
function safeEqual(a, b) {
    const ab = Buffer.from(a);
    const bb = Buffer.from(b);
    return ab.length === bb.length && timingSafeEqual(ab, bb);
}
function escapeHtml(text) {
    return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
/** Reads `Bearer x` / `OAuth x` (docs/salesforce.md#endpoint-headers-and-cookies: jsforce sends `OAuth`). */
export function tokenFromAuthorizationHeader(header) {
    const match = /^(?:Bearer|OAuth)\s+(\S+)\s*$/i.exec(header ?? '');
    return match?.[1];
}
// ---- request schemas (form and query bodies are strings; repeated keys become arrays and fail) ----
const authorizeParams = z.object({
    response_type: z.string().optional(),
    client_id: z.string().optional(),
    redirect_uri: z.string().optional(),
    scope: z.string().optional(),
    state: z.string().optional(),
    code_challenge: z.string().optional(),
    code_challenge_method: z.string().optional(),
    login_hint: z.string().optional(),
    prompt: z.string().optional(),
    /** Sandbox-only: approve this one request without the page (tests). */
    sandbox_auto_approve: z.string().optional(),
});
const consentForm = authorizeParams.extend({
    username: z.string().optional(),
    password: z.string().optional(),
    action: z.enum(['allow', 'deny']).optional(),
});
const tokenForm = z.object({
    grant_type: z.string().optional(),
    code: z.string().optional(),
    refresh_token: z.string().optional(),
    client_id: z.string().optional(),
    client_secret: z.string().optional(),
    redirect_uri: z.string().optional(),
    code_verifier: z.string().optional(),
});
const revokeParams = z.object({ token: z.string().optional() });
const identityQuery = z.object({
    oauth_token: z.string().optional(),
    format: z.string().optional(),
    version: z.string().optional(),
});
export function createOAuthService(opts) {
    const now = opts.now ?? Date.now;
    // Copies: policy changes through the control API must not leak into the caller's (or the default) config.
    const registered = new Map();
    const register = (app) => registered.set(app.clientId, {
        app: { ...app, ...(app.policies ? { policies: { ...app.policies } } : {}) },
        registeredAt: now(),
    });
    for (const app of opts.connectedApps ?? [DEFAULT_CONNECTED_APP])
        register(app);
    const users = opts.users && opts.users.length > 0 ? opts.users : [...DEFAULT_USERS];
    const codeTtlMs = opts.authorizationCodeTtlMs ?? DEFAULT_AUTHORIZATION_CODE_TTL_MS;
    let accessTokenTtlMs = opts.accessTokenTtlMs ?? DEFAULT_ACCESS_TOKEN_TTL_MS;
    let autoApprove = opts.autoApprove ?? false;
    const codes = new Map();
    const refreshTokens = new Map();
    const accessTokens = new Map();
    const counters = {
        grants: {},
        failures: {},
        approvals: 0,
        denials: 0,
        revocations: 0,
    };
    const bump = (bucket, key) => {
        bucket[key] = (bucket[key] ?? 0) + 1;
    };
    const findApp = (clientId) => {
        const entry = clientId === undefined ? undefined : registered.get(clientId);
        return entry && isPropagated(entry.registeredAt, entry.app.propagationDelayMs, now()) ? entry.app : undefined;
    };
    const findUser = (id) => users.find((u) => u.id === id);
    const defaultUser = () => users[0] ?? DEFAULT_INTEGRATION_USER;
    const loginUrl = () => opts.baseUrl().replace(/\/+$/, '');
    const identityUrl = (user) => `${loginUrl()}/id/${user.orgId}/${user.id}`;
    function liveAccessToken(token) {
        const grant = accessTokens.get(token);
        if (!grant || grant.revoked || grant.expiresAt <= now())
            return undefined;
        return grant;
    }
    function issueAccessToken(user, clientId, refreshToken) {
        // Shaped like Salesforce's session ids: the 15-char org id, '!', then an opaque part.
        const token = `${user.orgId.slice(0, 15)}!AQ${base64url(randomBytes(48)).replace(/[-_]/g, '')}`;
        accessTokens.set(token, {
            clientId,
            userId: user.id,
            orgId: user.orgId,
            refreshToken,
            expiresAt: now() + accessTokenTtlMs,
            revoked: false,
        });
        return token;
    }
    function issueRefreshToken(user, clientId, scopes) {
        const token = `5Aep861${base64url(randomBytes(48)).replace(/[-_]/g, '')}`;
        refreshTokens.set(token, { clientId, userId: user.id, scopes, revoked: false, issuedAt: now(), lastUsedAt: now() });
        return token;
    }
    function tokenResponse(app, user, scopes, refreshToken, accessRefreshLink) {
        const issuedAt = String(now());
        const id = identityUrl(user);
        return {
            access_token: issueAccessToken(user, app.clientId, accessRefreshLink),
            ...(refreshToken ? { refresh_token: refreshToken } : {}),
            signature: createHmac('sha256', app.clientSecret)
                .update(id + issuedAt)
                .digest('base64'),
            scope: scopes.join(' '),
            instance_url: loginUrl(),
            id,
            token_type: 'Bearer',
            issued_at: issuedAt,
        };
    }
    function authenticateClient(form) {
        const app = findApp(form.client_id);
        if (!app)
            throw ERR.unknownClient();
        const secretRequired = app.requireSecret ?? true;
        if (form.client_secret !== undefined ? !safeEqual(form.client_secret, app.clientSecret) : secretRequired) {
            throw ERR.badSecret();
        }
        return app;
    }
    function authorizationCodeGrant(form) {
        const app = authenticateClient(form);
        const code = form.code ? codes.get(form.code) : undefined;
        if (!code || code.clientId !== app.clientId)
            throw ERR.badCode();
        if (code.used || code.expiresAt <= now())
            throw ERR.expiredCode();
        if (form.redirect_uri !== code.redirectUri)
            throw ERR.badRedirect();
        if (code.codeChallenge !== undefined) {
            if (!form.code_verifier)
                throw ERR.missingVerifier();
            if (!safeEqual(s256(form.code_verifier), code.codeChallenge))
                throw ERR.wrongVerifier();
        }
        code.used = true;
        const user = findUser(code.userId);
        if (!user)
            throw ERR.badCode();
        // The policy may have been closed between consent and exchange.
        const refusal = refuseUnapprovedUser(app.policies, user.username);
        if (refusal)
            throw new OAuthError(refusal.error, refusal.description);
        const wantsRefresh = code.scopes.includes('refresh_token') || code.scopes.includes('offline_access');
        const refreshToken = wantsRefresh ? issueRefreshToken(user, app.clientId, code.scopes) : undefined;
        return tokenResponse(app, user, code.scopes, refreshToken, refreshToken);
    }
    function refreshTokenGrant(form) {
        const app = authenticateClient(form);
        const grant = form.refresh_token ? refreshTokens.get(form.refresh_token) : undefined;
        if (!form.refresh_token || !grant || grant.revoked || grant.clientId !== app.clientId)
            throw ERR.expiredRefresh();
        if (refreshTokenExpired(app.policies, grant, now()))
            throw ERR.expiredRefresh();
        grant.lastUsedAt = now();
        const user = findUser(grant.userId);
        if (!user)
            throw ERR.expiredRefresh();
        if (app.rotateRefreshTokens) {
            // Rotation: the old token dies at once (docs/salesforce.md#refresh, #pitfall-9-a-refresh-token-that-works-once).
            grant.revoked = true;
            const next = issueRefreshToken(user, app.clientId, grant.scopes);
            return tokenResponse(app, user, grant.scopes, next, next);
        }
        return tokenResponse(app, user, grant.scopes, undefined, form.refresh_token);
    }
    function revoke(token) {
        const refresh = refreshTokens.get(token);
        if (refresh && !refresh.revoked) {
            refresh.revoked = true;
            for (const access of accessTokens.values())
                if (access.refreshToken === token)
                    access.revoked = true;
            return true;
        }
        const access = accessTokens.get(token);
        if (access && !access.revoked) {
            access.revoked = true;
            return true;
        }
        return false;
    }
    function checkAuthorizeRequest(p) {
        const app = findApp(p.client_id);
        if (!app)
            return { kind: 'page-error', error: 'invalid_client_id', description: 'client identifier invalid' };
        if (!p.redirect_uri || !app.redirectUris.includes(p.redirect_uri)) {
            return {
                kind: 'page-error',
                error: 'redirect_uri_mismatch',
                description: 'redirect_uri must match configuration',
            };
        }
        const redirectUri = p.redirect_uri;
        if (p.response_type !== 'code') {
            return {
                kind: 'redirect-error',
                app,
                redirectUri,
                error: 'unsupported_response_type',
                description: 'response type not supported',
            };
        }
        const appScopes = app.scopes ?? [...KNOWN_SCOPES];
        const requested = p.scope ? p.scope.split(/[\s+]+/).filter(Boolean) : appScopes;
        if (requested.some((s) => !appScopes.includes(s))) {
            return {
                kind: 'redirect-error',
                app,
                redirectUri,
                error: 'invalid_scope',
                description: 'the requested scope is not allowed',
            };
        }
        if (p.code_challenge !== undefined) {
            const method = p.code_challenge_method ?? 'S256';
            if (method !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(p.code_challenge)) {
                return {
                    kind: 'redirect-error',
                    app,
                    redirectUri,
                    error: 'invalid_request',
                    description: 'invalid code_challenge',
                };
            }
        }
        const noChallenge = refuseMissingChallenge(app.policies, p.code_challenge);
        if (noChallenge)
            return { kind: 'redirect-error', app, redirectUri, ...noChallenge };
        return { kind: 'ok', app, redirectUri, scopes: [...new Set(requested)], codeChallenge: p.code_challenge };
    }
    function redirectWith(reply, redirectUri, params) {
        const url = new URL(redirectUri);
        for (const [k, v] of Object.entries(params))
            if (v !== undefined)
                url.searchParams.set(k, v);
        return reply.code(302).header('location', url.toString()).send();
    }
    function approve(reply, check, user, state) {
        // Admin-approved apps check the user once they are known, and send the refusal back to the client.
        const refusal = refuseUnapprovedUser(check.app.policies, user.username);
        if (refusal) {
            bump(counters.failures, refusal.error);
            return redirectWith(reply, check.redirectUri, {
                error: refusal.error,
                error_description: refusal.description,
                state,
            });
        }
        const code = `aPrx${base64url(randomBytes(36))}`;
        codes.set(code, {
            clientId: check.app.clientId,
            redirectUri: check.redirectUri,
            userId: user.id,
            scopes: check.scopes,
            codeChallenge: check.codeChallenge,
            expiresAt: now() + codeTtlMs,
            used: false,
        });
        counters.approvals++;
        return redirectWith(reply, check.redirectUri, { code, state });
    }
    function deny(reply, redirectUri, state) {
        counters.denials++;
        return redirectWith(reply, redirectUri, {
            error: 'access_denied',
            error_description: 'end-user denied authorization',
            state,
        });
    }
    function errorPage(reply, error, description) {
        bump(counters.failures, error);
        const body = `<!doctype html><html><head><title>Error</title></head><body><h1>OAuth Error</h1>
<p>We can't authorize you because of an OAuth error. For more information, contact your Salesforce administrator.</p>
<p id="error">error=${escapeHtml(error)}</p><p id="error_description">error_description=${escapeHtml(description)}</p></body></html>`;
        return reply.code(400).type('text/html; charset=utf-8').send(body);
    }
    function loginPage(reply, p, app, scopes, message) {
        // Optional keys may be present with an `undefined` value; `Object.entries` would type them `string`.
        const hidden = Object.entries(p)
            .filter((entry) => entry[1] !== undefined && !['username', 'password', 'action'].includes(entry[0]))
            .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
            .join('\n');
        const body = `<!doctype html><html><head><title>Login | Salesforce (sandbox)</title></head><body>
<h1>Allow access?</h1>
<p><strong>${escapeHtml(app.clientId)}</strong> is asking to: ${scopes.map(escapeHtml).join(', ')}</p>
${message ? `<p id="login-error" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/services/oauth2/authorize">
${hidden}
<label>Username <input name="username" value="${escapeHtml(p.login_hint ?? defaultUser().username)}"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit" name="action" value="allow">Allow</button>
<button type="submit" name="action" value="deny">Deny</button>
</form></body></html>`;
        return reply.code(200).type('text/html; charset=utf-8').send(body);
    }
    function handleAuthorize(p, form, reply) {
        const check = checkAuthorizeRequest(p);
        if (check.kind === 'page-error')
            return errorPage(reply, check.error, check.description);
        if (check.kind === 'redirect-error') {
            bump(counters.failures, check.error);
            return redirectWith(reply, check.redirectUri, {
                error: check.error,
                error_description: check.description,
                state: p.state,
            });
        }
        if (!form) {
            if (autoApprove || p.sandbox_auto_approve === 'true') {
                const hinted = users.find((u) => u.username === p.login_hint);
                return approve(reply, check, hinted ?? defaultUser(), p.state);
            }
            return loginPage(reply, p, check.app, check.scopes);
        }
        if (form.action === 'deny')
            return deny(reply, check.redirectUri, p.state);
        const user = users.find((u) => u.username === form.username && u.password === form.password);
        if (!user || form.action !== 'allow') {
            return loginPage(reply, p, check.app, check.scopes, "Please check your username and password. If you still can't log in, contact your Salesforce administrator.");
        }
        return approve(reply, check, user, p.state);
    }
    // ---- identity ----
    function identityDocument(user) {
        const base = loginUrl();
        const urls = {
            enterprise: `${base}/services/Soap/c/{version}/${user.orgId}`,
            metadata: `${base}/services/Soap/m/{version}/${user.orgId}`,
            partner: `${base}/services/Soap/u/{version}/${user.orgId}`,
            rest: `${base}/services/data/v{version}/`,
            sobjects: `${base}/services/data/v{version}/sobjects/`,
            search: `${base}/services/data/v{version}/search/`,
            query: `${base}/services/data/v{version}/query/`,
            recent: `${base}/services/data/v{version}/recent/`,
            profile: `${base}/${user.id}`,
            users: `${base}/services/data/v{version}/chatter/users`,
            custom_domain: base,
        };
        return { user, urls };
    }
    /** Identity service errors are plain-text codes with 403/404, as Salesforce documents them. */
    function identityUser(request, reply) {
        const query = identityQuery.safeParse(request.query);
        const token = tokenFromAuthorizationHeader(request.headers.authorization) ??
            (query.success ? query.data.oauth_token : undefined);
        if (!token) {
            void reply.code(403).type('text/plain').send('Missing_OAuth_Token');
            return undefined;
        }
        const grant = liveAccessToken(token);
        const user = grant ? findUser(grant.userId) : undefined;
        if (!grant || !user) {
            void reply.code(403).type('text/plain').send('Bad_OAuth_Token');
            return undefined;
        }
        return user;
    }
    const routes = async (app) => {
        await app.register(formbody);
        // Unparseable bodies and other framework errors keep the OAuth error shape.
        app.setErrorHandler((err, _request, reply) => {
            const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
            return reply.code(status).send({
                error: status === 500 ? 'server_error' : 'invalid_request',
                error_description: status === 500 ? 'internal error' : err.message,
            });
        });
        app.get('/services/oauth2/authorize', async (request, reply) => {
            const parsed = authorizeParams.safeParse(request.query);
            if (!parsed.success)
                return errorPage(reply, 'invalid_request', 'malformed authorization request');
            return handleAuthorize(parsed.data, undefined, reply);
        });
        app.post('/services/oauth2/authorize', async (request, reply) => {
            const parsed = consentForm.safeParse(request.body ?? {});
            if (!parsed.success)
                return errorPage(reply, 'invalid_request', 'malformed authorization request');
            const { username, password, action, ...params } = parsed.data;
            return handleAuthorize(params, { ...params, username, password, action }, reply);
        });
        app.post('/services/oauth2/token', async (request, reply) => {
            const parsed = tokenForm.safeParse(request.body ?? {});
            let response;
            try {
                if (!parsed.success)
                    throw new OAuthError('invalid_request', 'malformed token request');
                const form = parsed.data;
                const grantType = form.grant_type;
                response =
                    grantType === 'authorization_code'
                        ? authorizationCodeGrant(form)
                        : grantType === 'refresh_token'
                            ? refreshTokenGrant(form)
                            : (() => {
                                throw ERR.grantType();
                            })();
                bump(counters.grants, grantType);
            }
            catch (err) {
                if (!(err instanceof OAuthError))
                    throw err;
                bump(counters.failures, err.error);
                return reply.code(err.status).send({ error: err.error, error_description: err.description });
            }
            // Sent outside the `try`: returning (not awaiting) the reply is how a Fastify async handler says it replied.
            return reply.code(200).header('cache-control', 'no-cache, no-store').send(response);
        });
        const revokeHandler = async (request, reply) => {
            const parsed = revokeParams.safeParse(request.method === 'GET' ? request.query : (request.body ?? {}));
            const token = parsed.success ? parsed.data.token : undefined;
            if (!token || !revoke(token)) {
                bump(counters.failures, 'invalid_token');
                return reply.code(400).send({ error: 'invalid_token', error_description: 'invalid token' });
            }
            counters.revocations++;
            return reply.code(200).send();
        };
        app.post('/services/oauth2/revoke', revokeHandler);
        app.get('/services/oauth2/revoke', revokeHandler);
        app.get('/id/:orgId/:userId', async (request, reply) => {
            const user = identityUser(request, reply);
            if (!user)
                return reply;
            const { orgId, userId } = request.params;
            if (orgId !== user.orgId || userId !== user.id)
                return reply.code(404).type('text/plain').send('Bad_Id');
            const { urls } = identityDocument(user);
            const [firstName, ...rest] = user.displayName.split(' ');
            return {
                id: identityUrl(user),
                asserted_user: true,
                user_id: user.id,
                organization_id: user.orgId,
                username: user.username,
                nick_name: user.username.split('@')[0],
                display_name: user.displayName,
                email: user.email,
                email_verified: true,
                first_name: firstName ?? '',
                last_name: rest.join(' '),
                timezone: 'GMT',
                status: { created_date: null, body: null },
                urls,
                active: true,
                user_type: 'STANDARD',
                language: 'en_US',
                locale: 'en_US',
                utcOffset: 0,
                last_modified_date: '2024-01-01T00:00:00.000+0000',
                is_app_installed: true,
            };
        });
        app.get('/services/oauth2/userinfo', async (request, reply) => {
            const user = identityUser(request, reply);
            if (!user)
                return reply;
            const { urls } = identityDocument(user);
            return {
                sub: identityUrl(user),
                user_id: user.id,
                organization_id: user.orgId,
                preferred_username: user.username,
                nickname: user.username.split('@')[0],
                name: user.displayName,
                email: user.email,
                email_verified: true,
                zoneinfo: 'GMT',
                urls,
                active: true,
                user_type: 'STANDARD',
                language: 'en_US',
                locale: 'en_US',
                utcOffset: 0,
                updated_at: '2024-01-01T00:00:00Z',
                is_app_installed: true,
            };
        });
    };
    const control = {
        expireAccessTokens() {
            let n = 0;
            for (const grant of accessTokens.values()) {
                if (!grant.revoked && grant.expiresAt > now()) {
                    grant.expiresAt = now();
                    n++;
                }
            }
            return n;
        },
        revokeRefreshTokens({ includeAccessTokens = true } = {}) {
            let n = 0;
            for (const grant of refreshTokens.values()) {
                if (!grant.revoked) {
                    grant.revoked = true;
                    n++;
                }
            }
            if (includeAccessTokens)
                for (const grant of accessTokens.values())
                    if (grant.refreshToken)
                        grant.revoked = true;
            return n;
        },
        setAccessTokenTtl(ms) {
            accessTokenTtlMs = ms;
        },
        setAutoApprove(on) {
            autoApprove = on;
        },
        addApp(app) {
            register(app);
        },
        updateApp(clientId, change) {
            const app = registered.get(clientId)?.app;
            if (!app)
                return undefined;
            if (change.policies)
                app.policies = { ...app.policies, ...change.policies };
            if (change.rotateRefreshTokens !== undefined)
                app.rotateRefreshTokens = change.rotateRefreshTokens;
            return app;
        },
        counters() {
            const t = now();
            return {
                grants: { ...counters.grants },
                failures: { ...counters.failures },
                approvals: counters.approvals,
                denials: counters.denials,
                revocations: counters.revocations,
                liveAccessTokens: [...accessTokens.values()].filter((g) => !g.revoked && g.expiresAt > t).length,
                liveRefreshTokens: [...refreshTokens.values()].filter((g) => !g.revoked).length,
            };
        },
    };
    return {
        check(authorizationHeader) {
            if (!authorizationHeader?.trim())
                return { ok: false, reason: 'missing' };
            const token = tokenFromAuthorizationHeader(authorizationHeader);
            if (!token)
                return { ok: false, reason: 'invalid' };
            const grant = liveAccessToken(token);
            if (!grant)
                return { ok: false, reason: 'invalid' };
            return { ok: true, userId: grant.userId, orgId: grant.orgId, token };
        },
        control,
        routes,
        users: () => users,
    };
}
