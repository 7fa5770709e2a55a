/**
 * `sf-cm-bridge migrate-keys` on a Redis of the test's own: keys an earlier version wrote (untagged
 * integration keys and queue names) move to the hash-tagged layout with their values and TTLs; it
 * refuses while a bridge process is connected, never overwrites, and a second run changes nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { bridgeKeys, integrationKeys } from '../../src/store/keys.ts';
import { bridgeConfigYaml } from '../helpers/bridge.ts';
import { runCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { eventually } from '../helpers/redis.ts';
import { redisAnswers } from '../helpers/redis-topology.ts';

describe('migrate-keys', () => {
  let server: ChildProcess | undefined;
  let dir: string | undefined;
  const connections: Redis[] = [];

  afterEach(() => {
    for (const connection of connections) connection.disconnect();
    server?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('moves every old key to its tagged name, keeping values and TTLs; refuses while the bridge runs', async () => {
    const port = await freePort();
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', ''], { stdio: 'ignore' });
    await eventually(() => redisAnswers(port), 10_000, 50);
    dir = mkdtempSync(join(tmpdir(), 'sfcm-migrate-'));
    const configFile = join(dir, 'bridge.yaml');
    writeFileSync(
      configFile,
      bridgeConfigYaml('http://127.0.0.1:9', 'sfcm', { redis: `  url: redis://127.0.0.1:${port}` }),
    );
    const redis = new Redis({ port, host: '127.0.0.1' });
    connections.push(redis);

    // What an earlier version left: untagged integration keys, queue keys, deployment-wide keys.
    await redis
      .multi()
      .set('sfcm:integration:acme/emails:tokens', 'encrypted-envelope')
      .hset('sfcm:integration:acme/emails:replay', '/data/CaseChangeEvent', '42')
      .hset('sfcm:integration:acme/emails:versions:Case', '500000000000001AAA', 'v1')
      .hset('sfcm:integration:acme/emails:auth', 'state', 'authorized')
      .rpush('sfcm:bull:changes/acme/emails:wait', '7')
      .hset('sfcm:bull:changes/acme/emails:7', 'data', '{"changes":[]}')
      .hset('sfcm:bull:reconcile/acme/emails:meta', 'version', 'bullmq')
      .hset('sfcm:metrics', 'pushes|integration=acme/emails', '12')
      .set('sfcm:admin-session:abc', 'fingerprint', 'PX', 600_000)
      .set('other-app:key', 'not ours')
      // The new version already wrote this one: the old value must not overwrite it.
      .hset(integrationKeys('sfcm', 'acme/emails').auth(), 'state', 'needs_reauth')
      .exec();

    const bridgeProcess = new Redis({ port, host: '127.0.0.1', connectionName: 'sf-cm-bridge:command' });
    connections.push(bridgeProcess);
    await bridgeProcess.ping();
    const refused = await runCli(['migrate-keys', '--config', configFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('stop every bridge process first');
    expect(await redis.exists('sfcm:integration:acme/emails:tokens')).toBe(1);
    bridgeProcess.disconnect();
    await eventually(async () => !String(await redis.call('CLIENT', 'LIST')).includes('name=sf-cm-bridge:command'));

    const migrated = await runCli(['migrate-keys', '--config', configFile]);
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toContain('renamed 8 key(s)');
    expect(migrated.stdout).toContain('kept (its new name already exists): sfcm:integration:acme/emails:auth');

    const keys = integrationKeys('sfcm', 'acme/emails');
    const bridge = bridgeKeys('sfcm');
    const queue = `${bridge.queuePrefix()}:${bridge.changeQueueName('acme/emails')}`;
    expect(await redis.get(keys.tokens())).toBe('encrypted-envelope');
    expect(await redis.hget(keys.replay(), '/data/CaseChangeEvent')).toBe('42');
    expect(await redis.hget(keys.versions('Case'), '500000000000001AAA')).toBe('v1');
    expect(await redis.hget(keys.auth(), 'state')).toBe('needs_reauth');
    expect(await redis.lrange(`${queue}:wait`, 0, -1)).toEqual(['7']);
    expect(await redis.hget(`${queue}:7`, 'data')).toBe('{"changes":[]}');
    expect(
      await redis.hget(`${bridge.queuePrefix()}:${bridge.reconcileQueueName('acme/emails')}:meta`, 'version'),
    ).toBe('bullmq');
    expect(await redis.hget(bridge.metrics(), 'pushes|integration=acme/emails')).toBe('12');
    expect(await redis.pttl(bridge.adminSession('abc'))).toBeGreaterThan(500_000);
    expect(await redis.get('other-app:key')).toBe('not ours');
    expect((await redis.keys('sfcm:integration:*')).sort()).toEqual(['sfcm:integration:acme/emails:auth']);

    const again = await runCli(['migrate-keys', '--config', configFile]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('renamed 0 key(s)');
  });

  it('refuses a cluster config: no earlier version ran there', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfcm-migrate-'));
    const configFile = join(dir, 'bridge.yaml');
    writeFileSync(
      configFile,
      bridgeConfigYaml('http://127.0.0.1:9', 'sfcm', { redis: '  cluster: [redis://127.0.0.1:1]' }),
    );
    const result = await runCli(['migrate-keys', '--config', configFile]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('migrate-keys runs on a single Redis (redis.url)');
  });
});
