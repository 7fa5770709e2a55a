/**
 * Admin authentication by the admin token as a Bearer header (admin API). Status-page sessions are
 * in admin-sessions.ts; web-auth.ts combines both.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Timing-safe string equality (length is not secret: tokens are fixed-length in practice). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
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
