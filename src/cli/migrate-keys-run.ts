/** What `sf-cm-bridge migrate-keys` does (loaded only when it runs, so `--help` stays light). */
import { Redis } from 'ioredis';
import { loadConfigFile } from '../config/index.ts';
import { UsageError } from '../errors.ts';
import { migrateKeyLayout, otherBridgeClients } from '../store/key-migration.ts';
import { assertRedisReachable } from '../store/redis.ts';
import { configPath, EXIT } from './command.ts';

const CLIENT_NAME = 'sf-cm-bridge:migrate-keys';

export async function runMigrateKeys(values: Record<string, string | boolean | undefined>): Promise<number> {
  const config = loadConfigFile(configPath(values));
  const { url, prefix } = config.redis;
  if (url === undefined)
    throw new UsageError(
      'migrate-keys runs on a single Redis (redis.url): no earlier version ran on a Cluster or Sentinel',
    );
  const fromPrefix = typeof values['from-prefix'] === 'string' ? values['from-prefix'] : prefix;
  await assertRedisReachable(config.redis);
  const redis = new Redis(url, { connectionName: CLIENT_NAME, maxRetriesPerRequest: 3 });
  try {
    const running = await otherBridgeClients(redis, CLIENT_NAME);
    if (running.length > 0) {
      process.stderr.write(
        `migrate-keys: ${running.length} bridge connection(s) are open (${[...new Set(running)].join(', ')}): stop every bridge process first\n`,
      );
      return EXIT.failure;
    }
    const report = await migrateKeyLayout(redis, fromPrefix, prefix);
    process.stdout.write(`renamed ${report.renamed} key(s) from "${fromPrefix}:…" to the hash-tagged layout\n`);
    for (const key of report.kept) process.stdout.write(`  kept (its new name already exists): ${key}\n`);
    return EXIT.ok;
  } finally {
    redis.disconnect();
  }
}
