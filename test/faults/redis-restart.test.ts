/**
 * Fault test: the bridge (`sf-cm-bridge all`, a real process) runs on its own redis-server with AOF;
 * Redis is killed (SIGKILL) and restarted from its append-only file while changes keep coming.
 * Tokens, replay positions and queued changes survive; the source converges with nothing lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startBridgeProcess, type BridgeProcess } from '../helpers/bridge-process.ts';
import { freePort } from '../helpers/ports.ts';
import { eventually } from '../helpers/redis.ts';

/** A redis-server of the test's own, persisting every write to its AOF. */
function startRedis(port: number, dir: string): ChildProcess {
  return spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--dir',
      dir,
    ],
    {
      stdio: 'ignore',
    },
  );
}

async function redisAnswers(port: number): Promise<boolean> {
  const probe = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping(); // 'PONG', or a rejection (e.g. LOADING while the AOF replays)
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

describe.each(['cometd', 'pubsub'] as const)('Redis restart with AOF (%s)', (transport) => {
  let redisProcess: ChildProcess | undefined;
  let running: BridgeProcess | undefined;

  afterEach(async () => {
    await running?.close();
    redisProcess?.kill('SIGKILL');
  });

  it('kill -9 of Redis mid-stream: after its restart from the AOF the source converges, nothing lost', async () => {
    const redisPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'sfcm-aof-'));
    redisProcess = startRedis(redisPort, dir);
    await eventually(() => redisAnswers(redisPort), 10_000, 50);

    running = await startBridgeProcess(`  url: redis://127.0.0.1:${redisPort}`, 'sfcm', transport);
    const { org, commentText: text_ } = running;

    const store = org.store;
    const before = Array.from({ length: 30 }, (_, i) =>
      String(store.create('Case', { Subject: `before ${i}`, Description: 'before' }).Id),
    );
    await eventually(() => before.every((id) => text_(id) !== undefined), 20_000, 100);

    redisProcess.kill('SIGKILL');
    await eventually(async () => !(await redisAnswers(redisPort)), 5_000, 50);
    // Changes while Redis is down: the subscriber holds them (its position is not moved) or replays them.
    const during = Array.from({ length: 30 }, (_, i) =>
      String(store.create('Case', { Subject: `during ${i}`, Description: 'during' }).Id),
    );
    for (const id of before.slice(0, 10)) store.update(id, { Description: 'updated during the outage' });

    redisProcess = startRedis(redisPort, dir);
    await eventually(() => redisAnswers(redisPort), 10_000, 50);
    const after = Array.from({ length: 30 }, (_, i) =>
      String(store.create('Case', { Subject: `after ${i}`, Description: 'after' }).Id),
    );

    await eventually(
      () =>
        [...during, ...after].every((id) => text_(id) !== undefined) &&
        before.slice(0, 10).every((id) => text_(id) === 'updated during the outage'),
      60_000,
      200,
    );
    expect(running.cm.control.comments('acme', 'emails')).toHaveLength(90);
  }, 120_000);
});
