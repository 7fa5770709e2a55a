/**
 * `sf-cm-bridge backfill <project>/<integration> [--object X] [--since ISO]`: put existing records
 * into the change queue (the workers fetch and push them). Resumable: run it again after a crash and
 * it continues from each object's checkpoint. A progress bar with rate and ETA on a terminal, log
 * lines otherwise. What it does is in backfill-run.ts, loaded only when it runs.
 */
import { CONFIG_HELP, CONFIG_OPTION, type Command } from './command.ts';

export const backfillCommand: Command = {
  name: 'backfill',
  summary: 'push existing records (initial load), resumable',
  usage: 'sf-cm-bridge backfill <project>/<integration> [--object X] [--since ISO] [--config FILE]',
  help: [
    'Queues the records of every object of the integration (or one) for the workers to fetch and push,',
    'in SystemModstamp order. Unchanged comments are not pushed again. Interrupted (Ctrl-C, crash)? Run the',
    "same command again: it continues from each object's checkpoint. Run a worker (or `all`) to push.",
    "Waits while the Salesforce API usage is above the governor's threshold (80 % of the daily allocation).",
    'Uses REST query paging (Bulk API 2.0 is not implemented).',
    '',
    'Options:',
    '  --object, -o NAME    only this object (default: every object of the integration)',
    '  --since, -s WHEN     only records changed since WHEN: an ISO 8601 time (2024-05-01T00:00:00Z)',
    '                       or a duration back from now (30d, 12h); default: every record',
    CONFIG_HELP,
  ].join('\n'),
  options: { ...CONFIG_OPTION, object: { type: 'string', short: 'o' }, since: { type: 'string', short: 's' } },
  positionals: true,
  async run({ values, positionals }) {
    const { parseBackfillArgs, runBackfillCommand } = await import('./backfill-run.ts');
    return runBackfillCommand(values, parseBackfillArgs(values, positionals));
  },
};
