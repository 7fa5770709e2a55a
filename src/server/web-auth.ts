/**
 * Who may do what on the bridge's web pages (docs/security.md): the admin is whoever holds the
 * admin token, as a Bearer header or as a status-page session; a one-time authorisation link stands
 * in for the admin for one authorisation of one integration.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { BridgeConfig } from '../config/index.ts';
import { bridgeKeys } from '../store/keys.ts';
import { isAdminBearer } from './admin-auth.ts';
import { AdminSessions } from './admin-sessions.ts';
import type { AppDeps } from './deps.ts';
import { OneTimeTokens } from './one-time-tokens.ts';
import { isSameOriginPost } from './origin-check.ts';

/** How long a one-time authorisation link and an org-switch confirmation stay valid. */
export const ONE_TIME_TTL_MS = 10 * 60 * 1000;

export const SESSION_COOKIE = 'sfcm_admin';
/** Binds an OAuth `state` to the browser that started the flow (HttpOnly, SameSite=Lax). */
export const BROWSER_COOKIE = 'sfcm_oauth_browser';

const AuthorizationLinkSchema = z.object({ integration: z.string() });
const OrgSwitchSchema = z.object({
  integration: z.string(),
  toOrg: z.string(),
  fromOrg: z.string(),
  browser: z.string(),
});
export type OrgSwitch = z.infer<typeof OrgSwitchSchema>;

export interface WebAuth {
  sessions: AdminSessions;
  authorizationLinks: OneTimeTokens<z.infer<typeof AuthorizationLinkSchema>>;
  orgSwitches: OneTimeTokens<OrgSwitch>;
  /** The admin token as a Bearer header, or a live status-page session. */
  isAdmin(request: FastifyRequest): Promise<boolean>;
  /** Cookie options: Secure whenever the public URL is https. */
  cookie(
    sameSite: 'strict' | 'lax',
    maxAgeSeconds: number,
  ): { httpOnly: true; sameSite: 'strict' | 'lax'; secure: boolean; path: '/'; maxAge: number };
  /** For form POSTs: false (and a 403 page already sent) when the POST comes from another site. */
  checkOrigin(request: FastifyRequest, reply: FastifyReply): boolean;
}

export function createWebAuth(deps: AppDeps): WebAuth {
  const config: BridgeConfig = deps.config;
  const { adminToken, publicUrl, sessionTtl } = config.server;
  const keys = bridgeKeys(config.redis.prefix);
  const sessions = new AdminSessions(deps.redis, config.redis.prefix, adminToken, sessionTtl);
  return {
    sessions,
    authorizationLinks: new OneTimeTokens(deps.redis, keys.authorizationLink, AuthorizationLinkSchema, ONE_TIME_TTL_MS),
    orgSwitches: new OneTimeTokens(deps.redis, keys.orgSwitch, OrgSwitchSchema, ONE_TIME_TTL_MS),
    async isAdmin(request) {
      return isAdminBearer(request, adminToken) || (await sessions.isValid(request.cookies[SESSION_COOKIE]));
    },
    cookie: (sameSite, maxAgeSeconds) => ({
      httpOnly: true,
      sameSite,
      secure: publicUrl.startsWith('https://'),
      path: '/',
      maxAge: maxAgeSeconds,
    }),
    checkOrigin(request, reply) {
      if (isSameOriginPost(request, publicUrl)) return true;
      request.log.warn(
        { path: request.url.split('?')[0], origin: request.headers.origin },
        'cross-site form POST refused',
      );
      void reply
        .code(403)
        .type('text/plain; charset=utf-8')
        .send("This form must be sent from the bridge's own page (Origin check failed).");
      return false;
    },
  };
}
