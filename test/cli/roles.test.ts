import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, freePortPair } from '../helpers/ports.ts';
import { startSalesforceOrg, type SimulatedSalesforceOrg } from '@sf-cm-bridge/sandbox/org';
import { ADMIN_TOKEN, bridgeConfigYaml, CLIENT_ID, CLIENT_SECRET, PUBLIC_URL } from '../helpers/bridge.ts';
import { runCli, startCli, type RunningCli } from '../helpers/cli.ts';
import { eventually, testRedis, type TestRedis } from '../helpers/redis.ts';

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sfcm-role-')), 'bridge.yaml');
  writeFileSync(file, text);
  return file;
}

describe('role processes', () => {
  let org: SimulatedSalesforceOrg | undefined;
  let redis: TestRedis | undefined;
  let running: RunningCli | undefined;

  afterEach(async () => {
    running?.kill('SIGKILL');
    await running?.exited;
    await redis?.cleanup();
    await org?.close();
    running = undefined;
    redis = undefined;
    org = undefined;
  });

  it('api: serves the OAuth flow over real HTTP and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    org = await startSalesforceOrg({
      autoApprove: true,
      connectedApps: [
        {
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          redirectUris: [`${publicUrl}/external/salesforce/oauth2/callback`],
        },
      ],
    });
    redis = testRedis();
    const config = bridgeConfigYaml(org.url, redis.prefix).replace(
      `publicUrl: ${PUBLIC_URL}`,
      `publicUrl: ${publicUrl}\n  host: 127.0.0.1\n  port: ${port}`,
    );
    running = startCli(['api', '--config', writeConfig(config)]);

    await eventually(async () => (await fetch(`${publicUrl}/readyz`).catch(() => undefined))?.ok, 15_000, 100);
    // The admin's browser: sign in → authenticate → Salesforce (auto-approve) → callback on the bridge.
    const login = await fetch(`${publicUrl}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: publicUrl, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: ADMIN_TOKEN,
        next: '/integrations/acme/emails/oauth2/authenticate',
      }).toString(),
    });
    expect(login.status).toBe(303);
    const cookies = login.headers.getSetCookie().map((c) => c.split(';')[0]);
    const start = await fetch(`${publicUrl}${login.headers.get('location')}`, {
      redirect: 'manual',
      headers: { cookie: cookies.join('; ') },
    });
    cookies.push(...start.headers.getSetCookie().map((c) => c.split(';')[0]));
    const authorize = await fetch(String(start.headers.get('location')), { redirect: 'manual' });
    const done = await fetch(String(authorize.headers.get('location')), { headers: { cookie: cookies.join('; ') } });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('Integration configured successfully');
    const api = await fetch(`${publicUrl}/api/integrations`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(
      ((await api.json()) as { integrations: Array<{ auth: { state: string } }> }).integrations[0]?.auth.state,
    ).toBe('authorized');

    running.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    expect(running.output()).toContain('shutting down');
    expect(running.output()).not.toContain(ADMIN_TOKEN);
    expect(running.output()).not.toContain(CLIENT_SECRET);
  });

  it('api: exits 1 with a clear message when Redis is not reachable', async () => {
    const port = await freePort();
    const config = bridgeConfigYaml('https://login.salesforce.com', 'sfcm-test-unreachable').replace(
      'url: redis://127.0.0.1:6379',
      `url: redis://127.0.0.1:${port}`,
    );
    const result = await runCli(['api', '--config', writeConfig(config)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Redis is not reachable at redis://127.0.0.1:${port}`);
    expect(result.stderr).toContain('start one with `redis-server');
  });

  it('sandbox: prints its URLs and credentials, serves both APIs, exits 0 on SIGTERM', async () => {
    const port = await freePortPair();
    running = startCli(['sandbox', '--port', String(port)]);
    let exited = false;
    void running.exited.then(() => (exited = true));
    await eventually(
      () => {
        if (exited) throw new Error(`sandbox exited early:\n${running?.output()}`);
        return running?.output().includes('Press Ctrl-C to stop.');
      },
      30_000,
      50,
    );
    expect(running.output()).toContain(`Salesforce org            http://127.0.0.1:${port}`);
    expect(running.output()).toContain('client id sf-cm-bridge-demo-consumer-key');
    const versions = await fetch(`http://127.0.0.1:${port}/services/data`);
    expect(versions.status).toBe(200);
    const cm = await fetch(`http://127.0.0.1:${port + 1}/demo-org/demo-tenant/reinfer_/api/v1/sources`, {
      headers: { authorization: 'Bearer sf-cm-bridge-demo-cm-token' },
    });
    expect(cm.status).toBe(200);
    running.kill('SIGTERM');
    expect(await running.exited).toBe(0);
  }, 45_000);

  it('sandbox: a bad --port is a usage error', async () => {
    const result = await runCli(['sandbox', '--port', 'eighty']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--port must be an integer from 1 to 65534');
  });
});
