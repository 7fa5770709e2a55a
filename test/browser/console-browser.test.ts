/**
 * The status page as an ops console in a real browser (Debian chromium driven by playwright-core),
 * against a running bridge: every page at 1280 px and at 390 px (a phone) with a screenshot into
 * test/artifacts/ and no horizontal overflow, every button pressed (reconcile, backfill, retry all,
 * preview select, re-authorise, disconnect with its confirmation), the in-place refresh of
 * assets/status.js under the real CSP, and not one CSP violation.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.ts';
import { ADMIN_TOKEN } from '../helpers/bridge.ts';
import { startConsoleBridge, type ConsoleBridge } from '../helpers/console.ts';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
const INTEGRATION = 'acme/emails';
const WIDTHS = [1280, 390] as const;

describe('the ops console in a real browser', () => {
  let browser: BrowserContext | undefined;
  let bridge: ConsoleBridge | undefined;
  const running = () => bridge as ConsoleBridge;
  /** Every CSP violation Chromium reported, on any page. */
  const violations: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    bridge = await startConsoleBridge();
    browser = await launchChromium();
    browser.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    const page = await browser.newPage();
    await page.goto(`${bridge.url}/`);
    await page.fill('input[name="token"]', ADMIN_TOKEN);
    await page.click('button[type="submit"]');
    await page.waitForSelector(`[data-integration="${INTEGRATION}"]`);
    await page.close();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await bridge?.close();
  });

  /** Screenshot the page at both widths, and assert nothing overflows horizontally at either. */
  async function atEveryWidth(page: Page, name: string): Promise<void> {
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      // A string: the test compiles without the DOM library; Chromium evaluates it.
      // The elements that stick out name themselves in the failure message.
      const { scrollWidth, innerWidth, outside } = await page.evaluate<{
        scrollWidth: number;
        innerWidth: number;
        outside: string[];
      }>(`({
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        outside: [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth)
          .map((e) => e.tagName.toLowerCase() + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)),
      })`);
      await page.screenshot({ path: join(ARTIFACTS, `console-${name}-${width}.png`), fullPage: true });
      expect(scrollWidth, `${name} at ${width} px: ${outside.join(', ')}`).toBeLessThanOrEqual(innerWidth);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  it('status page: per-object flow, refreshed in place by /assets/status.js, fits at 1280 and 390 px', async () => {
    await running().syncCases(15, 'browser');
    const page = await browser!.newPage();
    await page.goto(`${running().url}/`);
    const card = page.locator('[data-object="Case"]');
    await expect(card.locator('svg.chart rect').count()).resolves.toBeGreaterThan(0);
    expect(await card.textContent()).toMatch(/Last hour\s*\d+ pushed/);
    // Relative times carry the absolute time on hover.
    expect(await card.locator('dt:text("Last push") + dd time').getAttribute('title')).toMatch(/ UTC$/);

    // The refresh swaps the live parts in: new changes show without a reload.
    const before = await card.locator('dt:text("Last hour") + dd').textContent();
    await running().syncCases(3, 'refresh');
    await expect
      .poll(() => card.locator('dt:text("Last hour") + dd').textContent(), { timeout: 30_000, interval: 200 })
      .not.toBe(before);
    expect(await page.getAttribute('html', 'data-refreshed-at')).toMatch(/^\d+$/);
    await atEveryWidth(page, 'status');
  }, 90_000);

  it('reconcile and backfill buttons; the backfill progress appears by the live refresh', async () => {
    const page = await browser!.newPage();
    await page.goto(`${running().url}/`);
    await page.selectOption('form[action="/status/actions/reconcile"] select[name="object"]', 'Case');
    await page.click('form[action="/status/actions/reconcile"] button');
    expect(await page.textContent('.notice.ok')).toBe(`Reconciliation of ${INTEGRATION} (Case) queued.`);

    await page.selectOption('form[action="/status/actions/backfill"] select[name="object"]', 'Case');
    await page.fill('form[action="/status/actions/backfill"] input[name="since"]', '2020-01-01');
    await page.click('form[action="/status/actions/backfill"] button');
    expect(await page.textContent('.notice.ok')).toContain(
      `Backfill of ${INTEGRATION} (Case, records changed since 2020-01-01 (UTC)) started`,
    );
    await page.waitForSelector('[data-object="Case"] [data-field="backfill"]', { timeout: 30_000 });
    expect(await page.textContent('[data-object="Case"] [data-field="backfill"]')).toMatch(
      /(running since|finished) .* record\(s\) queued/,
    );
    await atEveryWidth(page, 'status-backfill');
  }, 90_000);

  it('dead-letters page: filter, retry all, links to lookup and preview', async () => {
    const ids = await running().syncCases(3, 'letters');
    for (const [index, id] of ids.entries())
      await running().harness.context.deadLetters.add({
        integration: INTEGRATION,
        object: 'Case',
        recordId: id,
        // Long unbroken reasons must wrap, not widen the page.
        reason: `Communications Mining rejected the comment: ${'x'.repeat(300)} (${index})`,
        stage: 'push',
      });
    const page = await browser!.newPage();
    await page.goto(`${running().url}/`);
    await page.click(`[data-integration="${INTEGRATION}"] dt:text("Dead letters") + dd a`);
    await page.waitForURL('**/status/dead-letters?**');
    expect(await page.textContent('main')).toContain('3 dead letter(s) match');
    await page.selectOption('form.filters select[name="object"]', 'Case');
    await page.fill('form.filters input[name="q"]', '(1)');
    await page.click('form.filters button');
    expect(await page.textContent('main')).toContain('1 dead letter(s) match');
    await atEveryWidth(page, 'dead-letters');

    await page.click('tr[data-letter] a:text("where is it?")');
    expect(await page.textContent('h1')).toBe(`Where is ${ids[1]}?`);
    await atEveryWidth(page, 'record-lookup');
    await page.goBack();
    await page.click('tr[data-letter] a:text("preview")');
    expect(await page.textContent('h1')).toBe(`Case ${ids[1]} would become`);
    await page.goBack();

    await page.click('form[action="/status/dead-letters/retry-all"] button');
    expect(await page.textContent('.notice.ok')).toBe('Retrying 1 dead letter(s).');
    expect(await running().harness.context.deadLetters.count(INTEGRATION)).toBe(2);
  }, 90_000);

  it('preview: the object is a select of the configured objects; a long body line wraps', async () => {
    const record = running().harness.org.store.create(
      'Case',
      { Subject: 'Long line', Description: `${'y'.repeat(2_000)} end` },
      { silent: true },
    );
    const page = await browser!.newPage();
    await page.goto(`${running().url}/`);
    await page.selectOption('form[action="/status/preview"] select[name="target"]', `${INTEGRATION}|Case`);
    await page.fill('form[action="/status/preview"] input[name="recordId"]', String(record.Id));
    await page.click('form[action="/status/preview"] button');
    expect(await page.textContent('h1')).toBe(`Case ${record.Id} would become`);
    expect(await page.textContent('pre')).toContain('end');
    await atEveryWidth(page, 'preview');
  }, 60_000);

  it('re-authorise goes to Salesforce; disconnect asks on a page of its own first', async () => {
    const page = await browser!.newPage();
    running().harness.org.oauth.setAutoApprove(false);
    await page.goto(`${running().url}/`);
    await page.click('form[action="/status/actions/reauthorize"] button');
    await page.waitForURL(`${running().harness.org.url}/services/oauth2/authorize**`);
    expect(await page.isVisible('input[name="password"]')).toBe(true);

    await page.goto(`${running().url}/`);
    await page.click('form[action="/status/actions/disconnect"] button');
    expect(await page.textContent('h1')).toBe(`Disconnect ${INTEGRATION}?`);
    await atEveryWidth(page, 'disconnect-confirm');
    await page.click('a:text("Cancel")');
    expect(await page.textContent(`[data-integration="${INTEGRATION}"] .badge`)).toBe('authorised');

    await page.click('form[action="/status/actions/disconnect"] button');
    await page.click('button:text("Yes, disconnect")');
    expect(await page.textContent('.notice.ok')).toMatch(new RegExp(`^${INTEGRATION} disconnected`));
    expect(await page.textContent(`[data-integration="${INTEGRATION}"] .badge`)).toBe('not authorised');
    await atEveryWidth(page, 'status-disconnected');
    expect(violations).toEqual([]);
  }, 60_000);
});
