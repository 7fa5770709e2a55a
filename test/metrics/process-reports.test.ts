/**
 * Every role reports its own process metrics through Redis: one scrape of the api shows the
 * `process_*` / `nodejs_*` series and `sfcm_build_info` of the api, worker and subscriber processes,
 * each with its role; `sf-cm-bridge health` answers from the same reports.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSalesforceOrg, type SimulatedSalesforceOrg } from '@sf-cm-bridge/sandbox/org';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bridgeConfigYaml, PUBLIC_URL } from '../helpers/bridge.ts';
import {
  processReportsKey,
  readProcessReports,
  renderProcessReports,
  REPORT_STALE_MS,
  type ProcessReport,
} from '../../src/metrics/process-reports.ts';
import { ROOT, runCli, startCli, type RunningCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { eventually, testRedis, type TestRedis } from '../helpers/redis.ts';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('process metrics of every role', () => {
  let org: SimulatedSalesforceOrg;
  let redis: TestRedis;
  let configFile: string;
  let publicUrl: string;
  const running: Partial<Record<'api' | 'worker' | 'subscriber', RunningCli>> = {};

  beforeAll(async () => {
    org = await startSalesforceOrg({});
    redis = testRedis();
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    configFile = join(mkdtempSync(join(tmpdir(), 'sfcm-process-metrics-')), 'bridge.yaml');
    writeFileSync(
      configFile,
      bridgeConfigYaml(org.url, redis.prefix).replace(
        `publicUrl: ${PUBLIC_URL}`,
        `publicUrl: ${publicUrl}\n  host: 127.0.0.1\n  port: ${port}`,
      ),
    );
    for (const role of ['api', 'worker', 'subscriber'] as const)
      running[role] = startCli([role, '--config', configFile]);
  });

  afterAll(async () => {
    for (const child of Object.values(running)) {
      child.kill('SIGKILL');
      await child.exited;
    }
    await redis.cleanup();
    await org.close();
  });

  const scrape = async () => (await fetch(`${publicUrl}/metrics`).catch(() => undefined))?.text();
  const health = (role: string) => runCli(['health', '--role', role, '--config', configFile]);

  it('one scrape of the api shows the standard process metrics of each role, and the build info', async () => {
    const text = await eventually(
      async () => {
        const body = await scrape();
        return ['api', 'worker', 'subscriber'].every((role) =>
          body?.includes(`process_resident_memory_bytes{role="${role}",`),
        )
          ? body
          : undefined;
      },
      20_000,
      200,
    );
    for (const role of ['api', 'worker', 'subscriber']) {
      expect(text).toMatch(new RegExp(`^process_cpu_seconds_total\\{role="${role}",instance="[^"]+:\\d+"\\} \\d`, 'm'));
      expect(text).toMatch(new RegExp(`^nodejs_eventloop_lag_p99_seconds\\{role="${role}",`, 'm'));
      expect(text).toMatch(new RegExp(`^nodejs_heap_size_used_bytes\\{role="${role}",`, 'm'));
      expect(text).toContain(`sfcm_build_info{version="${VERSION}",node="${process.version}",role="${role}",`);
    }
    expect(text).toMatch(/^# TYPE nodejs_gc_duration_seconds histogram$/m);
    // Each metric is described once, however many processes report it.
    expect(text.match(/^# HELP process_resident_memory_bytes /gm)).toHaveLength(1);
    expect(text.match(/^# TYPE sfcm_build_info gauge$/gm)).toHaveLength(1);
    expect(text).not.toContain('sfcm_api_');
  });

  it('health passes for a running role and fails once its process stops', async () => {
    await eventually(
      async () => (await scrape())?.includes('process_resident_memory_bytes{role="worker",'),
      20_000,
      200,
    );
    const healthy = await health('worker');
    expect(healthy).toMatchObject({ code: 0, stderr: '' });
    expect(healthy.stdout).toMatch(/^healthy: .+:\d+ reported \d+ s ago\n$/);
    expect((await health('subscriber')).code).toBe(0);
    expect((await health('api')).code).toBe(0);

    running.worker?.kill('SIGTERM');
    expect(await running.worker?.exited).toBe(0);
    // A stopped process removes its report: gone from the scrape, and its role is unhealthy at once.
    expect(await scrape()).not.toContain('role="worker"');
    const unhealthy = await health('worker');
    expect(unhealthy.code).toBe(1);
    expect(unhealthy.stdout).toMatch(/^unhealthy: no worker process on .+ reported in the last 15 s\n$/);
    expect((await health('subscriber')).code).toBe(0);
  });

  it('health rejects an unknown role with a usage error', async () => {
    const result = await health('scheduler');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--role must be one of api, subscriber, worker, all');
  });
});

describe('process reports in Redis', () => {
  let redis: TestRedis;
  afterAll(async () => {
    await redis.cleanup();
  });

  const report = (instance: string, at: number): ProcessReport => ({
    role: 'worker',
    instance,
    host: 'pod-a',
    at,
    metrics: [
      {
        name: 'process_resident_memory_bytes',
        help: 'Resident memory size in bytes.',
        type: 'gauge',
        values: [{ value: 1024, labels: { note: 'say "hi"\\' } }],
      },
    ],
  });

  it('a report older than the stale limit is neither returned nor kept; unreadable ones are dropped too', async () => {
    redis = testRedis();
    const key = processReportsKey(redis.prefix);
    const now = Date.now();
    await redis.redis.hset(key, {
      'pod-a:1': JSON.stringify(report('pod-a:1', now - 1_000)),
      'pod-a:2': JSON.stringify(report('pod-a:2', now - REPORT_STALE_MS - 1)),
      'pod-a:3': 'not json',
    });
    const fresh = await readProcessReports(redis.redis, key, now);
    expect(fresh.map((r) => r.instance)).toEqual(['pod-a:1']);
    expect(await redis.redis.hkeys(key)).toEqual(['pod-a:1']);
    expect(renderProcessReports(fresh)).toBe(
      [
        '# HELP process_resident_memory_bytes Resident memory size in bytes.',
        '# TYPE process_resident_memory_bytes gauge',
        'process_resident_memory_bytes{note="say \\"hi\\"\\\\",role="worker",instance="pod-a:1"} 1024',
        '',
      ].join('\n'),
    );
  });
});
