/** `sf-cm-bridge migrate-keys`: move a single Redis from the untagged key layout (docs/redis.md). */
import { Redis } from 'ioredis';
import { loadConfigFile } from '../config/index.ts';
import { UsageError } from '../errors.ts';
import { migrateKeyLayout, otherBridgeClients } from '../store/key-migration.ts';
import { assertRedisReachable } from '../store/redis.ts';
import { CONFIG_HELP, CONFIG_OPTION, configPath, EXIT, type Command } from './command.ts';

const CLIENT_NAME = 'sf-cm-bridge:migrate-keys';

export const migrateKeysCommand: Command = {
  name: 'migrate-keys',
  summary: 'move an existing single Redis to the key layout of this version (once, bridge stopped)',
  usage: 'sf-cm-bridge migrate-keys [--config FILE] [--from-prefix PREFIX]',
  help: [
    'Renames the keys and queues that an earlier version wrote (<prefix>:integration:…, untagged queue',
    'names) to the hash-tagged layout this version reads, keeping every value and TTL: tokens, replay',
    'positions, the record register, dead letters and queued changes. Run it once on the single Redis',
    '(redis.url) after stopping every bridge process and before starting the new version; it refuses to',
    'run while a bridge process is connected. A key whose new name already exists is left in place and',
    'listed. Running it again is harmless.',
    '',
    'Options:',
    CONFIG_HELP,
    '  --from-prefix PREFIX  the prefix the old keys were written under (default: redis.prefix; e.g. "{sfcm}")',
  ].join('\n'),
  options: { ...CONFIG_OPTION, 'from-prefix': { type: 'string' } },
  async run({ values }) {
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
  },
};
