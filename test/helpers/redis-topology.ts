/**
 * Real Redis topologies for tests, started from the test on free loopback ports: a Redis Cluster
 * (masters with one replica each) and a primary with a replica watched by three sentinels. Every
 * process persists to an AOF in its own temporary folder and is killed by `close()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.ts';
import { eventually } from './redis.ts';

interface ServerProcess {
  port: number;
  process: ChildProcess;
}

function startServer(args: string[], port: number): ServerProcess {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  return { port, process: child };
}

/** A direct connection to one node that never retries (probes and admin commands). */
function direct(port: number): Redis {
  const connection = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: () => null });
  connection.on('error', () => undefined);
  return connection;
}

async function ask<T>(port: number, run: (connection: Redis) => Promise<T>): Promise<T> {
  const connection = direct(port);
  try {
    return await run(connection);
  } finally {
    connection.disconnect();
  }
}

export async function redisAnswers(port: number): Promise<boolean> {
  return ask(port, async (connection) => {
    await connection.ping();
    return true;
  }).catch(() => false);
}

function kill(server: ServerProcess): Promise<void> {
  if (server.process.exitCode !== null || server.process.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => server.process.once('exit', () => resolve()));
  server.process.kill('SIGKILL');
  return exited;
}

function persistence(dir: string): string[] {
  return ['--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--dir', dir];
}

export interface RedisClusterUnderTest {
  /** Seed node URLs, as `redis.cluster` takes them. */
  seeds: string[];
  /** The port of the master serving `key` now. */
  masterOf(key: string): Promise<number>;
  /** `CLUSTER KEYSLOT` of a key. */
  slotOf(key: string): Promise<number>;
  /** kill -9 the master on `port`, then wait until its replica has taken over its slots. */
  killMaster(port: number): Promise<void>;
  close(): Promise<void>;
}

const NODE_TIMEOUT_MS = 1000;

/** One entry of CLUSTER SLOTS: first slot, last slot, [host, port] of the master, then its replicas. */
type SlotRange = [number, number, [string, number], ...Array<[string, number]>];

/** `masters` masters with one replica each, created with `redis-cli --cluster create`. */
export async function startRedisCluster(masters = 3): Promise<RedisClusterUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'sfcm-cluster-'));
  const servers: ServerProcess[] = [];
  const close = async () => {
    await Promise.all(servers.map(kill));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * 2; i++) {
      const port = await freePort();
      const nodeDir = mkdtempSync(join(dir, `node-${port}-`));
      servers.push(
        startServer(
          [
            '--port',
            String(port),
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(nodeDir, 'nodes.conf'),
            '--cluster-node-timeout',
            String(NODE_TIMEOUT_MS),
            ...persistence(nodeDir),
          ],
          port,
        ),
      );
    }
    for (const server of servers) await eventually(() => redisAnswers(server.port), 10_000, 50);
    await run('redis-cli', [
      '--cluster',
      'create',
      ...servers.map((server) => `127.0.0.1:${server.port}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ]);
    await eventually(() => clusterSettled(servers.map((server) => server.port)), 20_000, 100);
    // A master can fail over only once its replica has joined and synced.
    await eventually(() => replicasInSync(servers[0]?.port ?? 0, masters), 30_000, 100);
  } catch (error) {
    await close();
    throw error;
  }
  const live = () => servers.filter((server) => server.process.exitCode === null && server.process.signalCode === null);
  const anyLive = () => {
    const server = live()[0];
    if (!server) throw new Error('no cluster node is running');
    return server.port;
  };
  const slotOf = (key: string) => ask(anyLive(), async (c) => Number(await c.call('CLUSTER', 'KEYSLOT', key)));
  const masterOf = async (key: string) => {
    const slot = await slotOf(key);
    const ranges = (await ask(anyLive(), (c) => c.call('CLUSTER', 'SLOTS'))) as Array<
      [number, number, [string, number]]
    >;
    const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (!owner) throw new Error(`no node serves slot ${slot}`);
    return owner[2][1];
  };
  return {
    seeds: servers.slice(0, masters).map((server) => `redis://127.0.0.1:${server.port}`),
    masterOf,
    slotOf,
    async killMaster(port) {
      const server = servers.find((candidate) => candidate.port === port);
      if (!server) throw new Error(`no cluster node on port ${port}`);
      await kill(server);
      // Taken over once no live node maps a slot to the dead master and every slot is served again.
      await eventually(
        async () => {
          const ports = live().map((s) => s.port);
          for (const livePort of ports) {
            const ranges = (await ask(livePort, (c) => c.call('CLUSTER', 'SLOTS'))) as SlotRange[];
            if (ranges.some((range) => range[2][1] === port)) return false;
          }
          return clusterSettled(ports);
        },
        20_000,
        100,
      );
    },
    close,
  };
}

/** Every master has a replica whose link to it is up. */
async function replicasInSync(port: number, masters: number): Promise<boolean> {
  const ranges = (await ask(port, (c) => c.call('CLUSTER', 'SLOTS'))) as SlotRange[];
  const replicas = ranges.flatMap(([, , , ...rest]) => rest.map((node) => node[1]));
  if (replicas.length < masters) return false;
  for (const replica of replicas) {
    if (!(await ask(replica, (c) => c.info('replication'))).includes('master_link_status:up')) return false;
  }
  return true;
}

/** Every node says the cluster is ok and every slot is served. */
async function clusterSettled(ports: number[]): Promise<boolean> {
  for (const port of ports) {
    const info = String(await ask(port, (c) => c.call('CLUSTER', 'INFO')).catch(() => ''));
    if (!info.includes('cluster_state:ok') || !info.includes('cluster_slots_ok:16384')) return false;
  }
  return true;
}

export interface RedisSentinelUnderTest {
  name: string;
  /** Sentinel URLs, as `redis.sentinel.nodes` takes them. */
  sentinels: string[];
  /** The port of the primary the sentinels name now. */
  primaryPort(): Promise<number>;
  /** `SENTINEL FAILOVER`, then wait until the sentinels name the other server as primary. */
  failover(): Promise<number>;
  close(): Promise<void>;
}

/** A primary, one replica and three sentinels (quorum 2). */
export async function startRedisSentinel(name = 'mymaster'): Promise<RedisSentinelUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'sfcm-sentinel-'));
  const servers: ServerProcess[] = [];
  const close = async () => {
    await Promise.all(servers.map(kill));
    rmSync(dir, { recursive: true, force: true });
  };
  const sentinelPorts: number[] = [];
  const primary = await freePort();
  const replica = await freePort();
  try {
    const primaryDir = mkdtempSync(join(dir, 'primary-'));
    const replicaDir = mkdtempSync(join(dir, 'replica-'));
    servers.push(startServer(['--port', String(primary), ...persistence(primaryDir)], primary));
    servers.push(
      startServer(
        ['--port', String(replica), ...persistence(replicaDir), '--replicaof', '127.0.0.1', String(primary)],
        replica,
      ),
    );
    for (const server of servers) await eventually(() => redisAnswers(server.port), 10_000, 50);
    await eventually(
      async () => (await ask(replica, (c) => c.info('replication'))).includes('master_link_status:up'),
      10_000,
      50,
    );
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const file = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${primary} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          '',
        ].join('\n'),
      );
      servers.push(startServer([file, '--sentinel'], port));
      sentinelPorts.push(port);
    }
    for (const port of sentinelPorts) {
      await eventually(async () => (await ask(port, (c) => c.call('SENTINEL', 'REPLICAS', name))) !== null, 10_000, 50);
    }
  } catch (error) {
    await close();
    throw error;
  }
  const primaryPort = async () => {
    const sentinel = sentinelPorts[0] ?? 0;
    const [, port] = (await ask(sentinel, (c) => c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name))) as [
      string,
      string,
    ];
    return Number(port);
  };
  return {
    name,
    sentinels: sentinelPorts.map((port) => `redis://127.0.0.1:${port}`),
    primaryPort,
    async failover() {
      const before = await primaryPort();
      // A sentinel refuses a failover while it knows no replica good enough: retry until it accepts.
      await eventually(
        () =>
          ask(sentinelPorts[0] ?? 0, (c) => c.call('SENTINEL', 'FAILOVER', name)).then(
            () => true,
            () => false,
          ),
        10_000,
        200,
      );
      return eventually(
        async () => {
          const now = await primaryPort();
          if (now === before) return 0;
          const role = await ask(now, (c) => c.info('replication'));
          return role.includes('role:master') ? now : 0;
        },
        20_000,
        100,
      );
    },
    close,
  };
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}\n${output}`)),
    );
  });
}
