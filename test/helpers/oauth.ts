/** The admin's browser path through the OAuth flow, driven against the real app and sandbox org. */
import { expect } from 'vitest';
import { buildApp, type BridgeApp } from '../../src/server/app.ts';
import { PUBLIC_URL } from './bridge.ts';

export const AUTHENTICATE = '/integrations/acme/emails/oauth2/authenticate';
export const INTEGRATION = 'acme/emails';

/** Follow the browser's path: bridge authenticate → sandbox authorize (auto-approve) → callback URL. */
export async function authorizeInSalesforce(app: BridgeApp): Promise<URL> {
  const start = await app.inject({ method: 'GET', url: AUTHENTICATE });
  expect(start.statusCode).toBe(302);
  const authorize = await fetch(String(start.headers.location), { redirect: 'manual' });
  expect(authorize.status).toBe(302);
  const callback = new URL(String(authorize.headers.get('location')));
  expect(callback.origin + callback.pathname).toBe(`${PUBLIC_URL}/external/salesforce/oauth2/callback`);
  return callback;
}

export async function completeFlow(app: BridgeApp) {
  const callback = await authorizeInSalesforce(app);
  return app.inject({ method: 'GET', url: callback.pathname + callback.search });
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
