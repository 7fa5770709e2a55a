/**
 * `sf-cm-bridge demo` as a newcomer runs it (issue 17, item 7): `--port N` moves every port, a taken
 * port is one line of advice, a rerun starts clean, and the banner comes before the logs.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { freePortRun } from '../helpers/ports.ts';
import { runCli, startCli, type RunningCli } from '../helpers/cli.ts';
import { eventually, TEST_REDIS_URL } from '../helpers/redis.ts';

/** config/demo.yaml's admin token (a public demo value). */
const DEMO_ADMIN_TOKEN = 'demo-Vx3qL8mN2rT7kP4wZ9cY6bH1sJ5dG0aF';

describe('sf-cm-bridge demo', () => {
  let running: RunningCli | undefined;
  let blocker: Server | undefined;
  const redis = new Redis(TEST_REDIS_URL);
  const prefix = `sfcm-demo-test-${process.pid}-${Date.now()}`;

  afterEach(async () => {
    running?.kill('SIGKILL');
    await running?.exited;
    running = undefined;
    await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
    blocker = undefined;
    for (const key of await redis.keys(`${prefix}*`)) await redis.del(key);
  });

  it('--port N: the banner comes first, every port moves, and an earlier run leaves nothing behind', async () => {
    const port = await freePortRun(3);
    // What an earlier run kept: tokens of a sandbox org that no longer exists. A neighbour's key stays.
    await redis.set(`${prefix}:{demo/salesforce}:tokens`, 'tokens of an org that is gone');
    await redis.set(`${prefix}-other:{bridge}:kept`, 'not the demo’s');
    running = startCli(['demo', '--port', String(port), '--activity', '0'], {
      REDIS_URL: TEST_REDIS_URL,
      DEMO_PREFIX: prefix,
    });
    let exited = false;
    void running.exited.then(() => (exited = true));
    await eventually(
      async () => {
        if (exited) throw new Error(`demo exited early:\n${running?.output()}`);
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        return ready?.status === 200;
      },
      45_000,
      200,
    );
    const output = running.output();
    expect(output.split('\n')[0]).toBe('sf-cm-bridge demo');
    expect(output).toContain(`open http://localhost:${port}/integrations/demo/salesforce/oauth2/authenticate`);
    expect(output).toContain(`Sandbox org:  http://127.0.0.1:${port + 1}`);
    expect(output).not.toContain('authorised again');

    expect(await redis.exists(`${prefix}:{demo/salesforce}:tokens`)).toBe(0);
    expect(await redis.get(`${prefix}-other:{bridge}:kept`)).toBe('not the demo’s');
    const integrations = await fetch(`http://127.0.0.1:${port}/api/integrations`, {
      headers: { authorization: `Bearer ${DEMO_ADMIN_TOKEN}` },
    });
    const body = (await integrations.json()) as { integrations: { auth: { state: string } }[] };
    expect(body.integrations.map((i) => i.auth.state)).toEqual(['unauthorized']);
    expect((await fetch(`http://127.0.0.1:${port + 1}/services/data`)).status).toBe(200);
    const cm = await fetch(`http://127.0.0.1:${port + 2}/demo-org/demo-tenant/reinfer_/api/v1/sources`, {
      headers: { authorization: 'Bearer sf-cm-bridge-demo-cm-token' },
    });
    expect(cm.status).toBe(200);

    running.kill('SIGTERM');
    expect(await running.exited).toBe(0);
  }, 60_000);

  it('a taken port is one line that says how to move, and nothing starts', async () => {
    const port = await freePortRun(3);
    blocker = createServer();
    await new Promise<void>((resolve) => blocker?.listen(port + 1, '127.0.0.1', resolve));
    const result = await runCli(['demo', '--port', String(port)], { REDIS_URL: TEST_REDIS_URL, DEMO_PREFIX: prefix });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `sf-cm-bridge demo: port ${port + 1} is in use (another demo or sandbox?): pick free ports with \`sf-cm-bridge demo --port N\` (the bridge on N, the sandbox on N+1 and N+2)`,
    ]);
    expect(await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => 'refused')).toBe('refused');
  });

  it('--help names --port', async () => {
    const result = await runCli(['demo', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--port N');
  });
});
