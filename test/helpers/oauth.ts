/** The admin's browser path through the OAuth flow, driven against the real app and sandbox org. */
import { expect } from 'vitest';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type BridgeApp } from '../../src/server/app.ts';
import { ADMIN_TOKEN, PUBLIC_URL } from './bridge.ts';

export const AUTHENTICATE = '/integrations/acme/emails/oauth2/authenticate';
export const INTEGRATION = 'acme/emails';
export const CALLBACK_PATH = '/external/salesforce/oauth2/callback';

/**
 * One browser talking to the bridge: keeps the cookies the bridge sets and sends them back, and
 * sends its form POSTs from the bridge's own origin, as a browser on the bridge's pages does.
 */
export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(readonly app: BridgeApp) {}

  async inject(options: InjectOptions & { url: string }): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = { ...(options.headers as Record<string, string> | undefined) };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (options.method === 'POST' && headers.origin === undefined) headers.origin = new URL(PUBLIC_URL).origin;
    const response = await this.app.inject({ ...options, headers });
    for (const cookie of response.cookies as Array<{ name: string; value: string; maxAge?: number }>) {
      if (cookie.value === '' || cookie.maxAge === 0) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
    return response;
  }

  get(url: string): Promise<LightMyRequestResponse> {
    return this.inject({ method: 'GET', url });
  }

  post(url: string, payload: Record<string, string>): Promise<LightMyRequestResponse> {
    return this.inject({ method: 'POST', url, payload });
  }

  /** Sign in to the status page with the admin token. */
  async signIn(token = ADMIN_TOKEN): Promise<this> {
    const response = await this.post('/login', { token });
    expect(response.statusCode).toBe(303);
    return this;
  }
}

/** An admin's browser, signed in. */
export async function adminBrowser(app: BridgeApp): Promise<Browser> {
  return new Browser(app).signIn();
}

/** Authenticate → Salesforce authorize (auto-approve, optionally as `loginHint`) → the callback URL Salesforce redirects to. */
export async function authorizeInSalesforce(browser: Browser, loginHint?: string): Promise<URL> {
  const start = await browser.get(AUTHENTICATE);
  expect(start.statusCode).toBe(302);
  return salesforceApproves(String(start.headers.location), loginHint);
}

/** Salesforce's side of the flow: the sandbox org approves and redirects back to the bridge. */
export async function salesforceApproves(authorizeUrl: string, loginHint?: string): Promise<URL> {
  const url = new URL(authorizeUrl);
  if (loginHint) url.searchParams.set('login_hint', loginHint);
  const authorize = await fetch(url, { redirect: 'manual' });
  expect(authorize.status).toBe(302);
  const callback = new URL(String(authorize.headers.get('location')));
  expect(callback.origin + callback.pathname).toBe(`${PUBLIC_URL}${CALLBACK_PATH}`);
  return callback;
}

/** The whole flow in one browser (a signed-in admin's, unless another is given). */
export async function completeFlow(
  app: BridgeApp,
  browser?: Browser,
  loginHint?: string,
): Promise<LightMyRequestResponse> {
  const admin = browser ?? (await adminBrowser(app));
  const callback = await authorizeInSalesforce(admin, loginHint);
  return admin.get(callback.pathname + callback.search);
}

/** Authorise the integration through the real flow (the org auto-approves), as the admin would. */
export async function authorise(context: Parameters<typeof buildApp>[0]): Promise<void> {
  const app = await buildApp(context);
  try {
    expect((await completeFlow(app)).statusCode).toBe(200);
  } finally {
    await app.close();
  }
}
