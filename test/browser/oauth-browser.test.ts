/**
 * The admin's path in a real browser (Debian chromium driven by playwright-core): authenticate URL
 * → the bridge's sign-in → sandbox Salesforce login and consent → Allow → the bridge's success
 * notice → status page. Real Chromium also checks what injected requests cannot: the CSP lets the
 * pages render and the forms redirect on to Salesforce, and the SameSite=Lax binding cookie comes
 * back with Salesforce's redirect to the callback.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/index.ts';
import { createContext } from '../../src/roles/context.ts';
import { startSalesforceOrg, type SimulatedSalesforceOrg } from '@sf-cm-bridge/sandbox/org';
import { buildApp, type BridgeApp } from '../../src/server/app.ts';
import pino from 'pino';
import { launchChromium } from '../helpers/chromium.ts';
import { ADMIN_TOKEN, bridgeConfigYaml, CLIENT_ID, CLIENT_SECRET } from '../helpers/bridge.ts';
import { testRedis, type TestRedis } from '../helpers/redis.ts';
import { freePort } from '../helpers/ports.ts';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

describe('OAuth in a real browser', () => {
  // Undefined until beforeAll gets that far: afterAll closes what was started.
  let browser: BrowserContext | undefined;
  let org: SimulatedSalesforceOrg | undefined;
  let redis: TestRedis | undefined;
  let app: BridgeApp | undefined;
  let context: ReturnType<typeof createContext> | undefined;
  let publicUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    org = await startSalesforceOrg({
      connectedApps: [
        {
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          redirectUris: [`${publicUrl}/external/salesforce/oauth2/callback`],
        },
      ],
    });
    redis = testRedis();
    const config = loadConfigText(
      bridgeConfigYaml(org.url, redis.prefix).replace('publicUrl: http://127.0.0.1:8080', `publicUrl: ${publicUrl}`),
      'b.yaml',
      {},
    );
    context = createContext({ config, logger: pino({ level: 'silent' }), redis: redis.redis });
    app = await buildApp(context);
    await app.listen({ host: '127.0.0.1', port });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await context?.close();
    await redis?.cleanup();
    await org?.close();
  });

  it('authenticate → Salesforce consent → Allow → configured successfully → status page', async () => {
    const page = await browser!.newPage();
    await page.goto(`${publicUrl}/integrations/acme/emails/oauth2/authenticate`);
    // Only an admin starts an authorisation: the bridge's sign-in form first (an origin-checked POST
    // from a no-referrer page: Chromium's Sec-Fetch-Site is what lets it through).
    expect(await page.textContent('body')).toContain('Sign in with the admin token to authorise acme/emails');
    await page.fill('input[name="token"]', ADMIN_TOKEN);
    await page.click('button[type="submit"]');
    // Then on to the simulated Salesforce login and consent page.
    await page.waitForURL(`${org!.url}/services/oauth2/authorize**`);
    await page.fill('input[name="password"]', 'sandbox');
    await page.click('button[value="allow"]');

    await page.waitForURL(`${publicUrl}/external/salesforce/oauth2/callback**`);
    await expect(page.locator('h1').first().textContent()).resolves.toBe('Integration configured successfully');
    expect(await page.textContent('body')).toContain('acme/emails was configured successfully');

    await page.click('text=Open the status page');
    await page.waitForSelector('[data-integration="acme/emails"]');
    expect(await page.textContent('[data-integration="acme/emails"] .badge')).toBe('authorised');
    expect(await page.textContent('body')).toContain('integration@sandbox.example.com');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'oauth-status-page.png'), fullPage: true });
    const cookies = await browser!.cookies();
    expect(cookies.find((c) => c.name === 'sfcm_admin')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(cookies.find((c) => c.name === 'sfcm_oauth_browser')).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
  }, 60_000);

  it('status page tools: retry a dead letter, look up a record, preview a mapping', async () => {
    const record = org!.store.create(
      'EmailMessage',
      { Subject: 'Preview me', TextBody: 'Hello <b>there</b>', Incoming: true },
      { silent: true },
    );
    const letter = await context!.deadLetters.add({
      integration: 'acme/emails',
      object: 'EmailMessage',
      recordId: String(record.Id),
      reason: 'rejected for the test',
      stage: 'push',
    });
    const page = await browser!.newPage();
    await page.goto(`${publicUrl}/`);
    if (await page.isVisible('input[name="token"]')) {
      await page.fill('input[name="token"]', ADMIN_TOKEN);
      await page.click('button[type="submit"]');
    }
    await page.goto(`${publicUrl}/status/dead-letters?integration=acme%2Femails`);
    expect(await page.textContent('main')).toContain('rejected for the test');
    await page.click(`form[action="/status/dead-letters/retry"]:has(input[value="${letter.id}"]) button`);
    expect(await page.textContent('.notice.ok')).toBe(`Retrying EmailMessage ${record.Id}.`);
    expect(await context!.deadLetters.count('acme/emails')).toBe(0);
    await page.goto(`${publicUrl}/`);

    await page.fill('form[action="/status/record"] input[name="recordId"]', String(record.Id));
    await page.click('form[action="/status/record"] button');
    expect(await page.textContent('h1')).toBe(`Where is ${record.Id}?`);
    await page.goBack();

    await page.selectOption('form[action="/status/preview"] select[name="target"]', 'acme/emails|EmailMessage');
    await page.fill('form[action="/status/preview"] input[name="recordId"]', String(record.Id));
    await page.click('form[action="/status/preview"] button');
    const preview = JSON.parse((await page.textContent('pre')) ?? '{}') as {
      id?: string;
      messages?: Array<{ body: { text: string } }>;
    };
    expect(preview).toMatchObject({ id: record.Id, messages: [{ body: { text: 'Hello there' } }] });
    await page.screenshot({ path: join(ARTIFACTS, 'status-preview.png'), fullPage: true });
  }, 60_000);

  it('Deny ends on a page that says what to do, and stores nothing', async () => {
    const page = await browser!.newPage();
    await page.goto(`${publicUrl}/integrations/acme/emails/oauth2/authenticate`);
    await page.click('button[value="deny"]');
    await page.waitForURL(`${publicUrl}/external/salesforce/oauth2/callback**`);
    expect(await page.textContent('h1')).toBe('Access was not granted');
    expect(await page.getAttribute('a.button', 'href')).toBe('/integrations/acme/emails/oauth2/authenticate');
  }, 60_000);
});
