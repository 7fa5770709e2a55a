/** `sf-cm-bridge migrate-keys`: move a single Redis from the untagged key layout (docs/redis.md). */
import { CONFIG_HELP, CONFIG_OPTION, type Command } from './command.ts';

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
    const { runMigrateKeys } = await import('./migrate-keys-run.ts');
    return runMigrateKeys(values);
  },
};
