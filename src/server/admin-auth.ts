/**
 * Admin authentication: the admin token as a Bearer header (API) or a session cookie set by the
 * status page's login form. The cookie holds an HMAC derived from the token, never the token, so
 * it stops working the moment the admin token is rotated.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'sfcm_admin';

/** Timing-safe string equality (length is not secret: tokens are fixed-length in practice). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

export function sessionValue(adminToken: string): string {
  return createHmac('sha256', adminToken).update('sf-cm-bridge status page session v1').digest('base64url');
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header);
  return match?.[1]?.trim();
}

export function isAdminBearer(request: FastifyRequest, adminToken: string): boolean {
  const token = bearerToken(request);
  return token !== undefined && safeEqual(token, adminToken);
}

export function isAdminSession(request: FastifyRequest, adminToken: string): boolean {
  const cookie = request.cookies[SESSION_COOKIE];
  return cookie !== undefined && safeEqual(cookie, sessionValue(adminToken));
}

/** `onRequest` hook of the admin API plugins: 401 unless the request carries the admin token. */
export function requireAdminBearer(adminToken: string) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (isAdminBearer(request, adminToken)) return;
    await reply
      .code(401)
      .header('WWW-Authenticate', 'Bearer realm="sf-cm-bridge"')
      .send({ error: 'unauthorized', message: 'send the admin token as Authorization: Bearer <token>' });
  };
}
