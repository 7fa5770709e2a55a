/**
 * CSRF defence of the bridge's state-changing form POSTs (docs/security.md, "Web surface"): the
 * request must come from a page of the bridge itself. The pages send `Referrer-Policy:
 * no-referrer`, under which browsers send `Origin: null` on a same-origin form POST; they still
 * send `Sec-Fetch-Site: same-origin`, which no page of another site can set. So a POST passes when
 * - `Origin` is the bridge's public origin, or
 * - `Origin` is absent or `null` and `Sec-Fetch-Site` is `same-origin`, or
 * - neither says anything and `Referer` is a URL of the bridge.
 */
import type { FastifyRequest } from 'fastify';

export function isSameOriginPost(request: FastifyRequest, publicUrl: string): boolean {
  const expected = new URL(publicUrl).origin;
  const origin = header(request, 'origin');
  if (origin !== undefined && origin !== 'null') return origin === expected;
  const site = header(request, 'sec-fetch-site');
  if (site !== undefined) return site === 'same-origin';
  if (origin === 'null') return false;
  const referer = header(request, 'referer');
  if (referer === undefined) return false;
  try {
    return new URL(referer).origin === expected;
  } catch {
    return false;
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
