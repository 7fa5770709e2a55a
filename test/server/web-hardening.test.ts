/** The web surface: server-side sessions, security headers, origin-checked forms, sign-in limits, /metrics token, trustProxy. */
import { bridgeKeys } from '../../src/store/keys.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/index.ts';
import { createContext } from '../../src/roles/context.ts';
import { buildApp, type BridgeApp } from '../../src/server/app.ts';
import { MAX_LOGIN_FAILURES } from '../../src/server/login-throttle.ts';
import {
  ADMIN_TOKEN,
  bridgeConfigYaml,
  PUBLIC_URL,
  startBridgeHarness,
  type BridgeConfigOptions,
  type BridgeHarness,
} from '../helpers/bridge.ts';
import { VALID_ADMIN_TOKEN } from '../helpers/config-text.ts';
import { adminBrowser, AUTHENTICATE, Browser } from '../helpers/oauth.ts';
import { eventually } from '../helpers/redis.ts';

describe('web hardening', () => {
  let harness: BridgeHarness | undefined;
  const apps: BridgeApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await harness?.close();
    harness = undefined;
  });

  async function start(options: BridgeConfigOptions = {}): Promise<{ harness: BridgeHarness; app: BridgeApp }> {
    harness = await startBridgeHarness(options);
    const app = await buildApp(harness.context);
    apps.push(app);
    return { harness, app };
  }

  /** Another api process over the same Redis, with its config text changed by `edit`. */
  async function replica(
    h: BridgeHarness,
    edit: (yaml: string) => string,
    options: BridgeConfigOptions = {},
  ): Promise<BridgeApp> {
    const config = loadConfigText(edit(bridgeConfigYaml(h.org.url, h.redis.prefix, options)), 'replica.yaml', {});
    const app = await buildApp(createContext({ config, logger: h.logger, redis: h.redis.connect() }));
    apps.push(app);
    return app;
  }

  describe('sessions', () => {
    it('live on the server for 12 hours by default', async () => {
      const { harness: h, app } = await start();
      const admin = await adminBrowser(app);
      const [key] = await h.redis.redis.keys(bridgeKeys(h.redis.prefix).adminSession('*'));
      const ttl = await h.redis.redis.pttl(key ?? '');
      expect(ttl).toBeGreaterThan(12 * 3600_000 - 60_000);
      expect(ttl).toBeLessThanOrEqual(12 * 3600_000);
      expect(key).not.toContain(admin.cookies.get('sfcm_admin'));
    });

    it('expire on the server after server.sessionTtl, whatever the cookie says', async () => {
      const { app } = await start({ server: '  sessionTtl: 1s' });
      const admin = await adminBrowser(app);
      expect((await admin.get('/')).statusCode).toBe(200);
      await eventually(async () => (await admin.get('/')).statusCode === 401, 5000, 100);
      expect(admin.cookies.get('sfcm_admin')).toBeTruthy();
    });

    it('sign-out invalidates the session on the server, not only the cookie', async () => {
      const { app } = await start();
      const admin = await adminBrowser(app);
      const stolen = new Browser(app);
      stolen.cookies.set('sfcm_admin', admin.cookies.get('sfcm_admin') ?? '');
      expect((await stolen.get('/')).statusCode).toBe(200);
      expect((await admin.post('/logout', {})).statusCode).toBe(303);
      expect((await stolen.get('/')).statusCode).toBe(401);
      expect((await stolen.get(AUTHENTICATE)).statusCode).toBe(401);
    });

    it('rotating the admin token invalidates every session', async () => {
      const { harness: h, app } = await start();
      const admin = await adminBrowser(app);
      const rotated = await replica(h, (yaml) => yaml.replace(ADMIN_TOKEN, `rotated-${VALID_ADMIN_TOKEN}`));
      const sameCookie = new Browser(rotated);
      sameCookie.cookies.set('sfcm_admin', admin.cookies.get('sfcm_admin') ?? '');
      expect((await sameCookie.get('/')).statusCode).toBe(401);
    });
  });

  describe('headers', () => {
    it('every HTML page carries a CSP without inline script, no framing, nosniff and no referrer; no HSTS on http', async () => {
      const { app } = await start();
      for (const url of ['/', AUTHENTICATE, '/external/salesforce/oauth2/callback?state=x']) {
        const response = await app.inject({ method: 'GET', url });
        expect(String(response.headers['content-type'])).toContain('text/html');
        const csp = String(response.headers['content-security-policy']);
        expect(csp).toContain("default-src 'none'");
        expect(csp).toContain("frame-ancestors 'none'");
        // Scripts only from the bridge itself (/assets/status.js), never inline.
        expect(csp).toContain("script-src 'self'");
        expect(csp).not.toContain('unsafe-inline');
        expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
        expect(response.headers['x-content-type-options']).toBe('nosniff');
        expect(response.headers['referrer-policy']).toBe('no-referrer');
        expect(response.headers['x-frame-options']).toBe('DENY');
        expect(response.headers['strict-transport-security']).toBeUndefined();
      }
    });

    it('HSTS when publicUrl is https', async () => {
      const { app } = await start({ publicUrl: 'https://bridge.example.com' });
      const response = await app.inject({ method: 'GET', url: '/' });
      expect(response.headers['strict-transport-security']).toMatch(/max-age=\d{7,}/);
    });

    it("the login page's one inline stylesheet matches the CSP hash", async () => {
      const { app } = await start();
      const response = await app.inject({ method: 'GET', url: '/' });
      const style = /<style>([\s\S]*?)<\/style>/.exec(response.body)?.[1] ?? '';
      const { createHash } = await import('node:crypto');
      expect(String(response.headers['content-security-policy'])).toContain(
        `'sha256-${createHash('sha256').update(style).digest('base64')}'`,
      );
    });
  });

  describe('state-changing form POSTs check their origin', () => {
    it.each([
      ["another site's Origin", { origin: 'https://evil.example.com' }, 403],
      ['no Origin, no Sec-Fetch-Site, no Referer', {}, 403],
      ['Origin null from a sandboxed frame of another site', { origin: 'null', 'sec-fetch-site': 'cross-site' }, 403],
      ['a Referer of another site', { referer: 'https://evil.example.com/page' }, 403],
      ["the bridge's Origin", { origin: PUBLIC_URL }, 303],
      [
        "Origin null with Sec-Fetch-Site same-origin (the bridge's no-referrer pages)",
        { origin: 'null', 'sec-fetch-site': 'same-origin' },
        303,
      ],
      ['only a Referer of the bridge', { referer: `${PUBLIC_URL}/` }, 303],
    ])('sign-in with %s → %i', async (_name, headers, status) => {
      const { app } = await start();
      const response = await app.inject({ method: 'POST', url: '/login', payload: { token: ADMIN_TOKEN }, headers });
      expect(response.statusCode).toBe(status);
    });

    it('sign-out and dead-letter retry refuse another site too', async () => {
      const { app } = await start();
      const admin = await adminBrowser(app);
      const evil = { origin: 'https://evil.example.com' };
      expect((await admin.inject({ method: 'POST', url: '/logout', payload: {}, headers: evil })).statusCode).toBe(403);
      const retry = await admin.inject({
        method: 'POST',
        url: '/status/dead-letters/retry',
        payload: { integration: 'acme/emails', id: crypto.randomUUID() },
        headers: evil,
      });
      expect(retry.statusCode).toBe(403);
      expect((await admin.get('/')).statusCode).toBe(200);
    });
  });

  describe('sign-in brute force', () => {
    it(`after ${MAX_LOGIN_FAILURES} failures an address is locked out, on every replica, whatever X-Forwarded-For says`, async () => {
      const { harness: h, app } = await start();
      const attacker = new Browser(app);
      for (let i = 0; i < MAX_LOGIN_FAILURES; i++) {
        const attempt = await attacker.inject({
          method: 'POST',
          url: '/login',
          payload: { token: `guess-${i}` },
          headers: { 'x-forwarded-for': `203.0.113.${i}` },
        });
        expect(attempt.statusCode).toBe(401);
      }
      const right = await attacker.post('/login', { token: ADMIN_TOKEN });
      expect(right.statusCode).toBe(429);
      expect(right.body).toContain('Too many failed sign-ins');
      expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
      const other = await replica(h, (yaml) => yaml);
      expect((await new Browser(other).post('/login', { token: ADMIN_TOKEN })).statusCode).toBe(429);
    });

    it('with server.trustProxy, the client address comes from X-Forwarded-For', async () => {
      const { app } = await start({ server: '  trustProxy: true' });
      for (let i = 0; i < MAX_LOGIN_FAILURES; i++) {
        await app.inject({
          method: 'POST',
          url: '/login',
          payload: { token: 'wrong' },
          headers: { origin: PUBLIC_URL, 'x-forwarded-for': '203.0.113.7' },
        });
      }
      const locked = await app.inject({
        method: 'POST',
        url: '/login',
        payload: { token: ADMIN_TOKEN },
        headers: { origin: PUBLIC_URL, 'x-forwarded-for': '203.0.113.7' },
      });
      expect(locked.statusCode).toBe(429);
      const otherClient = await app.inject({
        method: 'POST',
        url: '/login',
        payload: { token: ADMIN_TOKEN },
        headers: { origin: PUBLIC_URL, 'x-forwarded-for': '203.0.113.8' },
      });
      expect(otherClient.statusCode).toBe(303);
    });
  });

  describe('/metrics', () => {
    it('is open without server.metricsToken', async () => {
      const { app } = await start();
      expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    });

    it('needs the Bearer metricsToken when one is configured', async () => {
      const token = 'metrics-token-0f3a9c1e7b2d';
      const { app } = await start({ server: `  metricsToken: ${token}` });
      expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
      expect(
        (
          await app.inject({
            method: 'GET',
            url: '/metrics',
            headers: { authorization: 'Bearer wrong-token-value-123' },
          })
        ).statusCode,
      ).toBe(401);
      expect(
        (await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: ADMIN_TOKEN } })).statusCode,
      ).toBe(401);
      const scrape = await app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(scrape.statusCode).toBe(200);
      expect(scrape.body).toContain('sfcm_queue_jobs');
    });
  });
});
