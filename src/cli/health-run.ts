/** What `sf-cm-bridge health` does (the command and its help are in health.ts). */
import { hostname } from 'node:os';
import { loadConfigFile } from '../config/index.ts';
import { processReportsKey, readProcessReports, REPORT_STALE_MS } from '../metrics/process-reports.ts';
import { assertRedisReachable, createRedis } from '../store/redis.ts';
import { configPath, EXIT } from './command.ts';

export async function runHealth(
  values: Record<string, string | boolean | undefined>,
  role: string | undefined,
): Promise<number> {
  const config = loadConfigFile(configPath(values));
  await assertRedisReachable(config.redis);
  const redis = createRedis(config.redis);
  try {
    const host = hostname();
    const reports = await readProcessReports(redis, processReportsKey(config.redis.prefix));
    // A process running every role ("all") serves each of them.
    const mine = reports.filter(
      (report) => report.host === host && (role === undefined || report.role === role || report.role === 'all'),
    );
    const what = `${role === undefined ? 'bridge' : role} process on ${host}`;
    if (mine.length === 0) {
      process.stdout.write(`unhealthy: no ${what} reported in the last ${REPORT_STALE_MS / 1000} s\n`);
      return EXIT.failure;
    }
    const age = Math.max(0, Math.round((Date.now() - Math.max(...mine.map((report) => report.at))) / 1000));
    process.stdout.write(`healthy: ${mine.map((report) => report.instance).join(', ')} reported ${age} s ago\n`);
    return EXIT.ok;
  } finally {
    redis.disconnect();
  }
}
